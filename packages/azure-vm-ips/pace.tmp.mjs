import { startSimulator, createRng } from "@cloudadmin/cloud-sim";
import { generateAzureDataset } from "../cloud-sim/dist/services/arg/index.js";
import { listVmIps } from "./dist/index.js";
const azure = generateAzureDataset(createRng(1), {
  subscriptions: 100,
  armVms: +process.argv[2],
  classicVms: 50,
});
const sim = await startSimulator({
  dataset: { azure },
  services: ["arg"],
  latency: { arg: { baseMs: 150, perUnitMs: 0.01 } },
});
const cred = (tok) => ({ getToken: async () => ({ token: tok, expiresOnTimestamp: Date.now() + 3600e3 }) });
for await (const vm of listVmIps({
  credential: cred("warm"),
  endpoint: sim.httpsUrl,
  ca: sim.ca,
  pageSize: 1,
}))
  break;
sim.resetStats();
const t = performance.now();
let n = 0;
const { sleep } = await import("@cloudadmin/paging");
const t0 = Date.now();
const timer = {
  now: () => Date.now(),
  sleep: (ms, s) => {
    console.log("sleep", Date.now() - t0, Math.round(ms));
    return sleep(ms, s);
  },
};
for await (const vm of listVmIps({ credential: cred("main"), endpoint: sim.httpsUrl, ca: sim.ca, timer }))
  n++;
const s = sim.stats();
console.log(n, Math.round(performance.now() - t), "ms", s.byStatus, s.throttled, s.maxInFlight);
console.log(sim.requestLog.map((e) => `${Math.round(e.t)}/${e.status}/${Math.round(e.ms)}`).join(" "));
await sim.close();
