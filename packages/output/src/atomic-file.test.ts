import { execFileSync } from "node:child_process";
import { createReadStream } from "node:fs";
import {
  chmod,
  lstat,
  mkdir,
  mkdtemp,
  readFile,
  readdir,
  rm,
  stat,
  symlink,
  writeFile,
} from "node:fs/promises";
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
    expect(temps[0]).toMatch(/^\.out\.json\.\d+-[0-9a-f]{12}\.tmp$/);
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

describe("special files and links at the target", () => {
  const isRoot = process.getuid?.() === 0;
  if (!isRoot) console.warn("skipping the character-device test: mknod needs root");

  it("writes a FIFO in place, streaming, and leaves it a FIFO", async () => {
    const fifo = join(dir, "pipe");
    execFileSync("mkfifo", [fifo]);
    const reader = new Promise<string>((resolve, reject) => {
      const out: Buffer[] = [];
      createReadStream(fifo)
        .on("data", (b) => out.push(b as Buffer))
        .on("end", () => resolve(Buffer.concat(out).toString("utf8")))
        .on("error", reject);
    });
    const sink = await createFileSink(fifo);
    await sink.write("hello ");
    await sink.write("fifo\n");
    await sink.commit();
    expect(await reader).toBe("hello fifo\n");
    expect((await lstat(fifo)).isFIFO()).toBe(true);
    expect((await readdir(dir)).sort()).toEqual(["pipe"]);
  });

  it.runIf(isRoot)(
    "writes a character device (and a symlink to one) in place, never replacing it",
    async () => {
      const device = join(dir, "null");
      execFileSync("mknod", [device, "c", "1", "3"]); // what /dev/null is, made inside our own folder
      const link = join(dir, "stdout-like");
      await symlink(device, link);
      for (const target of [device, link]) {
        // A whole-file atomic write would have to replace it: refused.
        await expect(writeFileAtomic(target, "x")).rejects.toMatchObject({ code: "ERR_USAGE" });
        const sink = await createFileSink(target);
        await sink.write("discarded\n");
        await sink.commit();
      }
      expect((await lstat(device)).isCharacterDevice()).toBe(true);
      expect((await lstat(link)).isSymbolicLink()).toBe(true);
      expect((await readdir(dir)).sort()).toEqual(["null", "stdout-like"]);
    },
  );

  it("keeps a symlink to a regular file and replaces the file it names", async () => {
    const real = join(dir, "real.json");
    const link = join(dir, "link.json");
    await writeFile(real, "old");
    await symlink(real, link);
    await writeFileAtomic(link, "new");
    expect((await lstat(link)).isSymbolicLink()).toBe(true);
    expect(await readFile(real, "utf8")).toBe("new");
  });

  it("noFollow replaces a planted link itself and never writes its target", async () => {
    const outside = await mkdtemp(join(tmpdir(), "cloudadmin-outside-"));
    const victim = join(outside, "victim.txt");
    await writeFile(victim, "precious");
    const planted = join(dir, "1001.jpg");
    await symlink(victim, planted);
    await writeFileAtomic(planted, "photo", { noFollow: true });
    expect(await readFile(victim, "utf8")).toBe("precious");
    expect((await lstat(planted)).isFile()).toBe(true);
    expect(await readFile(planted, "utf8")).toBe("photo");
    await rm(outside, { recursive: true, force: true });
  });

  it("noFollow refuses a special file at the name", async () => {
    const fifo = join(dir, "1002.jpg");
    execFileSync("mkfifo", [fifo]);
    await expect(writeFileAtomic(fifo, "photo", { noFollow: true })).rejects.toMatchObject({
      code: "ERR_USAGE",
    });
    expect((await lstat(fifo)).isFIFO()).toBe(true);
  });

  it("removes temp files a killed run left for the same target, and no others", async () => {
    const target = join(dir, "out.json");
    // pid 2^22+1 is above Linux's pid_max limit, so no live process has it.
    const stale = join(dir, `.out.json.${2 ** 22 + 1}-aaaaaaaaaaaa.tmp`);
    const live = join(dir, `.out.json.${process.ppid}-bbbbbbbbbbbb.tmp`);
    const other = join(dir, `.other.json.${2 ** 22 + 1}-cccccccccccc.tmp`);
    for (const f of [stale, live, other]) await writeFile(f, "partial");
    await writeFileAtomic(target, "done");
    expect((await readdir(dir)).sort()).toEqual(
      [
        ".other.json.4194305-cccccccccccc.tmp",
        `.out.json.${process.ppid}-bbbbbbbbbbbb.tmp`,
        "out.json",
      ].sort(),
    );
  });
});
