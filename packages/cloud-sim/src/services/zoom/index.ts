import type { ServiceDefinition } from "../definition.js";
import { notImplementedService } from "../not-implemented.js";

/** The `zoom` section of a dataset (SPEC section 7). Filled in by the zoom job issue. */
export type ZoomDataset = Record<string, unknown>;

export const zoomService: ServiceDefinition<ZoomDataset> = {
  name: "zoom",
  datasetKey: "zoom",
  schema: { type: "object" },
  generate: () => ({}),
  create: () => notImplementedService("zoom"),
};
