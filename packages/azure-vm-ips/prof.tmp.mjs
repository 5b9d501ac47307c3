import { createRng } from "@cloudadmin/cloud-sim";
import { generateAzureDataset, compileQuery } from "../cloud-sim/dist/services/arg/index.js";
import { buildVmIpQuery } from "./dist/index.js";
let t = Date.now();
const az = generateAzureDataset(createRng(1), { subscriptions: 100, armVms: 20000, classicVms: 100 });
console.log("gen", Date.now() - t);
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
t = Date.now();
const { toRows } = await import("../cloud-sim/dist/services/arg/kql.js");
const rows = toRows(az.resources, cols);
t = Date.now();
const out = q.run({ Resources: rows, ResourceContainers: [] });
console.log("eval", Date.now() - t, out.rows.length);
