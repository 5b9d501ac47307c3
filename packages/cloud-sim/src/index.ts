/**
 * `@cloudadmin/cloud-sim`: local simulators of the AWS APIs (EC2, STS, Organizations, SSO portal),
 * Azure Resource Graph, Microsoft Graph and Zoom that the real SDKs talk to unmodified, with the
 * services' limits, latency, injected faults, request counting and seeded datasets.
 *
 * @example
 * ```ts
 * import { generateDataset, startSimulator } from "@cloudadmin/cloud-sim";
 * const sim = await startSimulator({ dataset: generateDataset({ scale: "small", seed: 1 }), latency: 20 });
 * console.log(sim.environment()); // AWS_ENDPOINT_URL=..., CLOUDADMIN_ARM_ENDPOINT=...
 * await sim.close();
 * ```
 */
export { startSimulator } from "./server.js";
export type { Simulator, SimulatorOptions, SimStats, LoggedRequest, FaultKind } from "./server.js";
export {
  generateDataset,
  loadDataset,
  validateDataset,
  findDatasetProblems,
  pointerToPath,
} from "./dataset.js";
export type { Dataset, GenerateDatasetOptions } from "./dataset.js";
export { generateSimCertificate } from "./tls.js";
export type { SimCertificate } from "./tls.js";
export { startAzurite, AZURITE_ACCOUNT, AZURITE_KEY } from "./azurite.js";
export { findChromium, findTool, needsTool } from "./tools.js";
export { resolveTestNamesToLoopback, startTrapListener } from "./test-resolver.js";
export type { TrapListener } from "./test-resolver.js";
export type { AzuriteHandle } from "./azurite.js";
export { createRng } from "./rng.js";
export type { Rng } from "./rng.js";
export { systemClock } from "./clock.js";
export type { Clock } from "./clock.js";
export { SimTokenBucket, SimFixedWindow } from "./token-bucket.js";
export type { BucketSpec, TakeResult } from "./token-bucket.js";
export { SCALES } from "./scale.js";
export type { Scale } from "./scale.js";
export { SERVICE_NAMES, NO_FAULTS } from "./types.js";
export type {
  ServiceName,
  SimService,
  SimRequest,
  SimResponse,
  RequestInfo,
  ServiceContext,
  FaultSettings,
  LatencyModel,
} from "./types.js";
export type { ServiceDefinition, DatasetProblem } from "./services/definition.js";
// Each service's dataset types, its simulator object (for tests that reach in) and its ground truth.
export type {
  AwsDataset,
  AwsAccount,
  AwsInstance,
  AwsNetworkInterface,
  AwsLimits,
} from "./services/aws/index.js";
export {
  AwsSimService,
  DEFAULT_AWS_LIMITS,
  EDGE_CASES as AWS_EDGE_CASES,
  DEFAULT_REGIONS as AWS_DEFAULT_REGIONS,
  enabledRegionsOf,
  expectedInstanceIps,
} from "./services/aws/index.js";
export type {
  AzureDataset,
  AzureSubscription,
  ArgResource,
  AzureGenerateOptions,
  ExpectedVm,
} from "./services/arg/index.js";
export {
  generateAzureDataset,
  AZURE_SCALES,
  expectedVmInventory,
  SIM_ARM_TOKEN,
} from "./services/arg/index.js";
export type { GraphDataset, GraphPhoto, GraphUser } from "./services/graph/index.js";
export { GraphSimService, PHOTO_CONCURRENCY_PER_APP, extensionName } from "./services/graph/index.js";
export type { ZoomDataset, ZoomUserRecord, ZoomSimService, RetryAfterForm } from "./services/zoom/index.js";
export { ZOOM_GENERATED_AS_OF, ZOOM_PLAN_LIMITS } from "./services/zoom/index.js";
