#!/usr/bin/env node
// `npm run demo`: runs every job that is built against the embedded simulator (no credentials,
// no network), showing what each prints. Output goes to a temporary folder where a job writes files;
// each run's HTML report (--report) goes to a folder that is kept, printed at the end.
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
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
  // Who holds these IPs, across both clouds (the jobs run live against the simulator).
  [
    "ips find",
    [
      "ips",
      "find",
      "10.0.0.0/28",
      "10.1.0.0/28",
      "--live",
      "azure,aws",
      "--simulate",
      "-o",
      "table",
      ...report("ips-find"),
    ],
  ],
  // What changed between two ec2-ips runs (prepared below: an instance stopped, one gone, one recreated).
  [
    "ips diff",
    ["ips", "diff", join(work, "ec2-1.json"), join(work, "ec2-2.json"), "-o", "table", ...report("ips-diff")],
  ],
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
  if (name === "ips diff") {
    const first = join(work, "aws-1.json");
    const second = join(work, "aws-2.json");
    spawnSync(process.execPath, [
      bin,
      "sim",
      "dataset",
      "--scale",
      "small",
      "--seed",
      "1",
      "--services",
      "aws",
      "--out",
      first,
    ]);
    const dataset = JSON.parse(readFileSync(first, "utf8"));
    const list = Object.values(Object.values(dataset.aws.instances)[0]).find((l) => l.length >= 3);
    list[0].State = { Code: 80, Name: "stopped" };
    list[2] = { ...list[2], InstanceId: "i-0de7000000000abc1" };
    list.splice(1, 1);
    writeFileSync(second, JSON.stringify(dataset));
    for (const [data, out] of [
      [first, "ec2-1.json"],
      [second, "ec2-2.json"],
    ]) {
      const run = ["ec2-ips", "--simulate", "--sim-dataset", data, "-o", "json", "--out", join(work, out)];
      process.stdout.write(`\n$ cloudadmin ${run.join(" ").replaceAll(work, "$DEMO")}\n`);
      spawnSync(process.execPath, [bin, ...run], { stdio: ["ignore", "ignore", "inherit"], cwd: work });
    }
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
