/**
 * Azure Functions app (v4 Node.js programming model): a timer that writes the Azure VM IP
 * inventory to Blob storage as `vm-ips/<UTC timestamp>.json` and `vm-ips/latest.json`.
 * App settings: see README.md.
 */
import { app } from "@azure/functions";
import { createTimerHandler } from "./handler.js";
import { scheduleFromEnv } from "./inventory.js";

app.timer("vmIpInventory", {
  schedule: scheduleFromEnv(process.env),
  handler: createTimerHandler(),
});

export { createTimerHandler } from "./handler.js";
export {
  DEFAULT_SCHEDULE,
  runInventory,
  scheduleFromEnv,
  settingsFromEnv,
  timestampName,
} from "./inventory.js";
export type { InventoryDeps, InventoryResult, InventorySettings } from "./inventory.js";
