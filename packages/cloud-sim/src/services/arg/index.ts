import type { ServiceDefinition } from "../definition.js";
import { notImplementedService } from "../not-implemented.js";

/** The `azure` section of a dataset (SPEC section 7). Filled in by the arg job issue. */
export type AzureDataset = Record<string, unknown>;

export const argService: ServiceDefinition<AzureDataset> = {
  name: "arg",
  datasetKey: "azure",
  schema: { type: "object" },
  generate: () => ({}),
  create: () => notImplementedService("arg"),
};
