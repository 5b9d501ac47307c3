import type { Scenario } from "../scenario.js";

/** Benchmark `graph-photos` (SPEC section 8): not built yet. */
export const scenarios: Scenario[] = [];
