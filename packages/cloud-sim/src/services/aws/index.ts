import type { ServiceDefinition } from "../definition.js";
import { notImplementedService } from "../not-implemented.js";

/** The `aws` section of a dataset (SPEC section 7). Filled in by the aws job issue. */
export type AwsDataset = Record<string, unknown>;

export const awsService: ServiceDefinition<AwsDataset> = {
  name: "aws",
  datasetKey: "aws",
  schema: { type: "object" },
  generate: () => ({}),
  create: () => notImplementedService("aws"),
};
