import { startSimulator, generateDataset } from "@cloudadmin/cloud-sim";
import { listVmIps } from "./dist/index.js";
let t = Date.now();
const dataset = generateDataset({ scale: "large", seed: 1, services: ["arg"] });
console.log("gen", Date.now() - t, "ms", dataset.azure.resources.length);
const sim = await startSimulator({
  dataset,
  services: ["arg"],
  latency: { arg: { baseMs: 150, perUnitMs: 0.01 } },
});
const cred = (tok) => ({ getToken: async () => ({ token: tok, expiresOnTimestamp: Date.now() + 3600e3 }) });
t = Date.now();
let n = 0;
for await (const vm of listVmIps({
  credential: cred("warm"),
  endpoint: sim.httpsUrl,
  ca: sim.ca,
  pageSize: 1,
})) {
  n++;
  break;
}
console.log("warm", Date.now() - t);
sim.resetStats();
t = Date.now();
n = 0;
for await (const vm of listVmIps({ credential: cred("main"), endpoint: sim.httpsUrl, ca: sim.ca })) n++;
const s = sim.stats();
console.log(n, Date.now() - t, "ms", s.byStatus, s.throttled, s.maxInFlight);
const log = sim.requestLog.map((e) => [Math.round(e.t), e.status, Math.round(e.ms)]);
console.log(JSON.stringify(log.slice(0, 20)), JSON.stringify(log.slice(-20)));
await sim.close();
