import type { Scenario } from "../scenario.js";

/** Benchmark `zoom-recover` (SPEC section 8): not built yet. */
export const scenarios: Scenario[] = [];
