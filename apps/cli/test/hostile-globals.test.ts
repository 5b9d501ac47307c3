import { execFileSync } from "node:child_process";
import { lstat, mkdtemp, readFile, readdir, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runCli } from "./helpers.js";

// Every target below is made inside the test's own temporary folder; nothing under /dev is touched.
async function tempDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), "cloudadmin-hostile-"));
}

describe("global flags a careless or hostile user gives", () => {
  it("refuses an option value that is another flag, and writes no file named after it", async () => {
    const cwd = await tempDir();
    const r = await runCli(["ec2-ips", "--out", "--simulate"], { cwd });
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toMatch(/--out needs a value, but got the flag '--simulate'/);
    expect(await readdir(cwd)).toEqual([]);
  });

  it("takes --out=./--name as meant", async () => {
    const cwd = await tempDir();
    const r = await runCli(["ec2-ips", "--simulate", "--out=./--name.json"], { cwd });
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(await readFile(join(cwd, "--name.json"), "utf8")).command).toBe("ec2-ips");
  });

  it.each([
    ["0.0001", "rounds to no timeout"],
    ["0", "zero"],
    ["3000000", "overflows Node's timers"],
    ["1e3", "not plain seconds"],
    ["-5", "negative"],
  ])("refuses --timeout %s (%s) with exit 2", async (value) => {
    const r = await runCli(["ec2-ips", "--simulate", "--timeout", value]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--timeout must be a number of seconds from 0.01 to 86400/);
  });

  it("accepts the ends of the --timeout range", async () => {
    for (const value of ["0.01", "86400"]) {
      const r = await runCli(["sim", "dataset", "--scale", "small", "--timeout", value]);
      expect(r.code, r.stderr).toBe(0);
    }
  });

  it("refuses -q with -v", async () => {
    const r = await runCli(["-q", "ec2-ips", "-v", "--simulate"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/cannot go together/);
  });

  it("--out https:// is a usage error (exit 2), not an internal one", async () => {
    const r = await runCli(["ec2-ips", "--simulate", "--out", "https://"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/https:\/\/ is not a valid URL/);
  });

  it("help for a command that does not exist exits 2", async () => {
    const r = await runCli(["help", "nosuch"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/no command 'nosuch'/);
    expect((await runCli(["help", "sim"])).code).toBe(0);
  });

  it("-o json --out - writes the document to stdout", async () => {
    const cwd = await tempDir();
    const r = await runCli(["ec2-ips", "--simulate", "--out", "-"], { cwd });
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).command).toBe("ec2-ips");
    expect(await readdir(cwd)).toEqual([]);
  });

  it("on a non-TTY, the first stderr line of a failed run is the error, not the status line", async () => {
    const r = await runCli(["ec2-ips", "--simulate", "--out", "https://"], { stderrTTY: false });
    expect(r.stderr.split("\n")[0]).toMatch(/^cloudadmin: ec2-ips: /);
  });
});

describe("--out onto special files and links", () => {
  const isRoot = process.getuid?.() === 0;
  if (!isRoot) console.warn("skipping the character-device test: mknod needs root");

  it.runIf(isRoot)(
    "writes a character device in place and never replaces it (nor a link to it)",
    async () => {
      const dir = await tempDir();
      const device = join(dir, "null");
      execFileSync("mknod", [device, "c", "1", "3"]);
      const link = join(dir, "stdout-link");
      await symlink(device, link);
      for (const target of [device, link]) {
        const r = await runCli(["ec2-ips", "--simulate", "--out", target]);
        expect(r.code, r.stderr).toBe(0);
      }
      expect((await lstat(device)).isCharacterDevice()).toBe(true);
      expect((await lstat(link)).isSymbolicLink()).toBe(true);
      expect((await readdir(dir)).sort()).toEqual(["null", "stdout-link"]);
    },
  );

  it("writes through a symlink to a regular file and keeps the link", async () => {
    const dir = await tempDir();
    await writeFile(join(dir, "real.json"), "old");
    await symlink(join(dir, "real.json"), join(dir, "link.json"));
    const r = await runCli(["ec2-ips", "--simulate", "--out", join(dir, "link.json")]);
    expect(r.code, r.stderr).toBe(0);
    expect((await lstat(join(dir, "link.json"))).isSymbolicLink()).toBe(true);
    expect(JSON.parse(await readFile(join(dir, "real.json"), "utf8")).command).toBe("ec2-ips");
  });
});

describe("a failed run never replaces earlier output", () => {
  // A loopback port where nothing listens: every request is refused at once (no retries asked for).
  const deadAws = {
    AWS_ENDPOINT_URL: "http://127.0.0.1:9",
    AWS_ACCESS_KEY_ID: "AKIAEXAMPLE",
    AWS_SECRET_ACCESS_KEY: "secret-example",
    AWS_REGION: "us-east-1",
  };
  const deadArm = { CLOUDADMIN_ARM_ENDPOINT: "http://127.0.0.1:9", CLOUDADMIN_ARM_TOKEN: "token-example" };

  it.each([
    ["ec2-ips", deadAws],
    ["azure-vm-ips", deadArm],
  ] as const)("%s: exit 4 leaves the good file untouched and prints no document", async (command, env) => {
    const dir = await tempDir();
    const good = join(dir, "good.json");
    const first = await runCli([command, "--simulate", "--out", good]);
    expect(first.code, first.stderr).toBe(0);
    const before = await readFile(good, "utf8");
    expect(JSON.parse(before).items.length).toBeGreaterThan(0);

    const failed = await runCli([command, "--max-retries", "0", "--out", good], { env });
    expect(failed.code, failed.stderr).toBe(4);
    expect(await readFile(good, "utf8")).toBe(before);
    expect(await readdir(dir)).toEqual(["good.json"]);

    const toStdout = await runCli([command, "--max-retries", "0", "-o", "json"], { env });
    expect(toStdout.code).toBe(4);
    expect(toStdout.stdout).toBe("");
  });
});
