import type { InvocationContext, Timer } from "@azure/functions";
import { type InventoryDeps, type InventoryResult, runInventory, settingsFromEnv } from "./inventory.js";

export interface HandlerDeps extends Omit<InventoryDeps, "log"> {
  /** App settings (default: process.env, where the Functions host puts them). */
  env?: Record<string, string | undefined>;
}

/** The timer handler: reads the app settings at each run, runs the inventory, logs to the invocation. */
export function createTimerHandler(deps: HandlerDeps = {}) {
  return async (timer: Timer, context: InvocationContext): Promise<InventoryResult> => {
    const settings = settingsFromEnv(deps.env ?? process.env);
    if (timer.isPastDue) context.warn("the timer is past due: this run is late");
    return runInventory(settings, {
      ...deps,
      log: { info: (m) => context.log(m), warn: (m) => context.warn(m), error: (m) => context.error(m) },
    });
  };
}
