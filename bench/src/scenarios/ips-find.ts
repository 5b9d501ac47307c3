import { stat } from "node:fs/promises";
import { join } from "node:path";
import { canonicalIp } from "@cloudadmin/ip-inventory";
import { benchResult } from "../measure.js";
import type { BenchContext, BenchResult, Scenario } from "../scenario.js";
import {
  type AzureVm,
  type Ec2Instance,
  MiB,
  azureTenant,
  ec2Org,
  runStep,
  workDir,
  writeInventory,
} from "./ips-common.js";

/** What is looked for: two addresses, an IPv4 CIDR per cloud and an IPv6 CIDR. */
const ADDRESSES = ["10.0.48.57", "54.0.3.9"];
const V4_CIDRS: Array<[string, number, number]> = [
  ["10.1.16.0/20", 0x0a011000, 20],
  ["172.0.16.0/22", 0xac001000, 22],
];
const V6_CIDR = "2600:1f18:1a00::/40";
const V6_PREFIX = "2600:1f18:1a";

function v4Int(ip: string): number {
  const p = ip.split(".").map(Number);
  return (((p[0] ?? 0) * 256 + (p[1] ?? 0)) * 256 + (p[2] ?? 0)) * 256 + (p[3] ?? 0);
}

function wanted(ip: string): boolean {
  if (ADDRESSES.includes(ip)) return true;
  if (ip.includes(":"))
    return ip.startsWith(V6_PREFIX) && ip.length > V6_PREFIX.length + 1 && ip[V6_PREFIX.length + 2] === ":";
  const n = v4Int(ip);
  return V4_CIDRS.some(
    ([, net, bits]) => Math.floor(n / 2 ** (32 - bits)) === Math.floor(net / 2 ** (32 - bits)),
  );
}

async function run(ctx: BenchContext): Promise<BenchResult> {
  const { dir, cleanup } = await workDir("ips-find");
  try {
    const expected: string[] = [];
    let ips = 0;
    const azure = (function* () {
      for (const vm of azureTenant(15) as Generator<AzureVm>) {
        for (const ip of [...vm.privateIps, ...vm.publicIps]) {
          ips++;
          if (wanted(ip)) expected.push(`${ip}|${vm.vmId}|`);
        }
        yield vm;
      }
    })();
    const ec2 = (function* () {
      for (const i of ec2Org(16) as Generator<Ec2Instance>) {
        for (const ip of [...i.privateIps, ...i.publicIps, ...i.ipv6Ips]) {
          ips++;
          if (wanted(ip)) expected.push(`${canonicalIp(ip)}|${i.instanceId}|`);
        }
        yield i;
      }
    })();
    const files = [join(dir, "azure-vm-ips.json"), join(dir, "ec2-ips.json")];
    ctx.log("writing the saved inventories (arg-tenant and ec2-org size)");
    await writeInventory(files[0] as string, "azure-vm-ips", azure);
    await writeInventory(files[1] as string, "ec2-ips", ec2);
    const bytes = (await stat(files[0] as string)).size + (await stat(files[1] as string)).size;
    ctx.log(
      `${ips} IPs in ${(bytes / MiB).toFixed(0)} MiB; measuring (each step in its own process, best of 2)`,
    );
    const queries = [...ADDRESSES, ...V4_CIDRS.map(([c]) => c), V6_CIDR];
    const best = async <T>(mode: string, args: Record<string, unknown>) => {
      const a = await runStep<T>(mode, args, ctx.signal);
      const b = await runStep<T>(mode, args, ctx.signal);
      return a.ms <= b.ms ? a : b;
    };
    const bound = await best<{ items: number }>("parse", { files });
    const find = await best<{ hits: string[] }>("find", { files, queries });
    const naive = await runStep<{ hits: string[] }>(
      "naive-find",
      { files, addresses: ADDRESSES, prefixes: ["10.1.1", "172.0.1", "2600:1f18:1a"] },
      ctx.signal,
    );
    const got = [...find.result.hits].sort();
    const want = [...new Set(expected)].sort();
    const correct = got.length === want.length && got.every((h, i) => h === want[i]);
    if (!correct) ctx.log(`mismatch: ${got.length} hits, ${want.length} expected`);
    return benchResult({
      scenario: "ips-find",
      wallMs: find.ms,
      boundModelMs: bound.ms,
      requests: 0,
      requestRate: 0,
      baselineMs: naive.ms,
      throttled: 0,
      retries: 0,
      correct: correct && ips > 400_000,
      extra: {
        ips,
        bytes,
        hits: got.length,
        cpuMs: Math.round(find.cpuMs),
        boundCpuTimeMs: Math.round(bound.cpuMs),
        cpuRatioToBound: Math.round((find.cpuMs / bound.cpuMs) * 1000) / 1000,
        peakRssAboveBaselineMiB: Math.round((find.peakRss - find.baseRss) / MiB),
        boundPeakRssAboveBaselineMiB: Math.round((bound.peakRss - bound.baseRss) / MiB),
        baselinePeakRssAboveBaselineMiB: Math.round((naive.peakRss - naive.baseRss) / MiB),
        baseline: "JSON.parse each whole document, then look at every IP (what a script does today)",
        bound: "readFile + JSON.parse of the same bytes, nothing else",
      },
    });
  } finally {
    await cleanup();
  }
}

/**
 * `ips-find` (SPEC section 8): a find over saved inventories of arg-tenant and ec2-org size (over
 * 400,000 IPs). lowerBoundMs = reading and parsing the same bytes (JSON.parse of whole files),
 * measured in the same run; the find streams, so its peak resident memory above the baseline process
 * is reported too (target: under 200 MiB).
 */
export const scenarios: Scenario[] = [
  { name: "ips-find", description: "who holds these IPs, over saved inventories with > 400,000 IPs", run },
];
