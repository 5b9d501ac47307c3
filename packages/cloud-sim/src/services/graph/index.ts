import type { ServiceDefinition } from "../definition.js";
import { type GraphDataset, checkGraphDataset, generateGraphDataset, graphSchema } from "./dataset.js";
import { GraphSimService } from "./service.js";

export type {
  GraphDataset,
  GraphPhoto,
  GraphPhotoEntry,
  GraphPhotoPlaceholder,
  GraphUser,
} from "./dataset.js";
export { extensionName, isPhotoPlaceholder } from "./dataset.js";
export { GraphSimService, PHOTO_CONCURRENCY_PER_APP, appFromToken } from "./service.js";
export type { GraphPhotoBehaviour } from "./service.js";

/** Microsoft Graph (users, profile photos, JSON batching) over the dataset's `graph` section. */
export const graphService: ServiceDefinition<GraphDataset> = {
  name: "graph",
  datasetKey: "graph",
  schema: graphSchema,
  check: checkGraphDataset,
  generate: generateGraphDataset,
  create: (section, options) => new GraphSimService(section, options.rng),
};
