import { describe, expect, it } from "vitest";
import { diffInventories } from "./diff.js";
import { findIps } from "./find.js";
import { scanJsonDocument } from "./json-items.js";
import { mergeInventories } from "./merge.js";
import { parseQuery } from "./query.js";
import { readInventory } from "./read.js";
import type { IpRecord } from "./record.js";
import { groupSnapshots, pickSnapshots, stampOf } from "./snapshots.js";
import type { InventorySource } from "./source.js";

const T = "2026-12-01T00:00:00.000Z";

function ec2(id: string, over: Record<string, unknown> = {}) {
  return {
    accountId: "222222222222",
    accountName: "prod",
    region: "eu-west-1",
    instanceId: id,
    instanceType: "t3.micro",
    state: "running",
    name: `web-${id}`,
    privateIps: ["10.0.0.5"],
    publicIps: ["54.1.2.3"],
    ipv6Ips: ["2001:DB8::1"],
    networkInterfaces: [
      {
        id: `eni-${id}`,
        deviceIndex: 0,
        privateIps: ["10.0.0.5"],
        publicIps: [{ ip: "54.1.2.3", kind: "elastic", privateIp: "10.0.0.5" }],
        ipv6Ips: ["2001:DB8::1"],
      },
    ],
    ...over,
  };
}

function azure(name: string, over: Record<string, unknown> = {}) {
  const id = `/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/${name}`;
  return {
    subscriptionId: "s1",
    subscriptionName: "sub one",
    resourceGroup: "rg",
    location: "westeurope",
    vmId: id,
    vmName: name,
    vmSize: "Standard_B1s",
    powerState: "running",
    deploymentModel: "arm",
    scaleSet: null,
    instanceId: null,
    privateIps: ["10.1.0.4"],
    publicIps: [],
    networkInterfaces: [{ id: `${id}-nic0`, privateIps: ["10.1.0.4"], publicIps: [] }],
    ...over,
  };
}

/** A source whose bytes arrive in chunks of `size` bytes (to cut strings, escapes and UTF-8 anywhere). */
function mem(name: string, text: string, size = 7): Exclude<InventorySource, string> {
  return {
    name,
    modifiedAt: new Date(T),
    async *open() {
      const bytes = Buffer.from(text, "utf8");
      for (let i = 0; i < bytes.length; i += size) yield bytes.subarray(i, i + size);
    },
  };
}

function doc(command: string, items: unknown[], extra: Record<string, unknown> = {}, indent = 2): string {
  return JSON.stringify(
    { command, generatedAt: T, items, errors: [], summary: { n: items.length }, ...extra },
    null,
    indent,
  );
}

async function all<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

describe("scanJsonDocument", () => {
  it("splits items and fields whatever the chunking, escapes and multi-byte characters", async () => {
    const long = `${"x".repeat(40)}\\"${"y".repeat(70)}\\\\"],{${"z".repeat(33)}`;
    const items = [
      { a: 'quote " and \\ back\\\\', b: [1, { c: "}]," }] },
      { d: "ünïcødé 🌍", e: null, long, long2: `${long}${long}` },
      3,
    ];
    const text = JSON.stringify({ command: "x", items, tail: { z: [1, 2] } }, null, 2);
    for (const size of [1, 2, 3, 5, 31, 33, 64, 100000]) {
      const events = (await all(scanJsonDocument(mem("t", text, size).open(), "t"))).flat();
      expect(events.flatMap((e) => (e.type === "items" ? e.values : []))).toEqual(items);
      expect(events.filter((e) => e.type === "field")).toEqual([
        { type: "field", key: "command", value: "x" },
        { type: "field", key: "tail", value: { z: [1, 2] } },
      ]);
    }
  });

  it("rejects what is not one JSON object", async () => {
    await expect(all(scanJsonDocument(mem("t", "[1,2]").open(), "t.json"))).rejects.toThrow(
      /t.json is not an inventory/,
    );
    await expect(all(scanJsonDocument(mem("t", '{"items":[{"a":1}').open(), "t.json"))).rejects.toThrow(
      /ends before/,
    );
  });
});

describe("readInventory", () => {
  it("gives one record per IP and holder from ec2-ips and azure-vm-ips json, in SPEC order", async () => {
    const records = await all(
      readInventory([
        mem("a.json", doc("ec2-ips", [ec2("i-1")])),
        mem("b.json", doc("azure-vm-ips", [azure("vm1")], {}, 0)),
      ]),
    );
    expect(records).toEqual([
      {
        ip: "10.0.0.5",
        version: 4,
        visibility: "private",
        cloud: "aws",
        accountId: "222222222222",
        accountName: "prod",
        region: "eu-west-1",
        resourceId: "i-1",
        resourceName: "web-i-1",
        state: "running",
        networkInterfaceId: "eni-i-1",
        publicIpKind: null,
        scaleSet: null,
        observedAt: T,
      },
      expect.objectContaining({
        ip: "54.1.2.3",
        visibility: "public",
        publicIpKind: "elastic",
        networkInterfaceId: "eni-i-1",
      }),
      expect.objectContaining({ ip: "2001:db8::1", version: 6, visibility: "public" }),
      expect.objectContaining({
        ip: "10.1.0.4",
        cloud: "azure",
        accountId: "s1",
        resourceName: "vm1",
        region: "westeurope",
      }),
    ]);
    expect(Object.keys(records[3] as object)).toEqual(Object.keys(records[0] as object));
  });

  it("reads ndjson and csv the same way", async () => {
    const ndjson = `${JSON.stringify(ec2("i-1"))}\n${JSON.stringify(azure("vm1"))}\n`;
    const csv =
      "subscriptionId,subscriptionName,resourceGroup,location,vmId,vmName,vmSize,powerState,deploymentModel,privateIps,publicIps,networkInterfaces\n" +
      "s1,sub one,rg,westeurope,/x/vm1,vm1,B1,running,arm,10.1.0.4;10.1.0.5,20.1.1.1,/x/nic0\n";
    const fromNd = await all(readInventory(mem("x.ndjson", ndjson)));
    expect(fromNd.map((r) => r.ip)).toEqual(["10.0.0.5", "54.1.2.3", "2001:db8::1", "10.1.0.4"]);
    const fromCsv = await all(readInventory(mem("x.csv", csv)));
    expect(fromCsv.map((r) => [r.ip, r.visibility, r.networkInterfaceId, r.observedAt])).toEqual([
      ["10.1.0.4", "private", "/x/nic0", T],
      ["10.1.0.5", "private", "/x/nic0", T],
      ["20.1.1.1", "public", "/x/nic0", T],
    ]);
  });

  it("reads its own find output back (json and ndjson)", async () => {
    const hits = await all(
      findIps(readInventory(mem("a.json", doc("ec2-ips", [ec2("i-1")]))), ["0.0.0.0/0"]),
    );
    const again = await all(readInventory(mem("hits.json", doc("ips", hits))));
    expect(again).toEqual(hits.map(({ anomaly: _a, ...r }) => r));
    const nd = await all(readInventory(mem("hits.ndjson", hits.map((h) => JSON.stringify(h)).join("\n"))));
    expect(nd).toEqual(again);
  });

  it("reads a document with no items (an empty shard) as an empty inventory", async () => {
    for (const indent of [0, 2]) {
      const text = doc("ec2-ips", [], { shard: { index: 0, count: 1 }, scopes: [] }, indent);
      expect(await all(readInventory(mem("e.json", text)))).toEqual([]);
    }
  });

  it("says in one line that a document is not an inventory", async () => {
    await expect(all(readInventory(mem("z.json", doc("zoom-licenses", []))))).rejects.toThrow(
      /^z.json is not an inventory \(its command is "zoom-licenses"/,
    );
    await expect(all(readInventory(mem("q.json", doc("ec2-ips", [{ foo: 1 }]))))).rejects.toThrow(
      /neither an azure-vm-ips nor an ec2-ips record/,
    );
    await expect(all(readInventory(mem("r", "hello world")))).rejects.toMatchObject({
      code: "ERR_INVALID_INPUT",
    });
  });

  it("reports a missing shard of a shard set", async () => {
    const errors: Error[] = [];
    const shard = (index: number) =>
      mem(`s${index}.json`, doc("ec2-ips", [ec2(`i-${index}`)], { shard: { index, count: 3 }, scopes: [] }));
    const records = await all(readInventory([shard(0), shard(2)], { onError: (e) => errors.push(e) }));
    expect(records.map((r) => r.resourceId)).toContain("i-2");
    expect(errors.map((e) => e.message)).toEqual([
      "shard 1/3 of ec2-ips is missing: the scopes it covers are not in the inventory",
    ]);
  });
});

describe("parseQuery", () => {
  it("refuses malformed addresses and CIDRs in one line", () => {
    for (const bad of ["10.0.0.300", "10.0.0.0/33", "2001:db8:::1", "1.2.3", "10.0.0.0/x", "fe80::/129"])
      expect(() => parseQuery(bad), bad).toThrow(/is not a valid (IPv4|IPv6|CIDR)/);
    expect(parseQuery("web-*")).toMatchObject({ kind: "name" });
  });
});

describe("findIps", () => {
  const records = (): Promise<IpRecord[]> =>
    all(
      readInventory([
        mem(
          "a.json",
          doc("ec2-ips", [
            ec2("i-1"),
            // Same public IP on another instance (shared), same private IP in the same account and region.
            ec2("i-2", {
              name: "db-1",
              ipv6Ips: [],
              networkInterfaces: [
                {
                  id: "eni-2",
                  privateIps: ["10.0.0.5"],
                  publicIps: [{ ip: "54.1.2.3", kind: "ephemeral" }],
                  ipv6Ips: [],
                },
              ],
            }),
            // Same private IP in another region: not a duplicate.
            ec2("i-3", {
              region: "us-east-1",
              name: "other",
              publicIps: [],
              ipv6Ips: [],
              networkInterfaces: [],
            }),
          ]),
        ),
        mem(
          "b.json",
          doc("azure-vm-ips", [
            azure("vm1"),
            azure("vm2", { privateIps: ["10.1.0.9"], networkInterfaces: [] }),
          ]),
        ),
      ]),
    );

  it("finds by address, CIDR (v4 and v6) and name across clouds, with anomalies", async () => {
    const rs = await records();
    const byAddress = await all(findIps(rs, ["54.1.2.3"]));
    expect(byAddress.map((h) => [h.resourceId, h.anomaly])).toEqual([
      ["i-1", "public-ip-shared"],
      ["i-2", "public-ip-shared"],
    ]);
    const byCidr = await all(findIps(rs, ["10.0.0.0/16", "10.1.0.0/24"]));
    expect(byCidr.map((h) => [h.ip, h.resourceId, h.anomaly])).toEqual([
      ["10.0.0.5", "i-1", "private-ip-duplicate"],
      ["10.0.0.5", "i-2", "private-ip-duplicate"],
      ["10.0.0.5", "i-3", null],
      [
        "10.1.0.4",
        "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm1",
        null,
      ],
      [
        "10.1.0.9",
        "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm2",
        null,
      ],
    ]);
    expect((await all(findIps(rs, ["2001:db8::/32"]))).map((h) => h.ip)).toEqual(["2001:db8::1"]);
    expect((await all(findIps(rs, ["2001:0db8:0000::1"]))).map((h) => h.resourceId)).toEqual(["i-1"]);
    // A name match sees the other holders of its IPs on a second pass.
    const byName = await all(findIps(() => rs, ["DB-*"]));
    expect(byName.map((h) => [h.ip, h.anomaly])).toEqual([
      ["10.0.0.5", "private-ip-duplicate"],
      ["54.1.2.3", "public-ip-shared"],
    ]);
    expect(await all(findIps(rs, ["192.168.0.0/16"]))).toEqual([]);
  });
});

describe("diffInventories", () => {
  it("gives exactly the added, removed, moved and changed IPs", async () => {
    const before = await all(
      readInventory(
        mem(
          "old.json",
          doc("azure-vm-ips", [
            azure("a", { privateIps: ["10.1.0.1"], networkInterfaces: [] }),
            azure("b", { privateIps: ["10.1.0.2"], networkInterfaces: [] }),
            azure("c", { privateIps: ["10.1.0.3"], networkInterfaces: [] }),
            azure("d", { privateIps: ["10.1.0.4"], networkInterfaces: [] }),
          ]),
        ),
      ),
    );
    const after = await all(
      readInventory(
        mem(
          "new.json",
          doc("azure-vm-ips", [
            azure("a", { privateIps: ["10.1.0.1"], networkInterfaces: [] }),
            azure("b", { privateIps: ["10.1.0.2"], powerState: "deallocated", networkInterfaces: [] }),
            azure("e", { privateIps: ["10.1.0.3"], networkInterfaces: [] }),
            azure("d", { privateIps: ["10.1.0.5"], networkInterfaces: [] }),
          ]),
        ),
      ),
    );
    const changes = await all(diffInventories(before, after));
    expect(
      changes.map((c) => [c.change, c.ip, c.before?.resourceName ?? null, c.after?.resourceName ?? null]),
    ).toEqual([
      ["changed", "10.1.0.2", "b", "b"],
      ["moved", "10.1.0.3", "c", "e"],
      ["removed", "10.1.0.4", "d", null],
      ["added", "10.1.0.5", null, "d"],
    ]);
    expect(changes[0]?.before?.state).toBe("running");
    expect(changes[0]?.after?.state).toBe("deallocated");
  });
});

describe("mergeInventories", () => {
  const shard = (index: number, count: number, command = "ec2-ips") =>
    mem(
      `s${index}.json`,
      doc(command, [ec2(`i-${index}`, { accountId: `00000000000${index}` })], {
        shard: { index, count },
        scopes: [`00000000000${index}`],
      }),
    );

  it("merges a complete set in shard order and reports a missing shard", async () => {
    const merged = await mergeInventories([shard(1, 2), shard(0, 2)]);
    expect(merged.indexes).toEqual([0, 1]);
    expect(merged.errors).toEqual([]);
    expect((await all(merged.items())).map((i) => i.instanceId)).toEqual(["i-0", "i-1"]);
    const partial = await mergeInventories([shard(0, 3), shard(2, 3)]);
    expect(partial.errors).toEqual([
      expect.objectContaining({ scope: "ec2-ips shard 1/3", phase: "merge", code: "ERR_PARTIAL" }),
    ]);
  });

  it("refuses different commands, shard counts or the same shard twice", async () => {
    await expect(mergeInventories([shard(0, 2), shard(1, 2, "azure-vm-ips")])).rejects.toThrow(
      /different commands/,
    );
    await expect(mergeInventories([shard(0, 2), shard(1, 3)])).rejects.toThrow(/different shard counts/);
    await expect(mergeInventories([shard(0, 2), shard(0, 2)])).rejects.toThrow(/both shard 0\/2/);
    await expect(
      mergeInventories([mem("s.json", doc("ec2-ips", [], { shard: { index: 3, count: 3 } }))]),
    ).rejects.toThrow(/not valid/);
  });
});

describe("stampOf", () => {
  it("reads the CLI's {timestamp}, the Functions app's names and ISO times", () => {
    const at = (name: string) => stampOf(name)?.date.toISOString() ?? null;
    expect(at("ec2-ips/2026-11-28T02-15-00Z.json")).toBe("2026-11-28T02:15:00.000Z");
    expect(at("vm-ips/2026-11-28T021500Z.json")).toBe("2026-11-28T02:15:00.000Z");
    expect(at("x/2026-11-28T02:15:00.250Z/shard-0.json")).toBe("2026-11-28T02:15:00.250Z");
    expect(at("vm-ips/latest.json")).toBeNull();
  });
});

describe("groupSnapshots", () => {
  it("makes one snapshot of each run's shards and leaves latest.json out", () => {
    const at = (iso: string) => new Date(iso);
    const snapshots = groupSnapshots(
      [
        { name: "vm-ips/2026-12-01T000000Z.json", lastModified: at("2026-12-01T00:00:05Z") },
        { name: "vm-ips/latest.json", lastModified: at("2026-12-02T00:00:05Z") },
        { name: "ec2/2026-12-02T00-00-00Z/shard-1.json", lastModified: at("2026-12-02T00:01:00Z") },
        { name: "ec2/2026-12-02T00-00-00Z/shard-0.json", lastModified: at("2026-12-02T00:02:00Z") },
        { name: "ec2-ips/shards/uid-1/shard-0-of-2.json", lastModified: at("2026-12-03T00:01:00Z") },
        { name: "ec2-ips/shards/uid-1/shard-1-of-2.json", lastModified: at("2026-12-03T00:03:00Z") },
        { name: "notes.txt", lastModified: at("2026-12-04T00:00:00Z") },
      ],
      (name) => `u/${name}`,
    );
    expect(snapshots.map((s) => [s.takenAt.toISOString(), s.names.length])).toEqual([
      ["2026-12-01T00:00:00.000Z", 1],
      ["2026-12-02T00:00:00.000Z", 2],
      ["2026-12-03T00:03:00.000Z", 2],
    ]);
    expect(snapshots[2]?.urls).toEqual([
      "u/ec2-ips/shards/uid-1/shard-0-of-2.json",
      "u/ec2-ips/shards/uid-1/shard-1-of-2.json",
    ]);
  });
});

describe("pickSnapshots", () => {
  it("takes the newest and the one closest to the age asked", () => {
    const at = (iso: string) => ({ takenAt: new Date(iso), urls: [iso], names: [iso] });
    const list = [
      at("2026-12-01T00:00:00Z"),
      at("2026-12-02T00:00:00Z"),
      at("2026-12-02T18:00:00Z"),
      at("2026-12-03T00:00:00Z"),
    ];
    const { older, newer } = pickSnapshots(list, 24 * 3600_000, new Date("2026-12-03T01:00:00Z"));
    expect(newer.urls).toEqual(["2026-12-03T00:00:00Z"]);
    expect(older.urls).toEqual(["2026-12-02T00:00:00Z"]);
    expect(() => pickSnapshots([at("2026-12-01T00:00:00Z")], 1, new Date())).toThrow(/a diff needs two/);
  });
});
