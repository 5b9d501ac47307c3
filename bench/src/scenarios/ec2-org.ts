import type { Scenario } from "../scenario.js";

/** Benchmark `ec2-org` (SPEC section 8): not built yet. */
export const scenarios: Scenario[] = [];
