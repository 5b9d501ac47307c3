import { createRng } from "@cloudadmin/cloud-sim";
import { generateAzureDataset, compileQuery } from "../cloud-sim/dist/services/arg/index.js";
import { toRows } from "../cloud-sim/dist/services/arg/kql.js";
import { buildVmIpQuery } from "./dist/index.js";
const cpu = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
let c = cpu();
const az = generateAzureDataset(createRng(1), {
  subscriptions: 100,
  armVms: +process.argv[2],
  classicVms: 100,
});
console.log("gen cpu", Math.round(cpu() - c));
const cols = [
  "id",
  "name",
  "type",
  "tenantId",
  "kind",
  "location",
  "resourceGroup",
  "subscriptionId",
  "managedBy",
  "sku",
  "plan",
  "properties",
  "tags",
  "identity",
  "zones",
  "extendedLocation",
];
const q = compileQuery(buildVmIpQuery({ includeClassic: true }), {
  Resources: cols,
  ResourceContainers: cols,
});
const rows = toRows(az.resources, cols);
for (let i = 0; i < 2; i++) {
  c = cpu();
  const out = q.run({ Resources: rows, ResourceContainers: [] });
  console.log("eval cpu", Math.round(cpu() - c), out.rows.length);
}
