import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, readdir, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { writeFileAtomic } from "../src/index.js";

// The child runs the built package (dist/): `npm test` builds first; alone, build with
// `npx tsc -p packages/output/tsconfig.build.json`.
const fixture = fileURLToPath(new URL("./fixtures/interrupted-writer.mjs", import.meta.url));
const dist = fileURLToPath(new URL("../dist/index.js", import.meta.url));

let dir: string;

beforeAll(() => {
  if (!existsSync(dist)) throw new Error(`build @cloudadmin/output first: ${dist} is missing`);
});

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "cloudadmin-output-kill-"));
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Starts the writer, waits until it is mid-write, kills it with SIGKILL and waits for it to die. */
async function killMidWrite(target: string): Promise<NodeJS.Signals | null> {
  const child: ChildProcess = spawn(process.execPath, [fixture, target], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr?.on("data", (d: Buffer) => {
    stderr += d.toString();
  });
  const exited = new Promise<NodeJS.Signals | null>((resolve) =>
    child.once("exit", (_code, signal) => resolve(signal)),
  );
  await new Promise<void>((resolve, reject) => {
    let out = "";
    child.stdout?.on("data", (d: Buffer) => {
      out += d.toString();
      if (out.includes("mid-write")) resolve();
      if (out.includes("committed")) reject(new Error("the writer finished before it was killed"));
    });
    child.once("exit", (code) => reject(new Error(`writer exited early (${code}): ${stderr}`)));
  });
  child.kill("SIGKILL");
  return exited;
}

describe("a process killed mid-write", { timeout: 30_000 }, () => {
  it("leaves the old content at the target, byte for byte", async () => {
    const target = join(dir, "inventory.json");
    const old = `${JSON.stringify({ command: "ec2-ips", items: [{ id: "old" }] }, null, 2)}\n`;
    await writeFile(target, old);
    expect(await killMidWrite(target)).toBe("SIGKILL");
    expect(await readFile(target, "utf8")).toBe(old);
    // The new document was really being written: a partial temp file (at least 8 MiB) is left beside it.
    const temps = (await readdir(dir)).filter((name) => name !== "inventory.json");
    expect(temps).toHaveLength(1);
    expect((await stat(join(dir, temps[0]!))).size).toBeGreaterThanOrEqual(8 * 1024 * 1024);
  });

  it("leaves no file at the target when there was none", async () => {
    const target = join(dir, "inventory.json");
    expect(await killMidWrite(target)).toBe("SIGKILL");
    expect(existsSync(target)).toBe(false);
    const names = await readdir(dir);
    expect(names).toHaveLength(1);
    expect(names[0]).toMatch(/^\.inventory\.json\.\d+-[0-9a-f]{12}\.tmp$/);
  });

  it("the next run to the same target removes the killed run's temp file", async () => {
    const target = join(dir, "inventory.json");
    expect(await killMidWrite(target)).toBe("SIGKILL");
    expect(await readdir(dir)).toHaveLength(1);
    await writeFileAtomic(target, "{}\n");
    expect(await readdir(dir)).toEqual(["inventory.json"]);
  });
});
