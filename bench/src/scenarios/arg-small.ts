import type { Scenario } from "../scenario.js";
import { runArgScenario } from "./arg-common.js";

/**
 * `arg-small` (SPEC section 8): the original post's "less than a second" tenant. 300
 * subscriptions and 15,000 VMs in all (14,925 ARM, 75 classic), read as one 300-subscription
 * batch; same latency and quota model as arg-tenant. The baseline pages one request at a time.
 */
export const scenarios: Scenario[] = [
  {
    name: "arg-small",
    description: "Azure VM IPs of a 300-subscription, 15,000-VM tenant (the original post's < 1 s claim)",
    run: (ctx) =>
      runArgScenario(ctx, {
        name: "arg-small",
        seed: 2,
        dataset: { subscriptions: 300, armVms: 14_925, classicVms: 75, managementGroups: 6 },
        scope: (azure) => ({ subscriptions: azure.subscriptions.map((s) => s.subscriptionId) }),
      }),
  },
];
