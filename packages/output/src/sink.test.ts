import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { stdoutSink } from "./sink.js";

/** A stream whose writes complete only when the test releases them. */
function gatedStream() {
  const written: string[] = [];
  const gates: Array<() => void> = [];
  const stream = new Writable({
    highWaterMark: 4,
    decodeStrings: false,
    write(chunk: string, _encoding, callback) {
      written.push(chunk);
      gates.push(() => callback());
    },
  });
  return { stream, written, release: () => gates.shift()?.() };
}

describe("stdoutSink", () => {
  it("waits for drain when the stream is full, and commit waits for the flush", async () => {
    const { stream, written, release } = gatedStream();
    const sink = stdoutSink(stream);
    let settled = false;
    const pending = sink.write("0123456789").then(() => {
      settled = true;
    });
    await new Promise((resolve) => setImmediate(resolve));
    expect(settled).toBe(false);
    release();
    await pending;
    expect(settled).toBe(true);
    let committed = false;
    await sink.write("ab");
    const commit = sink.commit().then(() => {
      committed = true;
    });
    await new Promise((resolve) => setImmediate(resolve));
    expect(committed).toBe(false);
    release();
    release();
    await commit;
    expect(written.join("")).toBe("0123456789ab");
    expect(sink.describe()).toBe("stdout");
  });

  it("turns a stream error (EPIPE) into a rejected write instead of a crash", async () => {
    const stream = new Writable({
      write(_chunk, _encoding, callback) {
        callback(Object.assign(new Error("write EPIPE"), { code: "EPIPE" }));
      },
    });
    const sink = stdoutSink(stream, { name: "pipe" });
    await sink.write("first").catch(() => undefined);
    await new Promise((resolve) => setImmediate(resolve));
    await expect(sink.write("second")).rejects.toMatchObject({ code: "EPIPE" });
    await sink.abort();
    expect(sink.describe()).toBe("pipe");
  });
});
