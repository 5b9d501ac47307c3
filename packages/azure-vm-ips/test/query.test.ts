import { createRequire } from "node:module";
import { describe, expect, it } from "vitest";
import { type VmIpQueryOptions, buildVmIpQuery } from "../src/query.js";

// The official Kusto parser (the one ADX and the portal use); it is a global-script bundle.
const require = createRequire(import.meta.url);
require("@kusto/language-service-next/bridge.js");
require("@kusto/language-service-next/Kusto.Language.Bridge.js");
interface Diagnostic {
  Severity: string;
  Message: string;
  Start: number;
}
const Kusto = (
  globalThis as unknown as {
    Kusto: {
      Language: {
        KustoCode: {
          Parse(text: string): { GetDiagnostics(): { Count: number; getItem(i: number): Diagnostic } };
        };
      };
    };
  }
).Kusto;

function diagnostics(query: string): string[] {
  const list = Kusto.Language.KustoCode.Parse(query).GetDiagnostics();
  const out: string[] = [];
  for (let i = 0; i < list.Count; i++) {
    const d = list.getItem(i);
    out.push(`${d.Severity} at ${d.Start}: ${d.Message}`);
  }
  return out;
}

/** Operators outside string literals (the query has no comments). */
function count(query: string, pattern: RegExp): number {
  const code = query.replace(/'[^']*'/g, "''");
  return (code.match(pattern) ?? []).length;
}

describe("the inventory query", () => {
  const variants: VmIpQueryOptions[] = [
    ...[true, false].map((includeClassic) => ({ includeClassic })),
    ...(["grouped", "per-ip"] as const).flatMap((shape) =>
      (["resources", "uniform"] as const).map((table) => ({ includeClassic: true, shape, table })),
    ),
    { includeClassic: true, scaleSets: false },
  ];
  for (const variant of variants) {
    const includeClassic = JSON.stringify(variant);
    const query = buildVmIpQuery(variant);

    it(`uses only functions from ARG's documented queries (${includeClassic})`, () => {
      const code = query.replace(/'[^']*'/g, "''");
      const called = new Set([...code.matchAll(/(?<![=\w])([a-z_]+)\s*\(/g)].map((m) => m[1]));
      const documented = [
        "tolower",
        "tostring",
        "pack",
        "make_list",
        "coalesce",
        "array_length",
        "iff",
        "dynamic",
        "isnotempty",
        "isempty",
      ];
      expect([...called].filter((f) => !documented.includes(f as string))).toEqual([]);
      if (variant.shape === "per-ip") expect(code).not.toMatch(/\bsummarize\b|\bpack\(/);
    });

    it(`parses without diagnostics in the Kusto language service (classic ${includeClassic})`, () => {
      expect(diagnostics(query)).toEqual([]);
    });

    it(`stays within Resource Graph's documented limits (classic ${includeClassic})`, () => {
      const joins = count(query, /\|\s*join\b/g);
      expect(joins).toBe(3);
      // At most one cross-table join unless all are Resources<->ResourceContainers: ours is the only one.
      expect(count(query, /\bResourceContainers\b/g)).toBe(1);
      expect(count(query, /\bkind=(leftouter|inner|innerunique)\b/g)).toBe(joins);
      // The documentation has said both 2 and 3 mv-expand per query: stay under the stricter one.
      expect(count(query, /\|\s*mv-expand\b/g)).toBeLessThanOrEqual(2);
      // Every mv-expand names its row cap (the default 128 would drop IP configurations); 400 is the maximum.
      const limits = [...query.matchAll(/mv-expand[^|]*\blimit\s+(\d+)/g)].map((m) => Number(m[1]));
      expect(limits).toEqual([400]);
      // Paging needs `id` at the top level and no top-level summarize (ARG gives those a first page only).
      const top = query
        .split("\n")
        .filter((l) => l.startsWith("| "))
        .map((l) => l.slice(2).split(/\s/)[0]);
      expect(top).not.toContain("summarize");
      expect(query).toMatch(/\| project id, /);
      expect(top.at(-1)).toBe("order");
    });
  }

  it("joins by lower-cased IDs and keeps every NIC and IP configuration", () => {
    const query = buildVmIpQuery({ includeClassic: true });
    expect(query).toContain("vmKey = tolower(id)");
    expect(query).toContain("vmKey = tolower(tostring(properties.virtualMachine.id))");
    expect(query).toContain("publicIpKey = tolower(tostring(ipconfig.properties.publicIPAddress.id))");
    expect(query).toContain("publicIpKey = tolower(id)");
    expect(query).not.toMatch(/primary\s*=~/);
    expect(query).toContain("'microsoft.classiccompute/virtualmachines'");
    expect(buildVmIpQuery({ includeClassic: false }).split("\n")[1]).toBe(
      "| where type in~ ('microsoft.compute/virtualmachines')",
    );
  });
});
