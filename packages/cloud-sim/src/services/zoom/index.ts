import type { ServiceDefinition } from "../definition.js";
import { type ZoomDataset, checkZoom, generateZoom, zoomSchema } from "./dataset.js";
import { createZoomService } from "./service.js";

export type {
  ZoomDataset,
  ZoomUserRecord,
  ZoomUserType,
  ZoomUserStatus,
  ZoomPlan,
  ZoomCategoryLimits,
  ZoomDailyHeaderForm,
  ZoomPerSecondHeaderForm,
} from "./dataset.js";
export { GENERATED_AS_OF as ZOOM_GENERATED_AS_OF, PLAN_LIMITS as ZOOM_PLAN_LIMITS } from "./dataset.js";
export type { ZoomSimService, RateLimitCategory, RetryAfterForm } from "./service.js";

/**
 * Zoom: Server-to-Server OAuth (`POST /oauth/token`) and the users API (`GET /v2/users`,
 * `GET|PATCH /v2/users/{userId}`) with the plan's Light/Medium limits. Plain http is fine: Zoom's
 * clients have no https-only rule to model.
 */
export const zoomService: ServiceDefinition<ZoomDataset> = {
  name: "zoom",
  datasetKey: "zoom",
  schema: zoomSchema,
  check: checkZoom,
  generate: generateZoom,
  create: (section, options) => createZoomService(section, options),
};
