import { chmod, mkdir, mkdtemp, readFile, readdir, rm, stat, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createFileSink, writeFileAtomic } from "./atomic-file.js";
import { writeResults } from "./write-results.js";

let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "cloudadmin-output-file-"));
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function* chunks(count: number, size: number) {
  for (let i = 0; i < count; i += 1) yield Buffer.alloc(size, 65 + (i % 26));
}

describe("createFileSink", () => {
  it("replaces the target only on commit, and leaves no temp file", async () => {
    const target = join(dir, "out.json");
    await writeFile(target, "old");
    const sink = await createFileSink(target);
    // The temp file lives in the target's folder (same file system, so the rename is atomic).
    const temps = (await readdir(dir)).filter((name) => name !== "out.json");
    expect(temps).toHaveLength(1);
    expect(temps[0]).toMatch(/^\.out\.json\.[0-9a-f]{12}\.tmp$/);
    const big = "x".repeat(200_000);
    await sink.write("new ");
    await sink.write(big);
    await sink.write(" end");
    expect(await readFile(target, "utf8")).toBe("old");
    await sink.commit();
    expect(await readFile(target, "utf8")).toBe(`new ${big} end`);
    expect(await readdir(dir)).toEqual(["out.json"]);
    expect(sink.describe()).toBe(target);
  });

  it("abort() leaves the old target untouched and removes the temp file", async () => {
    const target = join(dir, "out.csv");
    await writeFile(target, "old content\n");
    const sink = await createFileSink(target);
    await sink.write("a".repeat(300_000));
    await sink.abort();
    await sink.abort();
    expect(await readFile(target, "utf8")).toBe("old content\n");
    expect(await readdir(dir)).toEqual(["out.csv"]);
    await expect(sink.write("more")).rejects.toThrow(/aborted/);
  });

  it("abort() with no old file leaves nothing behind", async () => {
    const target = join(dir, "new.json");
    const sink = await createFileSink(target);
    await sink.write("partial");
    await sink.abort();
    expect(await readdir(dir)).toEqual([]);
  });

  it("a failed writeResults run leaves the old file in place", async () => {
    const target = join(dir, "ips.ndjson");
    await writeFile(target, '{"old":true}\n');
    async function* items() {
      for (let i = 0; i < 5_000; i += 1) yield { i, pad: "p".repeat(50) };
      throw new Error("account 42 failed hard");
    }
    await expect(
      writeResults({ format: "ndjson", command: "c", items: items(), sink: await createFileSink(target) }),
    ).rejects.toThrow("account 42 failed hard");
    expect(await readFile(target, "utf8")).toBe('{"old":true}\n');
    expect(await readdir(dir)).toEqual(["ips.ndjson"]);
  });

  it("keeps an existing file's permissions", async () => {
    const target = join(dir, "secret.json");
    await writeFile(target, "old");
    await chmod(target, 0o600);
    const sink = await createFileSink(target);
    await sink.write("new");
    await sink.commit();
    expect((await stat(target)).mode & 0o777).toBe(0o600);
  });

  it("writes through a symlink, keeping the link", async () => {
    await mkdir(join(dir, "real"));
    const real = join(dir, "real", "data.json");
    await writeFile(real, "old");
    const link = join(dir, "link.json");
    await symlink(real, link);
    const sink = await createFileSink(link);
    await sink.write("new");
    await sink.commit();
    expect(await readFile(real, "utf8")).toBe("new");
    expect((await stat(link)).isFile()).toBe(true);
    expect(await readFile(link, "utf8")).toBe("new");
    expect((await readdir(join(dir, "real"))).sort()).toEqual(["data.json"]);
  });

  it("reports a missing folder as a usage error and a directory target as well, before any work", async () => {
    await expect(createFileSink(join(dir, "nope", "out.json"))).rejects.toMatchObject({
      code: "ERR_USAGE",
      message: expect.stringContaining("folder does not exist"),
    });
    await expect(createFileSink(dir)).rejects.toMatchObject({
      code: "ERR_USAGE",
      message: expect.stringContaining("is a directory"),
    });
  });
});

describe("writeFileAtomic", () => {
  it("writes a Buffer and returns its size", async () => {
    const target = join(dir, "photo.jpg");
    const data = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 1, 2, 3]);
    expect(await writeFileAtomic(target, data)).toBe(8);
    expect(await readFile(target)).toEqual(data);
    expect(await readdir(dir)).toEqual(["photo.jpg"]);
  });

  it("writes a stream of chunks in order", async () => {
    const target = join(dir, "big.bin");
    const written = await writeFileAtomic(target, chunks(40, 10_000));
    expect(written).toBe(400_000);
    const content = await readFile(target);
    expect(content.length).toBe(400_000);
    expect(content[0]).toBe(65);
    expect(content[10_000]).toBe(66);
    expect(content[399_999]).toBe(65 + (39 % 26));
  });

  it("leaves the old file and no temp file when the stream fails", async () => {
    const target = join(dir, "photo.jpg");
    await writeFile(target, "old photo");
    async function* failing() {
      yield Buffer.alloc(100_000, 1);
      throw new Error("connection reset");
    }
    await expect(writeFileAtomic(target, failing())).rejects.toThrow("connection reset");
    expect(await readFile(target, "utf8")).toBe("old photo");
    expect(await readdir(dir)).toEqual(["photo.jpg"]);
  });

  it("stops on abort and leaves the target untouched", async () => {
    const target = join(dir, "photo.jpg");
    await writeFile(target, "old photo");
    const controller = new AbortController();
    async function* slow() {
      yield Buffer.alloc(10, 1);
      controller.abort();
      yield Buffer.alloc(10, 2);
    }
    await expect(writeFileAtomic(target, slow(), { signal: controller.signal })).rejects.toMatchObject({
      code: "ERR_ABORTED",
    });
    expect(await readFile(target, "utf8")).toBe("old photo");
    expect(await readdir(dir)).toEqual(["photo.jpg"]);
  });
});
