import type { Scenario } from "../scenario.js";
import { runZoomScenario } from "./zoom-common.js";

export const scenarios: Scenario[] = [
  {
    name: "zoom-recover",
    description:
      "9,000 Zoom users (300 per page), 600 to downgrade; 100 ms per call; Business limits (Light 80/s, Medium 60/s)",
    run: (ctx) => runZoomScenario(ctx, { scenario: "zoom-recover", plan: "business" }),
  },
];
