import type { ServiceDefinition } from "../definition.js";
import { type AwsDataset, awsDatasetSchema, checkAwsDataset } from "./dataset.js";
import { generateAwsDataset } from "./generate.js";
import { AwsSimService } from "./service.js";

export type {
  AwsDataset,
  AwsAccount,
  AwsAccountState,
  AwsInstance,
  AwsInstanceStateName,
  AwsNetworkInterface,
  AwsPrivateIp,
  AwsIpAssociation,
  AwsTag,
} from "./dataset.js";
export { DEFAULT_ROLE_NAME, enabledRegionsOf } from "./dataset.js";
export { AwsSimService, DEFAULT_AWS_LIMITS, SIM_SECRET_ACCESS_KEY } from "./service.js";
export type { AwsLimits } from "./service.js";
export { ALL_REGIONS, DEFAULT_REGIONS, OPT_IN_REGIONS } from "./regions.js";
export { EDGE_CASES } from "./generate.js";
export { expectedInstanceIps } from "./ground-truth.js";

/**
 * AWS on one loopback endpoint: EC2 (ec2Query XML), STS (awsQuery XML), Organizations (JSON 1.1)
 * and the IAM Identity Center portal (REST JSON, bearer header), routed as reference/aws.md
 * section 1.6 describes: portal calls by path, Organizations by `X-Amz-Target`, EC2 and STS by the
 * form's `Version`. Callers are identified by the access key in the SigV4 credential scope (keys
 * the simulator minted map back to their account); the scope's region is the request's region.
 */
export const awsService: ServiceDefinition<AwsDataset> = {
  name: "aws",
  datasetKey: "aws",
  schema: awsDatasetSchema,
  check: checkAwsDataset,
  generate: generateAwsDataset,
  create: (section, options) => new AwsSimService(section, options),
};
