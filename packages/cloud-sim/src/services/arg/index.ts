import type { ServiceDefinition } from "../definition.js";
import { AZURE_SCHEMA, type AzureDataset, checkAzure } from "./dataset.js";
import { generateAzureAtScale } from "./generate.js";
import { ArgSimService } from "./service.js";

/**
 * Azure Resource Graph: `POST /providers/Microsoft.ResourceGraph/resources` over HTTPS with ARG's
 * scopes (subscriptions, management groups, tenant), paging (`$top` <= 1000, `$skip`, `$skipToken`
 * only when rows carry `id`), result formats, per-principal quota (15 per 5 s by default) with its
 * `x-ms-user-quota-*` headers and 429 RateLimiting, and 400 InvalidQuery. Queries are evaluated
 * with ARG's semantics over the dataset's raw `Resources` rows by a KQL subset interpreter, so the
 * dataset is the whole ground truth.
 */
export const argService: ServiceDefinition<AzureDataset> = {
  name: "arg",
  datasetKey: "azure",
  schema: AZURE_SCHEMA,
  check: checkAzure,
  generate: generateAzureAtScale,
  create: (section, options) => new ArgSimService(section, options.clock),
};

export type {
  AzureDataset,
  AzureSubscription,
  ArgResource,
  ArgQuotaSettings,
  ArgServiceSettings,
} from "./dataset.js";
export { generateAzureDataset, AZURE_SCALES } from "./generate.js";
export type { AzureGenerateOptions } from "./generate.js";
export { SIM_ARM_TOKEN, principalOf } from "./service.js";
export { compileQuery, KqlError, ARG_LIMITS } from "./kql.js";
export { expectedVmInventory } from "./ground-truth.js";
export type { ExpectedVm } from "./ground-truth.js";
