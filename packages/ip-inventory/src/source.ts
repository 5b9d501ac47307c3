import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import type { ContainerClient } from "@azure/storage-blob";
import { checkEndpoint } from "@cloudadmin/auth";
import {
  AuthError,
  type CloudAdminError,
  InvalidInputError,
  RemoteError,
  isCloudAdminError,
  redactSecrets,
} from "@cloudadmin/errors";
import { type BlobAuthOptions, createContainerClient, looksLikeUrl, parseBlobUrl } from "@cloudadmin/output";

/**
 * Where an inventory comes from: a file path, a blob URL (`https://<acct>.blob.core.windows.net/<c>/<b>`,
 * or an emulator's on loopback), or any byte stream the caller opens (`open` is called once per read;
 * a diff or a merge may read a source twice).
 */
export type InventorySource =
  | string
  | { name: string; open: () => AsyncIterable<Buffer | string>; modifiedAt?: Date | null };

/** An opened source: its bytes, a display name without secrets, and its modification time. */
export interface OpenedSource {
  name: string;
  chunks: AsyncIterable<Buffer | string>;
  modifiedAt: Date | null;
}

/** Reading options shared by every entry point that takes sources. */
export interface SourceOptions extends BlobAuthOptions {
  signal?: AbortSignal;
}

/** Whether a source string names a URL rather than a file. */
export function isUrlSource(source: string): boolean {
  return looksLikeUrl(source);
}

/** A display name for a source, never holding a SAS. */
export function sourceName(source: InventorySource): string {
  if (typeof source !== "string") return source.name;
  return isUrlSource(source) ? (source.split(/[?#]/)[0] ?? source) : source;
}

/** The container client and blob name of a blob URL (checked: https, or http on loopback only). */
export function blobOf(
  url: string,
  options: BlobAuthOptions,
): { container: ContainerClient; blobName: string } {
  checkEndpoint(url, "blob URL");
  const parts = parseBlobUrl(url, { kind: "blob" });
  const containerUrl = `${parts.serviceUrl}/${encodeURIComponent(parts.containerName)}${parts.url.search}`;
  return { container: createContainerClient(containerUrl, options), blobName: parts.blobName };
}

/** Opens a source for reading. Missing files are invalid input; blob failures say what to do. */
export async function openSource(source: InventorySource, options: SourceOptions): Promise<OpenedSource> {
  if (typeof source !== "string") {
    return { name: source.name, chunks: source.open(), modifiedAt: source.modifiedAt ?? null };
  }
  const name = sourceName(source);
  if (isUrlSource(source)) {
    const { container, blobName } = blobOf(source, options);
    try {
      const response = await container
        .getBlobClient(blobName)
        .download(0, undefined, options.signal ? { abortSignal: options.signal } : {});
      const body = response.readableStreamBody;
      if (!body) throw new RemoteError(`${name}: the download has no body`);
      return {
        name,
        chunks: body as AsyncIterable<Buffer>,
        modifiedAt: response.lastModified ?? null,
      };
    } catch (error) {
      throw blobReadError(name, error);
    }
  }
  let modifiedAt: Date;
  try {
    const info = await stat(source);
    if (!info.isFile()) throw new InvalidInputError(`${name} is not a file`, { phase: "read" });
    modifiedAt = info.mtime;
  } catch (error) {
    if (isCloudAdminError(error)) throw error;
    const code = (error as { code?: string }).code;
    throw new InvalidInputError(
      `${name}: ${code === "ENOENT" ? "no such file" : code === "EACCES" ? "permission denied" : String(error)}`,
      { phase: "read", cause: error },
    );
  }
  return {
    name,
    chunks: createReadStream(source, {
      highWaterMark: 1024 * 1024,
      ...(options.signal ? { signal: options.signal } : {}),
    }),
    modifiedAt,
  };
}

/** A Storage SDK failure while reading, as a CloudAdminError that says what to do. */
export function blobReadError(name: string, error: unknown): CloudAdminError {
  if (isCloudAdminError(error)) return error;
  const e = error as { statusCode?: number; code?: string; message?: string; name?: string };
  const status = e.statusCode;
  const base = { cause: error, scope: name, phase: "read", ...(status ? { status } : {}) };
  if (e.name === "AbortError") return new RemoteError(`reading ${name} was aborted`, base);
  if (status === 401 || status === 403) {
    return new AuthError(
      `${name}: access denied (${e.code ?? status}); the SAS needs read (r) and list (l) permission, or the identity the Storage Blob Data Reader role`,
      { ...base, code: status === 403 ? "ERR_ACCESS_DENIED" : "ERR_AUTH" },
    );
  }
  if (status === 404)
    return new RemoteError(`${name}: no such blob or container`, { ...base, code: "ERR_NOT_FOUND" });
  const message = redactSecrets(e.message ?? String(error)).split("\n")[0] ?? "";
  return new RemoteError(`reading ${name} failed: ${message}`, {
    ...base,
    retryable: status === undefined || status >= 500 || status === 429,
  });
}
