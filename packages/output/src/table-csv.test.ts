import { parse } from "csv-parse/sync";
import { describe, expect, it } from "vitest";
import { neutralizeFormula } from "./csv-safe.js";
import type { Sink } from "./sink.js";
import { displayWidth, fitWidths, renderTable, sanitizeTerminalText, truncateToWidth } from "./table.js";
import { writeResults } from "./write-results.js";

function memorySink() {
  let text = "";
  const sink: Sink = {
    async write(chunk) {
      text += chunk;
    },
    async commit() {},
    async abort() {},
    describe: () => "memory",
  };
  return { sink, text: () => text };
}

async function* fromArray<T>(items: T[]): AsyncGenerator<T> {
  for (const item of items) yield item;
}

const ESC = "\u001b";
const HOSTILE = [
  `${ESC}[31mred${ESC}[0m`, // SGR colour
  `${ESC}]0;owned${ESC}\\title`, // OSC window title (ST-terminated)
  `${ESC}]8;;https://evil.example${ESC}\\link${ESC}]8;;${ESC}\\`, // OSC 8 hyperlink
  `${ESC}[2J${ESC}[Hclear`, // erase screen, home
  "bell\u0007back\bspace",
  "c1\u009b31mcsi", // 8-bit CSI
  "rtl\u202eevil",
  "tab\there\nnewline\rcr",
];

async function table(
  command: string,
  items: Record<string, unknown>[],
  options: { columns?: number; wide?: boolean; sortBy?: string[] | null; fields?: string[] } = {},
): Promise<string[]> {
  const out = memorySink();
  await writeResults({
    format: "table",
    command,
    items: fromArray(items),
    sink: out.sink,
    ...(options.fields ? { columns: options.fields } : {}),
    ...(options.sortBy !== undefined ? { sortBy: options.sortBy } : {}),
    table: {
      ...(options.columns !== undefined ? { columns: options.columns } : {}),
      ...(options.wide ? { wide: true } : {}),
    },
  });
  return out.text().trimEnd().split("\n");
}

function vm(i: number, sub: string, rg: string, name: string) {
  return {
    subscriptionId: `0000000${i}-aaaa-bbbb-cccc-${"d".repeat(12)}`,
    subscriptionName: sub,
    resourceGroup: rg,
    vmName: name,
    location: "westeurope",
    vmId: `/subscriptions/0000000${i}/resourceGroups/${rg}/providers/Microsoft.Compute/virtualMachines/${name}`,
    privateIps: ["10.0.0.4", "10.0.0.5", "fd00::4"],
    publicIps: ["20.1.2.3"],
  };
}

describe("-o table", () => {
  const vms = [
    vm(1, "prod", "rg-web", "vm10"),
    vm(2, "Dev", "rg-b", "vm-1"),
    vm(3, "prod", "rg-app", "vm2"),
    vm(4, "prod", "rg-web", "vm2"),
    vm(5, "dev", "rg-a", "東京-サーバー-🚀-long-name-of-a-virtual-machine"),
  ];

  it("never draws a line wider than the terminal, at any width, cutting cells with an ellipsis", async () => {
    for (const columns of [200, 120, 80, 60, 40, 20, 10, 3, 1]) {
      const lines = await table("azure-vm-ips", vms, { columns });
      const rows = lines.slice(0, -1); // the count line is text, not table
      for (const line of rows) expect(displayWidth(line), `${columns}: ${line}`).toBeLessThanOrEqual(columns);
      if (columns <= 120) expect(rows.some((line) => line.includes("…"))).toBe(true);
    }
  });

  it("shows every cell whole with --wide, and when no width is known (a pipe or a file)", async () => {
    for (const options of [{ columns: 40, wide: true }, {}]) {
      const text = (await table("azure-vm-ips", vms, options)).join("\n");
      expect(text).not.toContain("…");
      for (const v of vms) expect(text).toContain(v.vmId);
    }
  });

  it("cuts the widest columns first and keeps short ones whole", () => {
    expect(fitWidths([5, 40, 8, 60], 60)).toEqual([5, 23, 8, 24]);
    expect(fitWidths([5, 10], 100)).toEqual([5, 10]);
    // Headers stay whole when they fit: the floors are kept, the rest is shared.
    expect(fitWidths([30, 7, 40], 40, [4, 5, 10])).toEqual([13, 7, 20]);
    expect(renderTable(["name", "state"], [["a-very-long-vm-name", "running"]], { columns: 16 })).toBe(
      "name     state\na-very…  running\n",
    );
    expect(truncateToWidth("abcdefgh", 5)).toBe("abcd…");
    expect(truncateToWidth("東京東京", 5)).toBe("東京…");
    expect(displayWidth(truncateToWidth("🚀🚀🚀", 4))).toBeLessThanOrEqual(4);
  });

  it("sorts azure-vm-ips by subscription name, resource group and VM (not by GUID), then a count line", async () => {
    const lines = await table("azure-vm-ips", vms, {
      fields: ["subscriptionName", "resourceGroup", "vmName"],
    });
    expect(lines.map((l) => l.split(/\s+/).join(" "))).toEqual([
      "subscriptionName resourceGroup vmName",
      "dev rg-a 東京-サーバー-🚀-long-name-of-a-virtual-machine",
      "Dev rg-b vm-1",
      "prod rg-app vm2",
      "prod rg-web vm2",
      "prod rg-web vm10",
      "5 items, 0 errors",
    ]);
  });

  it("sorts ec2-ips by account, region and instance; zoom by email; leak samples by time", async () => {
    const ec2 = await table(
      "ec2-ips",
      [
        { accountName: "prod", accountId: "2", region: "us-east-1", instanceId: "i-b" },
        { accountName: "dev", accountId: "3", region: "eu-west-1", instanceId: "i-z" },
        { accountName: "prod", accountId: "2", region: "eu-west-1", instanceId: "i-c" },
        { accountName: "prod", accountId: "2", region: "eu-west-1", instanceId: "i-a" },
      ],
      {},
    );
    expect(ec2.slice(1, -1).map((l) => l.split(/\s+/).slice(2).join(" "))).toEqual([
      "eu-west-1 i-z",
      "eu-west-1 i-a",
      "eu-west-1 i-c",
      "us-east-1 i-b",
    ]);
    const zoom = await table("zoom-licenses", [{ email: "b@x" }, { email: "C@x" }, { email: "a@x" }]);
    expect(zoom.slice(1, -1)).toEqual(["a@x", "b@x", "C@x"]);
    const leak = await table("leak-memory", [
      { t: "2026-11-27T12:00:02.000Z" },
      { t: "2026-11-27T12:00:01.000Z" },
    ]);
    expect(leak.slice(1, -1)).toEqual(["2026-11-27T12:00:01.000Z", "2026-11-27T12:00:02.000Z"]);
    const kept = await table("zoom-licenses", [{ email: "b@x" }, { email: "a@x" }], { sortBy: null });
    expect(kept.slice(1, -1)).toEqual(["b@x", "a@x"]);
  });

  it("strips terminal control sequences and control characters from cells", async () => {
    const lines = await table(
      "user-photos",
      HOSTILE.map((key, i) => ({ userPrincipalName: `u${i}@x`, key })),
      { columns: 200 },
    );
    const text = lines.join("\n");
    expect(text).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202e]/);
    expect(lines.slice(1, -1).map((l) => l.split(/\s{2,}/)[1])).toEqual([
      "red",
      "title",
      "link",
      "clear",
      "bellbackspace",
      "c1csi",
      "rtlevil",
      "tab here newline cr",
    ]);
    expect(sanitizeTerminalText(`${ESC}[1;31mx\u0000y`)).toBe("xy");
    const out = memorySink();
    await writeResults({
      format: "table",
      command: "c",
      items: fromArray([{ a: 1 }]),
      summary: () => ({ note: `${ESC}]0;title\u0007x` }),
      sink: out.sink,
    });
    expect(out.text().split("\n").at(-2)).toBe("1 item, 0 errors, note: x");
  });

  it("renders headers and cells as given when everything fits", () => {
    expect(
      renderTable(
        ["a", "bb"],
        [
          ["1", "2"],
          ["333", ""],
        ],
      ),
    ).toBe("a    bb\n1    2\n333\n");
  });
});

describe("-o csv formula injection", () => {
  it("prefixes a single quote to cells starting with = + - @ tab or CR, and nothing else", () => {
    for (const bad of ["=1+2", "+1", "-1", "@SUM(A1)", "\t=1", "\r=1", '=HYPERLINK("http://x")'])
      expect(neutralizeFormula(bad)).toBe(`'${bad}`);
    for (const ok of ["a=1", "1-2", "10.0.0.1", "fd00::1", "", " =1", "'x"])
      expect(neutralizeFormula(ok)).toBe(ok);
  });

  it("neutralises formula cells by default and round-trips them through a CSV parser", async () => {
    const out = memorySink();
    const items = [{ name: "=cmd|' /C calc'!A0", key: "@x", n: "-5", ok: "vm-1", tab: "\t=1+1", cr: "\r+1" }];
    await writeResults({ format: "csv", command: "c", items: fromArray(items), sink: out.sink });
    const [record] = parse(out.text(), { columns: true }) as Record<string, string>[];
    expect(record).toEqual({
      name: "'=cmd|' /C calc'!A0",
      key: "'@x",
      n: "'-5",
      ok: "vm-1",
      tab: "'\t=1+1",
      cr: "'\r+1",
    });
    const exact = memorySink();
    await writeResults({
      format: "csv",
      command: "c",
      items: fromArray(items),
      sink: exact.sink,
      csv: { escapeFormulas: false },
    });
    expect(parse(exact.text(), { columns: true })).toEqual(items);
  });
});
