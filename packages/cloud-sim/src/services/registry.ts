import type { ServiceName } from "../types.js";
import { argService } from "./arg/index.js";
import { awsService } from "./aws/index.js";
import type { ServiceDefinition } from "./definition.js";
import { graphService } from "./graph/index.js";
import { zoomService } from "./zoom/index.js";

// biome-ignore lint/suspicious/noExplicitAny: each definition has its own section type
export const SERVICE_DEFINITIONS: Record<ServiceName, ServiceDefinition<any>> = {
  aws: awsService,
  arg: argService,
  graph: graphService,
  zoom: zoomService,
};
