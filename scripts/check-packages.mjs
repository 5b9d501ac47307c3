#!/usr/bin/env node
// Checks that every library under packages/ would publish cleanly: publint (package.json, exports,
// files) and are-the-types-wrong (types resolve for ESM consumers; these packages are ESM-only).
import { spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { join } from "node:path";

const root = new URL("..", import.meta.url).pathname;
const dirs = readdirSync(join(root, "packages")).map((d) => join("packages", d));
let failed = 0;
for (const dir of dirs) {
  for (const [tool, args] of [
    ["publint", ["publint", "--strict", dir]],
    ["attw", ["attw", "--pack", dir, "--profile", "esm-only", "--format", "ascii"]],
  ]) {
    const r = spawnSync("npx", ["--no-install", ...args], { cwd: root, encoding: "utf8" });
    if (r.status !== 0) {
      failed++;
      process.stderr.write(`${tool} ${dir}: FAILED\n${r.stdout}${r.stderr}\n`);
    } else process.stdout.write(`${tool} ${dir}: ok\n`);
  }
}
process.exitCode = failed ? 1 : 0;
