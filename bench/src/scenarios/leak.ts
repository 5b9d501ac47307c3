import type { Scenario } from "../scenario.js";

/** Benchmark `leak` (SPEC section 8): not built yet. */
export const scenarios: Scenario[] = [];
