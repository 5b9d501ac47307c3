import type { ServiceDefinition } from "../definition.js";
import { notImplementedService } from "../not-implemented.js";

/** The `graph` section of a dataset (SPEC section 7). Filled in by the graph job issue. */
export type GraphDataset = Record<string, unknown>;

export const graphService: ServiceDefinition<GraphDataset> = {
  name: "graph",
  datasetKey: "graph",
  schema: { type: "object" },
  generate: () => ({}),
  create: () => notImplementedService("graph"),
};
