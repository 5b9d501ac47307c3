import { once } from "node:events";

/**
 * Where a result document goes: stdout, a file (atomic) or an Azure blob (uploaded on commit).
 *
 * A sink receives the document in chunks with {@link Sink.write}, then exactly one of
 * {@link Sink.commit} (the document is complete: make it visible) or {@link Sink.abort} (the run failed
 * or was interrupted: leave the target as it was). Both are idempotent once called, and a sink cannot be
 * written to after either.
 */
export interface Sink {
  /** Appends a chunk of the document. Resolves when the sink can take more (backpressure). */
  write(chunk: string): Promise<void>;
  /** Makes the whole document visible at the target (rename, upload, flush). */
  commit(): Promise<void>;
  /** Discards what was written; the target keeps its previous content (or stays absent). */
  abort(): Promise<void>;
  /** A printable name of the target, with secrets (SAS signatures) removed. */
  describe(): string;
}

/** Anything text can be written to, such as `process.stderr` or a test buffer. */
export interface TextWriter {
  write(chunk: string): unknown;
}

/**
 * A sink over an already open stream (normally `process.stdout`). Writes honour backpressure; `commit`
 * waits until what was written has been handed to the operating system and never closes the stream;
 * `abort` stops further writes (what was already printed stays printed). A stream error (such as `EPIPE`
 * when the reader went away) rejects the next write instead of crashing the process.
 *
 * @example
 * ```ts
 * import { stdoutSink, writeResults } from "@cloudadmin/output";
 * await writeResults({ format: "ndjson", command: "ec2-ips", items: listEc2Ips(options), sink: stdoutSink(process.stdout) });
 * ```
 */
export function stdoutSink(stream: NodeJS.WritableStream, options: { name?: string } = {}): Sink {
  const name = options.name ?? "stdout";
  let failure: Error | undefined;
  let closed = false;
  const onError = (error: Error): void => {
    failure ??= error;
  };
  stream.on("error", onError);
  const check = (): void => {
    if (failure) throw failure;
    if (closed) throw new Error(`${name}: write after commit or abort`);
  };
  return {
    async write(chunk: string): Promise<void> {
      check();
      if (chunk.length === 0) return;
      if (!stream.write(chunk)) {
        // Wait for drain, but also wake up on error or close so a dead pipe does not hang the writer.
        const done = new AbortController();
        try {
          await Promise.race([
            once(stream, "drain", { signal: done.signal }),
            once(stream, "close", { signal: done.signal }),
          ]);
        } catch (error) {
          failure ??= error instanceof Error ? error : new Error(String(error));
        } finally {
          done.abort();
        }
        check();
      }
    },
    async commit(): Promise<void> {
      if (closed) return;
      check();
      await new Promise<void>((resolve, reject) => {
        stream.write("", (error) => (error ? reject(error) : resolve()));
      });
      closed = true;
      stream.off("error", onError);
      if (failure) throw failure;
    },
    async abort(): Promise<void> {
      closed = true;
      stream.off("error", onError);
    },
    describe: () => name,
  };
}
