import { randomBytes } from "node:crypto";
import { constants as fsConstants } from "node:fs";
import { type FileHandle, lstat, open, readdir, realpath, rename, stat, unlink } from "node:fs/promises";
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

  /**
   * Creates the temp file now, so a missing folder or a permission problem surfaces before any work.
   * With `noFollow` (files written into a folder the job owns), a symlink at the target is never
   * followed: the rename replaces the link itself. Without it (a target the user named), the link's
   * file is written and the link kept. A target that is not a regular file is refused here; callers
   * that accept special files check first ({@link createFileSink}).
   */
  static async open(
    target: string,
    options: { mode?: number; noFollow?: boolean } = {},
  ): Promise<AtomicFile> {
    if (target.length === 0) throw new UsageError("the output path is empty");
    let finalPath = target;
    let existingMode: number | undefined;
    try {
      const link = await lstat(target);
      const info = link.isSymbolicLink() && !options.noFollow ? await stat(target) : link;
      if (info.isDirectory()) throw new UsageError(`cannot write ${target}: it is a directory; name a file`);
      if (!info.isFile() && !info.isSymbolicLink()) {
        throw new UsageError(
          `cannot write ${target}: it is a special file (device, FIFO or socket), not replaced`,
        );
      }
      if (link.isSymbolicLink() && !options.noFollow) finalPath = await realpath(target);
      if (info.isFile()) existingMode = info.mode & 0o7777;
    } catch (error) {
      if (error instanceof CloudAdminError) throw error;
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw fileError(target, error);
      finalPath = target;
    }
    const mode = options.mode ?? existingMode ?? 0o666;
    // Keep the temp name under the usual 255-byte limit whatever the target's name is.
    const stem = basename(finalPath).slice(0, 100);
    await removeStaleTempFiles(dirname(finalPath), stem);
    const tempPath = join(
      dirname(finalPath),
      `.${stem}.${process.pid}-${randomBytes(6).toString("hex")}.tmp`,
    );
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
    if (chunk !== undefined) await writeAll(this.handle, chunk);
  }
}

/** Writes every byte of `chunk` (a file handle's write may take only part of it, as a pipe's does). */
export async function writeAll(handle: FileHandle, chunk: Buffer): Promise<void> {
  let offset = 0;
  while (offset < chunk.byteLength) {
    offset += (await handle.write(chunk, offset, chunk.byteLength - offset)).bytesWritten;
  }
}

/**
 * Removes temp files that an earlier run writing the same target left behind when it was killed
 * (SIGKILL, power loss): `.<name>.<pid>-<hex>.tmp` whose process is gone. A live writer's temp file
 * (same target, another process still running) is left alone. Only regular files are removed.
 */
async function removeStaleTempFiles(folder: string, stem: string): Promise<void> {
  let names: string[];
  try {
    names = await readdir(folder);
  } catch {
    return;
  }
  const prefix = `.${stem}.`;
  for (const name of names) {
    if (!name.startsWith(prefix) || !name.endsWith(".tmp")) continue;
    const match = /^(\d+)-[0-9a-f]{12}\.tmp$/.exec(name.slice(prefix.length));
    if (!match || processAlive(Number(match[1]))) continue;
    const path = join(folder, name);
    try {
      if ((await lstat(path)).isFile()) await unlink(path);
    } catch {
      // Gone already, or not ours to remove.
    }
  }
}

function processAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
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
 * A target that exists and is not a regular file (a device such as `/dev/null`, a FIFO, a socket, or a
 * symlink to one, such as `/dev/stdout`) is never replaced: it is opened and written in place,
 * streaming. A symlink to a regular file keeps its link: the file it points to is replaced.
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
  const special = await specialTarget(path);
  if (special) return createInPlaceSink(path);
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
  /**
   * Never follow a symlink at `path`: the rename replaces the link itself, so a link planted in a
   * folder the job writes into can't redirect the write outside it. A special file at `path` is
   * refused (`ERR_USAGE`). Use it for every file a job writes into its own folder.
   */
  noFollow?: boolean;
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
  const file = await AtomicFile.open(path, {
    ...(options.mode === undefined ? {} : { mode: options.mode }),
    ...(options.noFollow ? { noFollow: true } : {}),
  });
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

/** True when `path` exists and is (or links to) a device, FIFO or socket. */
async function specialTarget(path: string): Promise<boolean> {
  try {
    const info = await stat(path);
    return !info.isFile() && !info.isDirectory();
  } catch {
    return false;
  }
}

/**
 * Writes a special file in place (a device, FIFO or socket can't be replaced atomically, and must not
 * be replaced at all). Commit flushes and closes; abort closes what was opened.
 */
async function createInPlaceSink(path: string): Promise<Sink> {
  let handle: FileHandle;
  try {
    // Write-only, no O_CREAT and no O_TRUNC: the special file exists (if it vanished meanwhile, fail
    // rather than create a regular file), and a FIFO's open waits for its reader, as `cat > fifo` does.
    handle = await open(path, fsConstants.O_WRONLY | fsConstants.O_NOCTTY);
  } catch (error) {
    throw fileError(path, error);
  }
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    await handle.close();
  };
  return {
    write: async (chunk) => {
      try {
        await writeAll(handle, Buffer.from(chunk, "utf8"));
      } catch (error) {
        throw fileError(path, error);
      }
    },
    commit: async () => {
      try {
        await close();
      } catch (error) {
        throw fileError(path, error);
      }
    },
    abort: async () => {
      await close().catch(() => undefined);
    },
    describe: () => path,
  };
}
