import { randomBytes } from "node:crypto";
import { type FileHandle, open, realpath, rename, stat, unlink } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { AbortedError, CloudAdminError, ConfigError, UsageError } from "@cloudadmin/errors";
import type { Sink } from "./sink.js";

/** Writes are gathered up to this size before a write(2), so ndjson's one-line chunks stay cheap. */
const FLUSH_BYTES = 64 * 1024;

type State = "open" | "committed" | "aborted";

/**
 * A file that becomes visible at its target only when committed: bytes go to a temp file in the target's
 * folder (so the final rename stays on one file system and is atomic), which is fsynced, renamed over
 * the target, and the folder fsynced. Until then the target keeps its old content or stays absent,
 * whatever happens to the process. On abort the temp file is removed.
 */
class AtomicFile {
  private state: State = "open";
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private tail: Promise<void> = Promise.resolve();
  private failure: unknown;
  bytesWritten = 0;

  private constructor(
    readonly target: string,
    private readonly finalPath: string,
    readonly tempPath: string,
    private readonly handle: FileHandle,
  ) {}

  /** Creates the temp file now, so a missing folder or a permission problem surfaces before any work. */
  static async open(target: string, options: { mode?: number } = {}): Promise<AtomicFile> {
    if (target.length === 0) throw new UsageError("the output path is empty");
    // Write next to the real file when the target is a symlink, so the link survives the rename.
    let finalPath = target;
    let existingMode: number | undefined;
    try {
      finalPath = await realpath(target);
      const info = await stat(finalPath);
      if (info.isDirectory()) throw new UsageError(`cannot write ${target}: it is a directory; name a file`);
      existingMode = info.mode & 0o7777;
    } catch (error) {
      if (error instanceof CloudAdminError) throw error;
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw fileError(target, error);
      finalPath = target;
    }
    const mode = options.mode ?? existingMode ?? 0o666;
    // Keep the temp name under the usual 255-byte limit whatever the target's name is.
    const stem = basename(finalPath).slice(0, 100);
    const tempPath = join(dirname(finalPath), `.${stem}.${randomBytes(6).toString("hex")}.tmp`);
    let handle: FileHandle;
    try {
      handle = await open(tempPath, "wx", mode);
    } catch (error) {
      throw fileError(target, error);
    }
    // open() applies the umask; an existing file's mode (or an explicit one) is kept exactly.
    if (options.mode !== undefined || existingMode !== undefined) {
      await handle.chmod(mode).catch(() => undefined);
    }
    return new AtomicFile(target, finalPath, tempPath, handle);
  }

  /**
   * Queues bytes; resolves once they are buffered or written, and rejects if an earlier write failed.
   * Writes land in call order. A large buffer is written without a copy: keep it unchanged until then.
   */
  write(data: Uint8Array | string): Promise<void> {
    if (this.state !== "open") {
      return Promise.reject(new Error(`cannot write ${this.target}: the file was already ${this.state}`));
    }
    if (this.failure !== undefined) return Promise.reject(fileError(this.target, this.failure));
    const bytes =
      typeof data === "string"
        ? Buffer.from(data, "utf8")
        : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    this.bytesWritten += bytes.byteLength;
    if (bytes.byteLength >= FLUSH_BYTES) {
      const before = this.takePending();
      return this.enqueue(async () => {
        await this.writeAll(before);
        await this.writeAll(bytes);
      });
    }
    if (bytes.byteLength === 0) return Promise.resolve();
    // Small chunks are copied: the caller may reuse its buffer as soon as write() resolves.
    this.pending.push(typeof data === "string" ? bytes : Buffer.from(bytes));
    this.pendingBytes += bytes.byteLength;
    if (this.pendingBytes >= FLUSH_BYTES) {
      const chunk = this.takePending();
      return this.enqueue(() => this.writeAll(chunk));
    }
    return Promise.resolve();
  }

  /** Flushes, fsyncs, renames over the target and fsyncs the folder. */
  async commit(): Promise<void> {
    if (this.state === "committed") return;
    if (this.state === "aborted") throw new Error(`cannot commit ${this.target}: it was aborted`);
    try {
      const rest = this.takePending();
      await this.enqueue(() => this.writeAll(rest));
      await this.handle.sync();
      await this.handle.close();
      this.state = "committed";
      await rename(this.tempPath, this.finalPath);
    } catch (error) {
      this.state = "aborted";
      await this.handle.close().catch(() => undefined);
      await unlink(this.tempPath).catch(() => undefined);
      throw fileError(this.target, error);
    }
    await syncFolder(dirname(this.finalPath));
  }

  /** Closes and removes the temp file; the target is left as it was. Safe to call more than once. */
  async abort(): Promise<void> {
    if (this.state !== "open") return;
    this.state = "aborted";
    this.pending = [];
    await this.tail.catch(() => undefined);
    await this.handle.close().catch(() => undefined);
    await unlink(this.tempPath).catch(() => undefined);
  }

  private enqueue(task: () => Promise<void>): Promise<void> {
    const run = this.tail.then(() => {
      if (this.failure !== undefined) throw this.failure;
      return task();
    });
    this.tail = run.catch((error: unknown) => {
      this.failure ??= error;
    });
    return run.catch((error: unknown) => {
      throw fileError(this.target, error);
    });
  }

  private takePending(): Buffer | undefined {
    if (this.pendingBytes === 0) return undefined;
    const chunk =
      this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending, this.pendingBytes);
    this.pending = [];
    this.pendingBytes = 0;
    return chunk;
  }

  private async writeAll(chunk: Buffer | undefined): Promise<void> {
    if (chunk === undefined) return;
    let offset = 0;
    while (offset < chunk.byteLength) {
      const { bytesWritten } = await this.handle.write(chunk, offset, chunk.byteLength - offset);
      offset += bytesWritten;
    }
  }
}

/** Best effort: makes the rename durable on POSIX; directories cannot be opened this way on Windows. */
async function syncFolder(folder: string): Promise<void> {
  let handle: FileHandle | undefined;
  try {
    handle = await open(folder, "r");
    await handle.sync();
  } catch {
    // Not supported here (Windows, some network file systems): the rename itself is still atomic.
  } finally {
    await handle?.close().catch(() => undefined);
  }
}

function fileError(target: string, error: unknown): CloudAdminError {
  if (error instanceof CloudAdminError) return error;
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  const detail = error instanceof Error ? error.message : String(error);
  switch (code) {
    case "ENOENT":
    case "ENOTDIR":
      return new UsageError(`cannot write ${target}: its folder does not exist; create it first`, {
        cause: error,
      });
    case "EISDIR":
      return new UsageError(`cannot write ${target}: it is a directory; name a file`, { cause: error });
    case "EACCES":
    case "EPERM":
    case "EROFS":
      return new ConfigError(
        `cannot write ${target}: permission denied (${code}); choose a writable folder`,
        {
          cause: error,
        },
      );
    case "ABORT_ERR":
      return new AbortedError(`writing ${target} was aborted`, { cause: error });
    default:
      return new CloudAdminError("ERR_INTERNAL", `cannot write ${target}: ${detail}`, { cause: error });
  }
}

/**
 * A {@link Sink} that writes a file atomically: the document goes to a uniquely named temp file in the
 * target's folder, which is fsynced and renamed over the target on {@link Sink.commit}. If the run fails,
 * is aborted, or the process is killed, the target keeps its previous content (or does not exist); on
 * {@link Sink.abort} the temp file is removed. An existing target's permissions are kept.
 *
 * The temp file is created when the sink is created, so a missing folder (`ERR_USAGE`) or a permission
 * problem (`ERR_CONFIG`) is reported before any work starts.
 *
 * @example
 * ```ts
 * import { createFileSink, writeResults } from "@cloudadmin/output";
 * const sink = await createFileSink("vm-ips.json");
 * await writeResults({ format: "json", command: "azure-vm-ips", items: listVmIps(options), sink });
 * // writeResults committed the sink: vm-ips.json now holds the whole document.
 * ```
 */
export async function createFileSink(path: string, options: { mode?: number } = {}): Promise<Sink> {
  const file = await AtomicFile.open(path, options);
  return {
    write: (chunk) => file.write(chunk),
    commit: () => file.commit(),
    abort: () => file.abort(),
    describe: () => path,
  };
}

/** Data accepted by {@link writeFileAtomic}: bytes, text, or a stream of either (Node or web stream). */
export type AtomicData = string | Uint8Array | AsyncIterable<Uint8Array | string>;

/** Options of {@link writeFileAtomic}. */
export interface WriteFileAtomicOptions {
  /** File mode of a new file (default `0o666` less the umask; an existing file keeps its mode). */
  mode?: number;
  /** Stops the write; the target is then left untouched and the temp file removed. */
  signal?: AbortSignal;
}

/**
 * Writes a whole file atomically: `path` ends up holding either all of `data` or its previous content
 * (or nothing, if it did not exist), never a part, even if the process is killed meanwhile. Uses a temp
 * file in the same folder, fsync and rename, like {@link createFileSink}.
 *
 * @returns the number of bytes written.
 * @example
 * ```ts
 * import { writeFileAtomic } from "@cloudadmin/output";
 * for await (const photo of photos) {
 *   await writeFileAtomic(`photos/${photo.key}.jpg`, photo.body, { signal }); // body: Buffer or stream
 * }
 * ```
 */
export async function writeFileAtomic(
  path: string,
  data: AtomicData,
  options: WriteFileAtomicOptions = {},
): Promise<number> {
  const { signal } = options;
  if (signal?.aborted) throw new AbortedError(`writing ${path} was aborted`, { cause: signal.reason });
  const file = await AtomicFile.open(path, options.mode === undefined ? {} : { mode: options.mode });
  try {
    if (typeof data === "string" || data instanceof Uint8Array) {
      await file.write(data);
    } else {
      for await (const chunk of data) {
        if (signal?.aborted) throw new AbortedError(`writing ${path} was aborted`, { cause: signal.reason });
        await file.write(chunk);
      }
    }
    if (signal?.aborted) throw new AbortedError(`writing ${path} was aborted`, { cause: signal.reason });
    await file.commit();
    return file.bytesWritten;
  } catch (error) {
    await file.abort();
    throw error;
  }
}
