import type { Scenario } from "../scenario.js";
import { runArgScenario } from "./arg-common.js";

/**
 * `arg-tenant` (SPEC section 8): 500 subscriptions, 100,000 ARM VMs with 1-3 NICs and 1-2 IP
 * configurations each, 30% with public IPs, 500 classic VMs, 200 Uniform scale sets with 20,000
 * instances (ComputeResources); tenant scope; 150 ms + 0.01 ms per row; 15 queries per 5 s. The
 * bound is the quota schedule of the 121 pages one-row-per-VM needs (101 + 20, two queries).
 * The baseline (sequential $skipToken paging, no pacing) runs in full: the quota bounds it too.
 */
export const scenarios: Scenario[] = [
  {
    name: "arg-tenant",
    description:
      "Azure VM IPs of a 500-subscription, 120,500-VM tenant (20,000 Uniform scale-set instances) under ARG's 15 per 5 s quota",
    run: (ctx) =>
      runArgScenario(ctx, {
        name: "arg-tenant",
        seed: 1,
        dataset: {
          subscriptions: 500,
          armVms: 100_000,
          classicVms: 500,
          managementGroups: 10,
          uniformScaleSets: 200,
          uniformInstances: 20_000,
        },
        scope: () => ({ tenant: true }),
      }),
  },
];
