#!/usr/bin/env node
// `npm run demo`: runs every job that is built against the embedded simulator (no credentials,
// no network), showing what each prints. Output goes to a temporary folder where a job writes files;
// each run's HTML report (--report) goes to a folder that is kept, printed at the end.
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const bin = new URL("../apps/cli/bin/cloudadmin.js", import.meta.url).pathname;
const work = mkdtempSync(join(tmpdir(), "cloudadmin-demo-"));
const reports = mkdtempSync(join(tmpdir(), "cloudadmin-reports-"));
const report = (name) => ["--report", join(reports, `${name}.html`)];
const samples = join(work, "leak-samples.ndjson");
const help = spawnSync(process.execPath, [bin, "--help"], { encoding: "utf8" }).stdout;
const available = new Set([...help.matchAll(/^ {2}([a-z][\w-]*)\s/gm)].map((m) => m[1]));

const demos = [
  ["azure-vm-ips", ["azure-vm-ips", "--simulate", "-o", "table", ...report("azure-vm-ips")]],
  ["ec2-ips", ["ec2-ips", "--simulate", "-o", "table", ...report("ec2-ips")]],
  [
    "user-photos",
    // The photos sit beside the reports, which link the larger ones by relative path.
    [
      "user-photos",
      "--simulate",
      "--out-dir",
      join(reports, "photos"),
      "-o",
      "table",
      ...report("user-photos"),
    ],
  ],
  ["zoom-licenses", ["zoom-licenses", "--simulate", "-o", "table", ...report("zoom-licenses")]],
  ["leak-memory", ["leak-memory", "--max-mb", "64", "--block-mb", "16", "--fill", "0.5", "--hold", "0s"]],
  // A leak run's --json samples, then their report (what to do after an OOM kill).
  ["leak-memory report", ["leak-memory", "report", samples, ...report("leak-memory")]],
  ["doctor", ["doctor", "--simulate", "-o", "table", ...report("doctor")]],
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
  if (!available.has(name.split(" ")[0])) {
    process.stdout.write(`\n# ${name}: not built yet, skipped\n`);
    continue;
  }
  if (name === "leak-memory report") {
    const leak = [
      "leak-memory",
      "--max-mb",
      "64",
      "--block-mb",
      "16",
      "--fill",
      "0.5",
      "--hold",
      "0s",
      "--json",
    ];
    process.stdout.write(`\n$ cloudadmin ${leak.join(" ")} > $DEMO/leak-samples.ndjson\n`);
    const r = spawnSync(process.execPath, [bin, ...leak], { encoding: "utf8", cwd: work });
    writeFileSync(samples, r.stdout);
  }
  process.stdout.write(
    `\n$ cloudadmin ${args.join(" ").replaceAll(work, "$DEMO").replaceAll(reports, "$REPORTS")}\n`,
  );
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
const written = existsSync(reports) ? readdirSync(reports).filter((f) => f.endsWith(".html")) : [];
process.stdout.write(`\nREPORTS=${reports}: open these in a browser (no network needed)\n`);
for (const file of written.sort()) process.stdout.write(`  ${join(reports, file)}\n`);
process.stdout.write(failed ? `\n${failed} demo(s) failed\n` : "\nall demos ran\n");
process.exitCode = failed ? 1 : 0;
