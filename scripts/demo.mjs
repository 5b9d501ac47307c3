#!/usr/bin/env node
// `npm run demo`: runs every job that is built against the embedded simulator (no credentials,
// no network), showing what each prints. Output goes to a temporary folder where a job writes files.
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const bin = new URL("../apps/cli/bin/cloudadmin.js", import.meta.url).pathname;
const work = mkdtempSync(join(tmpdir(), "cloudadmin-demo-"));
const help = spawnSync(process.execPath, [bin, "--help"], { encoding: "utf8" }).stdout;
const available = new Set([...help.matchAll(/^ {2}([a-z][\w-]*)\s/gm)].map((m) => m[1]));

const demos = [
  ["azure-vm-ips", ["azure-vm-ips", "--simulate", "-o", "table"]],
  ["ec2-ips", ["ec2-ips", "--simulate", "-o", "table"]],
  ["user-photos", ["user-photos", "--simulate", "--out-dir", join(work, "photos"), "-o", "table"]],
  ["zoom-licenses", ["zoom-licenses", "--simulate", "-o", "table"]],
  ["leak-memory", ["leak-memory", "--max-mb", "64", "--block-mb", "16", "--fill", "0.5", "--hold", "0s"]],
  ["doctor", ["doctor", "--simulate", "-o", "table"]],
  [
    "sim",
    [
      "sim",
      "dataset",
      "--scale",
      "small",
      "--seed",
      "1",
      "--services",
      "zoom",
      "--out",
      join(work, "dataset.json"),
    ],
  ],
];

let failed = 0;
for (const [name, args] of demos) {
  if (!available.has(name)) {
    process.stdout.write(`\n# ${name}: not built yet, skipped\n`);
    continue;
  }
  process.stdout.write(`\n$ cloudadmin ${args.join(" ").replaceAll(work, "$DEMO")}\n`);
  const r = spawnSync(process.execPath, [bin, ...args], {
    stdio: ["ignore", "inherit", "inherit"],
    cwd: work,
  });
  if (r.status !== 0) {
    failed++;
    process.stdout.write(`# ${name} exited ${r.status}\n`);
  }
}
rmSync(work, { recursive: true, force: true });
process.stdout.write(failed ? `\n${failed} demo(s) failed\n` : "\nall demos ran\n");
process.exitCode = failed ? 1 : 0;
