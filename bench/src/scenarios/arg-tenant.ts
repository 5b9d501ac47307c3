import type { Scenario } from "../scenario.js";

/** Benchmark `arg-tenant` (SPEC section 8): not built yet. */
export const scenarios: Scenario[] = [];
