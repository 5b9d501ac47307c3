import type { Scenario } from "../scenario.js";
import { runZoomScenario } from "./zoom-common.js";

export const scenarios: Scenario[] = [
  {
    name: "zoom-recover-pro",
    description:
      "zoom-recover's dataset on Pro limits (Light 30/s, Medium 20/s), per-second 429s with the daily quota in X-RateLimit-Limit and no type, run with the default --zoom-plan (Business)",
    run: (ctx) =>
      runZoomScenario(ctx, {
        scenario: "zoom-recover-pro",
        plan: "pro",
        rateLimitHeaders: { perSecond: "daily-quota-in-limit" },
      }),
  },
];
