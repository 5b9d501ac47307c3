import { Readable } from "node:stream";
import { afterEach, describe, expect, it } from "vitest";
import { SteppingTimer } from "./fake-timer.test-helper.js";
import { type FixtureTree, fixtureTree, MiB, v2Files } from "./fixture-tree.test-helper.js";
import { startLeak } from "./leak.js";
import { LeakSampleError, readLeakSamples, type ReadLeakSamplesOptions } from "./samples.js";
import type { LeakSample } from "./types.js";

const trees: FixtureTree[] = [];
afterEach(() => {
  for (const t of trees.splice(0)) t.remove();
});

/** The samples of a real run (3 blocks, one failing) in a 100 MiB cgroup v2 fixture. */
async function realSamples(): Promise<LeakSample[]> {
  const t = fixtureTree({
    "proc/self/cgroup": "0::/\n",
    "proc/self/mountinfo": "40 30 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n",
    "proc/self/oom_score": "667\n",
    "proc/self/oom_score_adj": "0\n",
    "sys/fs/cgroup/cgroup.controllers": "memory pids\n",
    ...v2Files("sys/fs/cgroup", { max: 100 * MiB, current: 10 * MiB }),
  });
  trees.push(t);
  let calls = 0;
  const run = startLeak({
    blockBytes: MiB,
    fill: 0.5,
    maxBytes: 0,
    holdMs: 0,
    procRoot: t.proc,
    sysRoot: t.sys,
    rootDir: t.root,
    pageSize: 4096,
    touchMethod: "write",
    timer: new SteppingTimer(Date.UTC(2026, 11, 4)),
    allocate: (n) => {
      calls += 1;
      if (calls === 3) throw new RangeError("Array buffer allocation failed");
      return new Uint8Array(n);
    },
  });
  const out: LeakSample[] = [];
  for await (const s of run) out.push(s);
  return out;
}

/** The text in chunks of `size` bytes (splitting lines and multi-byte characters). */
function chunked(text: string, size: number): Readable {
  const bytes = Buffer.from(text, "utf8");
  const chunks: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += size) chunks.push(bytes.subarray(i, i + size));
  return Readable.from(chunks);
}

async function read(input: AsyncIterable<string | Uint8Array>, options?: ReadLeakSamplesOptions) {
  const samples: LeakSample[] = [];
  let error: unknown = null;
  try {
    for await (const s of readLeakSamples(input, options)) samples.push(s);
  } catch (e) {
    error = e;
  }
  return { samples, error: error as LeakSampleError | null };
}

const ndjson = (samples: unknown[]): string => samples.map((s) => `${JSON.stringify(s)}\n`).join("");

describe("readLeakSamples", () => {
  it("reads back what a run wrote, whatever the chunking", async () => {
    const samples = await realSamples();
    expect(samples.map((s) => s.phase)).toEqual([
      "start",
      "allocated",
      "touched",
      "allocated",
      "touched",
      "allocation-failed",
      "holding",
    ]);
    for (const size of [1, 7, 4096]) {
      const { samples: back, error } = await read(chunked(ndjson(samples), size));
      expect(error).toBeNull();
      expect(back).toEqual(samples);
    }
  });

  it("accepts blank lines, CRLF, a byte order mark, multi-byte text split across chunks, and string chunks", async () => {
    const [first, second] = await realSamples();
    const withText = { ...second!, phase: "allocation-failed", error: "RangeError: échec ✓" };
    const text = `\uFEFF${JSON.stringify(first)}\r\n\n  \n${JSON.stringify(withText)}`;
    const bytes = await read(chunked(text, 3));
    expect(bytes.error).toBeNull();
    expect(bytes.samples).toEqual([first, withText]);
    const strings = await read(Readable.from([text.slice(0, 10), text.slice(10)], { objectMode: true }));
    expect(strings.samples).toEqual([first, withText]);
  });

  it("keeps only the sample's fields: extra keys and __proto__ go", async () => {
    const [first] = await realSamples();
    const line = JSON.stringify({
      ...first,
      extra: "<script>",
      cgroup: { ...first!.cgroup, more: 1 },
    }).replace(/^\{/, '{"__proto__":{"polluted":true},');
    const { samples, error } = await read(Readable.from([`${line}\n`]));
    expect(error).toBeNull();
    expect(samples).toEqual([first]);
    expect(Object.keys(samples[0]!)).not.toContain("extra");
    expect(({} as { polluted?: boolean }).polluted).toBeUndefined();
    expect(Object.getPrototypeOf(samples[0])).toBe(Object.prototype);
  });

  it("ends at the first bad line with one error naming it, after yielding the good ones", async () => {
    const samples = await realSamples();
    const text = `${ndjson(samples.slice(0, 2))}{"t": oops}\n${ndjson(samples.slice(2))}`;
    const { samples: before, error } = await read(chunked(text, 64), { source: "run.ndjson" });
    expect(before).toEqual(samples.slice(0, 2));
    expect(error).toBeInstanceOf(LeakSampleError);
    expect(error!.line).toBe(3);
    expect(error!.code).toBe("ERR_INVALID_INPUT");
    expect(error!.message).toMatch(/^run\.ndjson line 3: not JSON \(/);
  });

  it("refuses values of the wrong type or range, naming the field", async () => {
    const [good] = await realSamples();
    const cases: Array<[unknown, RegExp]> = [
      [null, /not a JSON object/],
      [[good], /not a JSON object/],
      [42, /not a JSON object/],
      [{ ...good, t: "yesterday" }, /t must be an ISO 8601 UTC time \(got "yesterday"\)/],
      [{ ...good, t: "2026-13-45T99:00:00Z" }, /t must be/],
      [{ ...good, phase: "exploded" }, /phase must be one of start, allocated/],
      [{ ...good, block: -1 }, /block must be a whole number from 0 \(got -1\)/],
      [{ ...good, allocatedBytes: 1.5 }, /allocatedBytes must be a whole number/],
      [{ ...good, touchedBytes: "1" }, /touchedBytes must be a whole number from 0 \(got "1"\)/],
      [{ ...good, rssBytes: 1e300 }, /rssBytes/],
      [{ ...good, heapUsedBytes: undefined }, /heapUsedBytes must be a whole number from 0 \(got nothing\)/],
      [{ ...good, oomScore: -3 }, /oomScore must be/],
      [{ ...good, oomScoreAdj: 5000 }, /oomScoreAdj must be a whole number from -1000 to 1000 or null/],
      [{ ...good, cgroup: "v2" }, /cgroup must be an object/],
      [{ ...good, cgroup: { ...good!.cgroup, version: 3 } }, /cgroup.version must be 1, 2 or null/],
      [{ ...good, cgroup: { ...good!.cgroup, limitBytes: -5 } }, /cgroup.limitBytes must be/],
      [{ ...good, error: { message: "x" } }, /error must be a string/],
      [{ ...good, t: "x".repeat(500) }, /\(got "x{56}\.\.\.\)$/],
    ];
    for (const [value, message] of cases) {
      const { samples, error } = await read(
        Readable.from([`${JSON.stringify(good)}\n${JSON.stringify(value)}\n`]),
      );
      expect(samples, JSON.stringify(value)?.slice(0, 80)).toHaveLength(1);
      expect(error, JSON.stringify(value)?.slice(0, 80)).toBeInstanceOf(LeakSampleError);
      expect(error!.line).toBe(2);
      expect(error!.message).toMatch(/^samples line 2: /);
      expect(error!.message).toMatch(message);
    }
  });

  it("refuses a line longer than maxLineBytes as soon as it is, without reading the rest", async () => {
    let pulled = 0;
    async function* endless(): AsyncGenerator<string> {
      yield '{"t":"';
      for (;;) {
        pulled += 1;
        yield "a".repeat(1024);
      }
    }
    const { error } = await read(endless(), { maxLineBytes: 16 * 1024 });
    expect(error).toBeInstanceOf(LeakSampleError);
    expect(error!.message).toBe("samples line 1: longer than 16384 bytes: not a sample");
    expect(pulled).toBe(16);
  });

  it("refuses bytes that are not UTF-8", async () => {
    const { error } = await read(Readable.from([Buffer.from([0x7b, 0xff, 0xfe, 0x7d, 0x0a])]));
    expect(error!.message).toBe("samples line 1: not UTF-8 text");
  });

  it("an unterminated last line that is not JSON is refused, or dropped when allowTruncatedEnd", async () => {
    const samples = await realSamples();
    const text = `${ndjson(samples.slice(0, 3))}${JSON.stringify(samples[3]).slice(0, 40)}`;
    const strict = await read(chunked(text, 50));
    expect(strict.samples).toEqual(samples.slice(0, 3));
    expect(strict.error!.line).toBe(4);
    expect(strict.error!.message).toMatch(/line 4: the last line is incomplete/);
    const lenient = await read(chunked(text, 50), { allowTruncatedEnd: true });
    expect(lenient.error).toBeNull();
    expect(lenient.samples).toEqual(samples.slice(0, 3));
    // A complete last line without its newline is still read.
    const whole = await read(chunked(ndjson(samples).trimEnd(), 50));
    expect(whole.samples).toEqual(samples);
  });
});
