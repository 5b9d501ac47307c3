import { execFile } from "node:child_process";
import { mkdtemp, readFile, readdir, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import {
  AuthError,
  CloudAdminError,
  ConfigError,
  PartialFailureError,
  RemoteError,
  UsageError,
} from "@cloudadmin/errors";
import { describe, expect, it } from "vitest";
import { checkEndpoint } from "../src/endpoints.js";
import { ExitCode, exitCodeFor, exitCodeForScopes } from "../src/exit-codes.js";
import { normaliseSimulateFlag } from "../src/globals.js";
import { runCli } from "./helpers.js";

const bin = new URL("../bin/cloudadmin.js", import.meta.url).pathname;

describe("cloudadmin (in-process)", () => {
  it("--help lists the commands and the global options", async () => {
    const r = await runCli(["--help"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/Usage: cloudadmin/);
    expect(r.stdout).toMatch(/\bsim\b/);
    for (const flag of [
      "--output",
      "--out",
      "--concurrency",
      "--timeout",
      "--max-retries",
      "--no-progress",
      "--simulate",
      "--sim-dataset",
    ]) {
      expect(r.stdout).toContain(flag);
    }
  });

  it("a bad --output value exits 2 with one line naming it", async () => {
    const r = await runCli(["--output", "xml", "sim", "dataset"]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe("");
    const lines = r.stderr.trim().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^cloudadmin: .*'xml'.*invalid/);
  });

  it("an unknown command exits 2", async () => {
    const r = await runCli(["frobnicate"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/unknown command 'frobnicate'/);
  });

  it("sim dataset prints a valid, seeded dataset; the same seed gives the same JSON", async () => {
    const a = await runCli(["sim", "dataset", "--seed", "3"]);
    const b = await runCli(["sim", "dataset", "--seed", "3", "--scale", "small"]);
    expect(a.code, a.stderr).toBe(0);
    expect(a.stdout).toBe(b.stdout);
    const { validateDataset } = await import("@cloudadmin/cloud-sim");
    expect(() => validateDataset(JSON.parse(a.stdout))).not.toThrow();
  });

  it("global options are accepted before or after the command", async () => {
    const dir = await mkdtemp(join(tmpdir(), "cli-"));
    const before = await runCli(["--out", join(dir, "a.json"), "sim", "dataset", "--seed", "4"]);
    const after = await runCli(["sim", "dataset", "--seed", "4", "--out", join(dir, "b.json")]);
    expect([before.code, after.code]).toEqual([0, 0]);
    expect(before.stdout).toBe("");
    expect(await readFile(join(dir, "a.json"), "utf8")).toBe(await readFile(join(dir, "b.json"), "utf8"));
    expect((await readdir(dir)).sort()).toEqual(["a.json", "b.json"]);
  });

  it("bad numbers in global options exit 2 and say which flag", async () => {
    for (const [flag, value] of [
      ["--concurrency", "0"],
      ["--concurrency", "abc"],
      ["--timeout", "-1"],
      ["--max-retries", "1.5"],
    ] as const) {
      const r = await runCli(["sim", "dataset", flag, value]);
      expect(r.code, `${flag} ${value}`).toBe(2);
      expect(r.stderr).toContain(flag);
    }
  });

  it("--sim-dataset without --simulate is a usage error", async () => {
    const r = await runCli(["sim", "dataset", "--sim-dataset", "x.json"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--sim-dataset needs --simulate/);
  });

  it("sim serve rejects a bad dataset with the JSON path, exit 2", async () => {
    const dir = await mkdtemp(join(tmpdir(), "cli-"));
    const file = join(dir, "bad.json");
    await writeFile(file, JSON.stringify({ aws: {}, gcp: {} }));
    const r = await runCli(["sim", "serve", "--dataset", file]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/\$\.gcp is not a known key/);
  });

  it("sim serve prints export lines and stops on abort", async () => {
    const controller = new AbortController();
    const pending = runCli(["sim", "serve", "--services", "aws"], { signal: controller.signal });
    await new Promise((r) => setTimeout(r, 300));
    controller.abort();
    const r = await pending;
    expect(r.stdout).toMatch(/^export NODE_EXTRA_CA_CERTS=/m);
    expect(r.code).toBe(130);
  });
});

describe("exit codes", () => {
  it("maps every error class to SPEC section 5", () => {
    expect(exitCodeFor(new UsageError("x"))).toBe(ExitCode.usage);
    expect(exitCodeFor(new ConfigError("x"))).toBe(ExitCode.auth);
    expect(exitCodeFor(new AuthError("x"))).toBe(ExitCode.auth);
    expect(exitCodeFor(new RemoteError("x"))).toBe(ExitCode.remote);
    expect(exitCodeFor(new PartialFailureError("x", []))).toBe(ExitCode.partial);
    expect(exitCodeFor(new CloudAdminError("ERR_ABORTED", "x"))).toBe(ExitCode.interrupted);
    expect(exitCodeFor(new TypeError("bug"))).toBe(ExitCode.internal);
    expect([exitCodeForScopes(3, 0), exitCodeForScopes(3, 1), exitCodeForScopes(0, 2)]).toEqual([0, 5, 4]);
  });

  it("refuses plain http to non-loopback endpoints with a config error", () => {
    expect(checkEndpoint("http://127.0.0.1:4566", "x").port).toBe("4566");
    expect(checkEndpoint("http://localhost:1", "x").hostname).toBe("localhost");
    expect(checkEndpoint("http://[::1]:8", "x").hostname).toBe("[::1]");
    expect(checkEndpoint("https://management.azure.com", "x").protocol).toBe("https:");
    expect(() => checkEndpoint("http://10.0.0.5:80", "--arm-endpoint")).toThrow(ConfigError);
    expect(() => checkEndpoint("ftp://x", "--arm-endpoint")).toThrow(UsageError);
  });

  it("gives --simulate its default before a command name", () => {
    expect(normaliseSimulateFlag(["--simulate", "ec2-ips"])).toEqual(["--simulate=small", "ec2-ips"]);
    expect(normaliseSimulateFlag(["ec2-ips", "--simulate", "large"])).toEqual([
      "ec2-ips",
      "--simulate",
      "large",
    ]);
    expect(normaliseSimulateFlag(["ec2-ips", "--simulate"])).toEqual(["ec2-ips", "--simulate=small"]);
  });
});

describe("the built binary", () => {
  it("runs --version and exits 2 on a bad option", async () => {
    const exec = promisify(execFile);
    const { stdout } = await exec(process.execPath, [bin, "--version"]);
    expect(stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
    const failed = await exec(process.execPath, [bin, "-o", "xml", "sim", "dataset"]).catch(
      (e: { code: number; stderr: string }) => e,
    );
    expect((failed as { code: number }).code).toBe(2);
  });
});

describe("--out {timestamp}", () => {
  it("expands to the run's UTC time, safe in file and blob names", async () => {
    const { expandOutTarget } = await import("../src/context.js");
    expect(
      expandOutTarget(
        "https://a.blob.core.windows.net/c/vm-ips/{timestamp}.json",
        new Date("2026-11-28T02:15:07.123Z"),
      ),
    ).toBe("https://a.blob.core.windows.net/c/vm-ips/2026-11-28T02-15-07Z.json");
    const dir = await mkdtemp(join(tmpdir(), "cli-"));
    const r = await runCli([
      "sim",
      "dataset",
      "--services",
      "zoom",
      "--out",
      join(dir, "ds-{timestamp}.json"),
    ]);
    expect(r.code, r.stderr).toBe(0);
    const [name] = await readdir(dir);
    expect(name).toMatch(/^ds-\d{4}-\d\d-\d\dT\d\d-\d\d-\d\dZ\.json$/);
  });
});
