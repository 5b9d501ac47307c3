import { stat } from "node:fs/promises";
import { join } from "node:path";
import { benchResult } from "../measure.js";
import type { BenchContext, BenchResult, Scenario } from "../scenario.js";
import { type AzureVm, MiB, azureTenant, runStep, workDir, writeInventory } from "./ips-common.js";

/** 79,500 ARM VMs + 500 classic + 20,000 scale-set instances: 100,000 VMs per snapshot. */
const ARM_VMS = 79_500;

type Counts = { added: number; removed: number; moved: number; changed: number };

/**
 * The second snapshot: every 100th VM (1% of VMs, about 1% of IPs) changes, in turn: its power state
 * (its IPs are `changed`), it is deleted (`removed`), it is recreated under another name with the
 * same IPs (`moved`), or it gains an IP (`added`).
 */
function* nextSnapshot(expected: Counts): Generator<AzureVm> {
  let i = 0;
  let extra = 0;
  for (const vm of azureTenant(25, ARM_VMS)) {
    const n = i++;
    const ips = vm.privateIps.length + vm.publicIps.length;
    if (n % 100 !== 0) {
      yield vm;
      continue;
    }
    switch ((n / 100) % 4) {
      case 0:
        expected.changed += ips;
        yield { ...vm, powerState: vm.powerState === "running" ? "deallocated" : "running" };
        break;
      case 1:
        expected.removed += ips;
        break;
      case 2:
        expected.moved += ips;
        yield { ...vm, vmId: `${vm.vmId}-new`, vmName: `${vm.vmName}-new` };
        break;
      default: {
        expected.added += 1;
        const ip = `11.0.${(extra >> 8) & 255}.${extra & 255}`;
        extra++;
        const [first, ...rest] = vm.networkInterfaces;
        yield first
          ? {
              ...vm,
              privateIps: [...vm.privateIps, ip],
              networkInterfaces: [{ ...first, privateIps: [...first.privateIps, ip] }, ...rest],
            }
          : { ...vm, privateIps: [...vm.privateIps, ip] };
      }
    }
  }
}

async function run(ctx: BenchContext): Promise<BenchResult> {
  const { dir, cleanup } = await workDir("ips-diff");
  try {
    const older = join(dir, "vm-ips-older.json");
    const newer = join(dir, "vm-ips-newer.json");
    const expected: Counts = { added: 0, removed: 0, moved: 0, changed: 0 };
    let vms = 0;
    let ips = 0;
    ctx.log("writing two 100,000-VM snapshots, 1% of IPs changed");
    await writeInventory(
      older,
      "azure-vm-ips",
      (function* () {
        for (const vm of azureTenant(25, ARM_VMS)) {
          vms++;
          ips += vm.privateIps.length + vm.publicIps.length;
          yield vm;
        }
      })(),
    );
    await writeInventory(newer, "azure-vm-ips", nextSnapshot(expected));
    const bytes = (await stat(older)).size + (await stat(newer)).size;
    const changedIps = expected.added + expected.removed + expected.moved + expected.changed;
    ctx.log(
      `${vms} VMs, ${ips} IPs, ${changedIps} changed, ${(bytes / MiB).toFixed(0)} MiB; measuring (best of 2)`,
    );
    const best = async <T>(mode: string, args: Record<string, unknown>) => {
      const a = await runStep<T>(mode, args, ctx.signal);
      const b = await runStep<T>(mode, args, ctx.signal);
      return a.ms <= b.ms ? a : b;
    };
    const bound = await best<{ items: number }>("parse", { files: [older, newer] });
    const diff = await best<{ counts: Counts; changes: string[] }>("diff", {
      older: [older],
      newer: [newer],
    });
    const got = diff.result.counts;
    const correct =
      vms === 100_000 &&
      got.added === expected.added &&
      got.removed === expected.removed &&
      got.moved === expected.moved &&
      got.changed === expected.changed;
    if (!correct) ctx.log(`mismatch: got ${JSON.stringify(got)}, expected ${JSON.stringify(expected)}`);
    return benchResult({
      scenario: "ips-diff",
      wallMs: diff.ms,
      boundModelMs: bound.ms,
      requests: 0,
      requestRate: 0,
      baselineMs: 0,
      throttled: 0,
      retries: 0,
      correct,
      extra: {
        vms,
        ips,
        bytes,
        changes: got,
        cpuMs: Math.round(diff.cpuMs),
        boundCpuTimeMs: Math.round(bound.cpuMs),
        cpuRatioToBound: Math.round((diff.cpuMs / bound.cpuMs) * 1000) / 1000,
        peakRssAboveBaselineMiB: Math.round((diff.peakRss - diff.baseRss) / MiB),
        boundPeakRssAboveBaselineMiB: Math.round((bound.peakRss - bound.baseRss) / MiB),
        bound: "readFile + JSON.parse of both snapshots, nothing else",
        baseline: "none: no earlier tool diffs inventories",
      },
    });
  } finally {
    await cleanup();
  }
}

/**
 * `ips-diff` (SPEC section 8): two 100,000-VM snapshots with 1% of IPs changed; lowerBoundMs is
 * reading and parsing both (target ratioToBound <= 2: the diff holds the older side in memory).
 */
export const scenarios: Scenario[] = [
  { name: "ips-diff", description: "what changed between two 100,000-VM snapshots (1% of IPs)", run },
];
