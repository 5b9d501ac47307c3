import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { createRng } from "@cloudadmin/cloud-sim";
import { openSink, writeResults } from "@cloudadmin/output";

/**
 * Saved inventories for the `ips-find` and `ips-diff` scenarios, written by the same writer the jobs
 * use (`writeResults`, json with the envelope), with records of the jobs' shapes: `arg-tenant` size
 * (100,000 ARM VMs with 1-3 NICs of 1-2 IP configurations, 30% with a public IP, 500 classic VMs and
 * 20,000 Uniform scale-set instances) and `ec2-org` size (30,000 instances in 300 accounts). The work
 * being measured is reading, not listing, so the records are generated here directly (a seeded RNG)
 * rather than by running the jobs against the simulator for minutes.
 */

export interface AzureVm {
  subscriptionId: string;
  subscriptionName: string;
  resourceGroup: string;
  location: string;
  vmId: string;
  vmName: string;
  vmSize: string;
  powerState: string;
  deploymentModel: "arm" | "classic";
  scaleSet: string | null;
  instanceId: string | null;
  privateIps: string[];
  publicIps: string[];
  networkInterfaces: Array<{ id: string; privateIps: string[]; publicIps: string[] }>;
}

export interface Ec2Instance {
  accountId: string;
  accountName: string;
  region: string;
  instanceId: string;
  instanceType: string;
  state: string;
  name: string | null;
  privateIps: string[];
  publicIps: string[];
  ipv6Ips: string[];
  networkInterfaces: Array<{
    id: string;
    deviceIndex: number;
    privateIps: string[];
    publicIps: Array<{ ip: string; kind: "elastic" | "ephemeral"; privateIp: string }>;
    ipv6Ips: string[];
  }>;
}

const LOCATIONS = ["westeurope", "northeurope", "eastus", "eastus2", "uksouth", "southeastasia"];
const REGIONS = ["us-east-1", "eu-west-1", "eu-central-1", "ap-southeast-2", "us-west-2"];

const hex = (n: number, width: number) => n.toString(16).padStart(width, "0");
const guid = (n: number) => `${hex(n, 8)}-0000-4000-8000-${hex(n * 7919, 12).slice(-12)}`;
/** The nth address of a /8 (n < 2^24), as dotted quad. */
const v4 = (first: number, n: number) => `${first}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;

/** The azure-vm-ips items of an arg-tenant-sized tenant. `change(vm, i)` may edit a VM (the diff's second snapshot). */
export function* azureTenant(seed: number, armVms = 100_000): Generator<AzureVm> {
  const rng = createRng(seed);
  let privateN = 0;
  let publicN = 0;
  const subs = 500;
  for (let i = 0; i < armVms; i++) {
    const s = i % subs;
    const sub = guid(s + 1);
    const rg = `rg-${s % 40}`;
    const name = `vm-${hex(i, 6)}`;
    const id = `/subscriptions/${sub}/resourceGroups/${rg}/providers/Microsoft.Compute/virtualMachines/${name}`;
    const nics: AzureVm["networkInterfaces"] = [];
    const withPublic = rng.next() < 0.3;
    const nicCount = 1 + Math.floor(rng.next() * 3);
    for (let n = 0; n < nicCount; n++) {
      const configs = 1 + Math.floor(rng.next() * 2);
      const privateIps: string[] = [];
      for (let c = 0; c < configs; c++) privateIps.push(v4(10, privateN++));
      const publicIps = withPublic && n === 0 ? [v4(20, publicN++)] : [];
      nics.push({
        id: `/subscriptions/${sub}/resourceGroups/${rg}/providers/Microsoft.Network/networkInterfaces/${name}-nic${n}`,
        privateIps,
        publicIps,
      });
    }
    yield {
      subscriptionId: sub,
      subscriptionName: `sub-${hex(s, 4)}`,
      resourceGroup: rg,
      location: LOCATIONS[s % LOCATIONS.length] as string,
      vmId: id,
      vmName: name,
      vmSize: "Standard_D2s_v5",
      powerState: rng.next() < 0.9 ? "running" : "deallocated",
      deploymentModel: "arm",
      scaleSet: null,
      instanceId: null,
      privateIps: nics.flatMap((n) => n.privateIps),
      publicIps: nics.flatMap((n) => n.publicIps),
      networkInterfaces: nics,
    };
  }
  for (let i = 0; i < 500; i++) {
    const sub = guid((i % subs) + 1);
    yield {
      subscriptionId: sub,
      subscriptionName: `sub-${hex(i % subs, 4)}`,
      resourceGroup: "classic",
      location: "westeurope",
      vmId: `/subscriptions/${sub}/resourceGroups/classic/providers/Microsoft.ClassicCompute/virtualMachines/classic-${i}`,
      vmName: `classic-${i}`,
      vmSize: "Small",
      powerState: "running",
      deploymentModel: "classic",
      scaleSet: null,
      instanceId: null,
      privateIps: [v4(10, privateN++)],
      publicIps: [v4(20, publicN++)],
      networkInterfaces: [],
    };
  }
  for (let i = 0; i < 20_000; i++) {
    const set = i % 200;
    const sub = guid((set % subs) + 1);
    const vmss = `/subscriptions/${sub}/resourceGroups/rg-vmss/providers/Microsoft.Compute/virtualMachineScaleSets/vmss-${set}`;
    const instance = String(Math.floor(i / 200));
    const ip = v4(10, privateN++);
    yield {
      subscriptionId: sub,
      subscriptionName: `sub-${hex(set % subs, 4)}`,
      resourceGroup: "rg-vmss",
      location: "eastus",
      vmId: `${vmss}/virtualMachines/${instance}`,
      vmName: `vmss-${set}_${instance}`,
      vmSize: "Standard_D2s_v5",
      powerState: "running",
      deploymentModel: "arm",
      scaleSet: vmss,
      instanceId: instance,
      privateIps: [ip],
      publicIps: [],
      networkInterfaces: [
        { id: `${vmss}/virtualMachines/${instance}/networkInterfaces/nic0`, privateIps: [ip], publicIps: [] },
      ],
    };
  }
}

/** The ec2-ips items of an ec2-org-sized Organization: 30,000 instances in 300 accounts. */
export function* ec2Org(seed: number, instances = 30_000): Generator<Ec2Instance> {
  const rng = createRng(seed);
  let privateN = 0;
  let publicN = 0;
  for (let i = 0; i < instances; i++) {
    const account = String(100_000_000_000 + (i % 300));
    const enis: Ec2Instance["networkInterfaces"] = [];
    const eniCount = 1 + Math.floor(rng.next() * 2);
    for (let e = 0; e < eniCount; e++) {
      const privateIps = [v4(172, privateN++)];
      if (rng.next() < 0.3) privateIps.push(v4(172, privateN++));
      const publicIps =
        e === 0 && rng.next() < 0.4
          ? [
              {
                ip: v4(54, publicN++),
                kind: rng.next() < 0.5 ? ("elastic" as const) : ("ephemeral" as const),
                privateIp: privateIps[0] as string,
              },
            ]
          : [];
      const ipv6Ips = rng.next() < 0.2 ? [`2600:1f18:${hex(i, 4)}:${hex(e, 4)}::${hex(i, 4)}`] : [];
      enis.push({ id: `eni-${hex(i * 4 + e, 17)}`, deviceIndex: e, privateIps, publicIps, ipv6Ips });
    }
    yield {
      accountId: account,
      accountName: `acct-${i % 300}`,
      region: REGIONS[i % REGIONS.length] as string,
      instanceId: `i-${hex(i, 17)}`,
      instanceType: "t3.micro",
      state: rng.next() < 0.85 ? "running" : "stopped",
      name: rng.next() < 0.9 ? `app-${i}` : null,
      privateIps: enis.flatMap((n) => n.privateIps),
      publicIps: enis.flatMap((n) => n.publicIps.map((p) => p.ip)),
      ipv6Ips: enis.flatMap((n) => n.ipv6Ips),
      networkInterfaces: enis,
    };
  }
}

/** Writes items as the jobs' json document (same writer, same envelope). */
export async function writeInventory(file: string, command: string, items: Iterable<unknown>): Promise<void> {
  async function* stream() {
    yield* items;
  }
  const sink = await openSink(file, { contentType: "application/json" });
  await writeResults({ format: "json", command, items: stream(), sink, summary: () => ({}) });
}

export async function workDir(name: string): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), `bench-${name}-`));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/**
 * Each measured step runs in its own Node process, so its peak resident memory (`maxRSS`) is its own
 * and no earlier step's garbage or heap growth is counted. The child reports its resident memory
 * before the step (the baseline process: Node plus the imported library) and its peak.
 */
const CHILD = `
import { readFileSync } from "node:fs";
const [libUrl, mode, argsJson] = process.argv.slice(1);
const args = JSON.parse(argsJson);
const lib = await import(libUrl);
globalThis.gc?.();
const baseRss = process.memoryUsage().rss;
const c0 = process.cpuUsage();
const t0 = performance.now();
let result;
if (mode === "parse") {
  let items = 0;
  for (const f of args.files) items += JSON.parse(readFileSync(f, "utf8")).items.length;
  result = { items };
} else if (mode === "find") {
  const hits = [];
  for await (const h of lib.findIps(() => lib.readInventory(args.files), args.queries)) hits.push(h.ip + "|" + h.resourceId + "|" + (h.anomaly ?? ""));
  result = { hits };
} else if (mode === "naive-find") {
  // What a script does today: load each document whole, then look at every IP of every item.
  const wanted = new Set(args.addresses);
  const hits = [];
  for (const f of args.files) {
    for (const item of JSON.parse(readFileSync(f, "utf8")).items) {
      const ips = [...(item.privateIps ?? []), ...(item.publicIps ?? []), ...(item.ipv6Ips ?? [])];
      for (const ip of ips) if (wanted.has(ip) || args.prefixes.some((p) => ip.startsWith(p))) hits.push(ip + "|" + (item.vmId ?? item.instanceId));
    }
  }
  result = { hits };
} else if (mode === "diff") {
  const counts = { added: 0, removed: 0, moved: 0, changed: 0 };
  const changes = [];
  for await (const c of lib.diffInventories(() => lib.readInventory(args.older), () => lib.readInventory(args.newer))) {
    counts[c.change]++;
    changes.push(c.change + "|" + c.ip);
  }
  result = { counts, changes };
}
const ms = performance.now() - t0;
const cpu = process.cpuUsage(c0);
const cpuMs = (cpu.user + cpu.system) / 1000;
process.stdout.write(JSON.stringify({ ms, cpuMs, baseRss, peakRss: process.resourceUsage().maxRSS * 1024, result }));
`;

export interface ChildRun<T> {
  ms: number;
  /** CPU time of the step (user + system): steadier than wall time on a shared machine. */
  cpuMs: number;
  baseRss: number;
  peakRss: number;
  result: T;
}

export function runStep<T>(
  mode: string,
  args: Record<string, unknown>,
  signal: AbortSignal,
): Promise<ChildRun<T>> {
  const lib = pathToFileURL(createRequire(import.meta.url).resolve("@cloudadmin/ip-inventory")).href;
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ["--input-type=module", "-e", CHILD, lib, mode, JSON.stringify(args)],
      {
        stdio: ["ignore", "pipe", "inherit"],
        signal,
      },
    );
    let out = "";
    child.stdout.on("data", (c: Buffer) => {
      out += c.toString("utf8");
    });
    child.on("error", reject);
    child.on("exit", (code) => {
      if (code !== 0) return reject(new Error(`${mode} step exited with ${code}`));
      try {
        resolve(JSON.parse(out) as ChildRun<T>);
      } catch (error) {
        reject(error);
      }
    });
  });
}

export const MiB = 2 ** 20;
