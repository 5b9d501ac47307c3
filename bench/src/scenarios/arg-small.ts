import type { Scenario } from "../scenario.js";

/** Benchmark `arg-small` (SPEC section 8): not built yet. */
export const scenarios: Scenario[] = [];
