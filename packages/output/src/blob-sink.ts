import { randomBytes } from "node:crypto";
import { type FileHandle, open, unlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TokenCredential } from "@azure/identity";
import { BlobServiceClient, type BlockBlobClient, ContainerClient } from "@azure/storage-blob";
import {
  AbortedError,
  AuthError,
  CloudAdminError,
  ConfigError,
  RemoteError,
  isAbortError,
  redactSecrets,
} from "@cloudadmin/errors";
import { writeAll } from "./atomic-file.js";
import { type BlobUrlParts, parseBlobUrl } from "./blob-url.js";
import type { Sink } from "./sink.js";

/**
 * How to authenticate to Blob Storage, tried in this order: a SAS in the URL, then `connectionString`,
 * then `credential`. The library reads no environment: the CLI passes `AZURE_STORAGE_CONNECTION_STRING`
 * and a `DefaultAzureCredential` it created.
 */
export interface BlobAuthOptions {
  /** A storage connection string (account key or SAS form, or Azurite's). Must name the URL's account. */
  connectionString?: string;
  /** An Entra ID credential (needs https and a data-plane role such as Storage Blob Data Contributor). */
  credential?: TokenCredential;
}

/** Options of {@link createBlobSink}. */
export interface BlobSinkOptions extends BlobAuthOptions {
  /** `Content-Type` of the blob (default `application/octet-stream`; {@link openSink} sets it from the format). */
  contentType?: string;
  /** Cancels the upload; nothing is uploaded then. */
  signal?: AbortSignal;
  /** The document is held in memory up to this size, then in a temp file (default 8 MiB). */
  memoryLimitBytes?: number;
  /** Folder for that temp file (default: the OS temp folder). */
  tempDir?: string;
}

/**
 * A {@link ContainerClient} for a blob container URL, authenticated as {@link BlobAuthOptions} says.
 * Checks the URL (https, or http on loopback only) and that some credential applies, without any request.
 *
 * @example
 * ```ts
 * const container = createContainerClient("https://acct.blob.core.windows.net/photos", { credential });
 * for await (const blob of container.listBlobsFlat({ includeMetadata: true })) console.log(blob.name);
 * ```
 */
export function createContainerClient(containerUrl: string, options: BlobAuthOptions = {}): ContainerClient {
  const parts = parseBlobUrl(containerUrl, { kind: "container" });
  return containerClientFor(parts, options);
}

function containerClientFor(parts: BlobUrlParts, options: BlobAuthOptions): ContainerClient {
  const containerUrl = `${parts.serviceUrl}/${encodeURIComponent(parts.containerName)}`;
  if (parts.hasSas) return new ContainerClient(`${containerUrl}${parts.url.search}`);
  if (options.connectionString !== undefined && options.connectionString !== "") {
    let service: BlobServiceClient;
    try {
      service = BlobServiceClient.fromConnectionString(options.connectionString);
    } catch (error) {
      // The SDK's message may quote the string: never pass it on.
      throw new ConfigError(
        "the storage connection string is not valid (expected AccountName=...;AccountKey=...)",
        {
          cause: redactSecrets(error instanceof Error ? error.message : String(error)),
        },
      );
    }
    const serviceUrl = new URL(service.url);
    const target = new URL(parts.serviceUrl);
    if (
      serviceUrl.host.toLowerCase() !== target.host.toLowerCase() ||
      service.accountName !== parts.accountName
    ) {
      throw new ConfigError(
        `the storage connection string is for account ${service.accountName} at ${serviceUrl.host}, ` +
          `but the URL names account ${parts.accountName} at ${target.host}; use a matching connection string or a SAS URL`,
      );
    }
    return service.getContainerClient(parts.containerName);
  }
  if (options.credential) {
    if (parts.url.protocol !== "https:") {
      throw new ConfigError(
        `${parts.display}: an Entra ID credential needs https; for an http emulator use a SAS URL or a connection string`,
      );
    }
    return new ContainerClient(containerUrl, options.credential);
  }
  throw new ConfigError(
    `no credentials for ${parts.display}: put a SAS token in the URL, pass a storage connection string, or sign in to Azure`,
  );
}

/** Maps a Storage SDK or credential failure to a CloudAdminError that says what to do. */
function blobError(display: string, action: string, error: unknown): CloudAdminError {
  if (error instanceof CloudAdminError) return error;
  if (isAbortError(error)) return new AbortedError(`${action} ${display} was aborted`, { cause: error });
  const e = error as { name?: string; statusCode?: number; code?: string; message?: string } | undefined;
  const message = redactSecrets(e?.message ?? String(error)).split("\n")[0] ?? "";
  if (e?.name === "CredentialUnavailableError" || e?.name === "AuthenticationError") {
    return new AuthError(
      `${action} ${display}: could not get an Azure token (${message}); sign in or use a SAS URL`,
      {
        cause: error,
      },
    );
  }
  const status = e?.statusCode;
  const remote = e?.code;
  const options = {
    cause: error,
    ...(status === undefined ? {} : { status }),
    ...(remote === undefined ? {} : { remoteCode: remote }),
  };
  if (status === 401) {
    return new AuthError(
      `${action} ${display}: authentication failed (${remote ?? status}); check the SAS or key`,
      options,
    );
  }
  if (status === 403) {
    return new AuthError(
      `${action} ${display}: access denied (${remote ?? status}); the SAS needs write (cw) permission, ` +
        "or the identity needs the Storage Blob Data Contributor role",
      { ...options, code: "ERR_ACCESS_DENIED" },
    );
  }
  if (status === 404) {
    return new RemoteError(`${action} ${display}: ${remote ?? "not found"}; create the container first`, {
      ...options,
      code: "ERR_NOT_FOUND",
    });
  }
  return new RemoteError(`${action} ${display} failed: ${message}`, {
    ...options,
    retryable: status === undefined || status >= 500 || status === 408 || status === 429,
  });
}

/**
 * A {@link Sink} that uploads the document to an Azure block blob when committed. Until then the document
 * is buffered (in memory, then in a `0600` temp file past `memoryLimitBytes`), so a failed or aborted run
 * uploads nothing and leaves an existing blob as it was. The upload is one `Put Blob`, or staged blocks
 * committed by one `Put Block List`, so readers see the old blob or the new one, never a mix.
 *
 * Accepts `https://<acct>.blob.core.windows.net/<container>/<blob>` or an emulator URL on loopback such as
 * `http://127.0.0.1:10000/devstoreaccount1/<container>/<blob>`. `describe()` never shows the SAS.
 *
 * With an Entra ID credential, a token is requested when the sink is created, so a missing sign-in is
 * an `ERR_AUTH` before any work rather than a failed upload after it.
 *
 * @throws ConfigError for plain http to a non-loopback host, missing or mismatched credentials.
 * @throws AuthError when the credential cannot give a storage token.
 * @throws UsageError when the URL is not a blob URL.
 * @example
 * ```ts
 * import { createBlobSink, writeResults } from "@cloudadmin/output";
 * const sink = await createBlobSink("https://acct.blob.core.windows.net/inventory/vm-ips.json", {
 *   credential: new DefaultAzureCredential(),
 *   contentType: "application/json",
 * });
 * await writeResults({ format: "json", command: "azure-vm-ips", items: listVmIps(options), sink });
 * ```
 */
export async function createBlobSink(url: string, options: BlobSinkOptions = {}): Promise<Sink> {
  const parts = parseBlobUrl(url, { kind: "blob" });
  const blob = containerClientFor(parts, options).getBlockBlobClient(parts.blobName);
  // An Entra ID credential that has nothing to offer (no sign-in, no managed identity) would otherwise
  // fail only at commit, after the whole run: ask for the token now, before any work.
  if (!parts.hasSas && !options.connectionString && options.credential) {
    try {
      await options.credential.getToken("https://storage.azure.com/.default", {
        ...(options.signal ? { abortSignal: options.signal } : {}),
      });
    } catch (error) {
      if (isAbortError(error)) throw blobError(parts.display, "preparing", error);
      const reason = redactSecrets(error instanceof Error ? error.message : String(error)).split("\n")[0];
      throw new AuthError(
        `cannot write ${parts.display}: no Azure token for Blob Storage (${reason}); sign in, use a SAS URL or a connection string`,
        { cause: error },
      );
    }
  }
  return new BlobSink(blob, parts.display, options);
}

class BlobSink implements Sink {
  private state: "open" | "committed" | "aborted" = "open";
  private memory: Buffer[] = [];
  private memoryBytes = 0;
  private spill: { path: string; handle: FileHandle } | undefined;
  private readonly limit: number;
  private tail: Promise<void> = Promise.resolve();
  private failure: unknown;

  constructor(
    private readonly blob: BlockBlobClient,
    private readonly display: string,
    private readonly options: BlobSinkOptions,
  ) {
    this.limit = options.memoryLimitBytes ?? 8 * 1024 * 1024;
  }

  write(chunk: string): Promise<void> {
    if (this.state !== "open") {
      return Promise.reject(new Error(`cannot write ${this.display}: the sink was already ${this.state}`));
    }
    // Chained so that writes nobody awaited still reach the spill file in order.
    const run = this.tail.then(() => this.append(chunk));
    this.tail = run.catch((error: unknown) => {
      this.failure ??= error;
    });
    return run;
  }

  private async append(chunk: string): Promise<void> {
    if (chunk.length === 0 || this.state !== "open") return;
    const bytes = Buffer.from(chunk, "utf8");
    if (this.spill) {
      await writeAll(this.spill.handle, bytes);
      return;
    }
    this.memory.push(bytes);
    this.memoryBytes += bytes.byteLength;
    if (this.memoryBytes > this.limit) await this.spillToFile();
  }

  async commit(): Promise<void> {
    if (this.state === "committed") return;
    if (this.state === "aborted") throw new Error(`cannot commit ${this.display}: it was aborted`);
    const headers = {
      blobHTTPHeaders: { blobContentType: this.options.contentType ?? "application/octet-stream" },
    };
    const signal = this.options.signal;
    try {
      await this.tail;
      // A buffered write failed: uploading would publish a truncated document.
      if (this.failure !== undefined) throw this.failure;
      if (signal?.aborted)
        throw new AbortedError(`uploading ${this.display} was aborted`, { cause: signal.reason });
      if (this.spill) {
        await this.spill.handle.close();
        await this.blob.uploadFile(this.spill.path, {
          ...headers,
          ...(signal ? { abortSignal: signal } : {}),
        });
      } else {
        const body = Buffer.concat(this.memory, this.memoryBytes);
        await this.blob.uploadData(body, { ...headers, ...(signal ? { abortSignal: signal } : {}) });
      }
      this.state = "committed";
    } catch (error) {
      this.state = "aborted";
      throw blobError(this.display, "uploading", error);
    } finally {
      await this.release();
    }
  }

  async abort(): Promise<void> {
    if (this.state !== "open") return;
    this.state = "aborted";
    await this.tail;
    await this.release();
  }

  describe(): string {
    return this.display;
  }

  private async spillToFile(): Promise<void> {
    const path = join(
      this.options.tempDir ?? tmpdir(),
      `cloudadmin-blob-${randomBytes(8).toString("hex")}.tmp`,
    );
    const handle = await open(path, "wx", 0o600);
    this.spill = { path, handle };
    await writeAll(handle, Buffer.concat(this.memory, this.memoryBytes));
    this.memory = [];
    this.memoryBytes = 0;
  }

  private async release(): Promise<void> {
    this.memory = [];
    this.memoryBytes = 0;
    const spill = this.spill;
    this.spill = undefined;
    if (spill) {
      await spill.handle.close().catch(() => undefined);
      await unlink(spill.path).catch(() => undefined);
    }
  }
}
