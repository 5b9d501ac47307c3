import { ConfigError, UsageError } from "@cloudadmin/errors";
import { isAllowedEndpoint, isLoopbackHost } from "@cloudadmin/auth";

/** The parts of an Azure Blob Storage URL, as {@link parseBlobUrl} reads them. */
export interface BlobUrlParts {
  /** The URL as given (with its SAS, if any). Never print it: use {@link BlobUrlParts.display}. */
  url: URL;
  /** `https://<acct>.blob.core.windows.net` or, path-style, `http://127.0.0.1:10000/devstoreaccount1`. */
  serviceUrl: string;
  accountName: string;
  containerName: string;
  /** Decoded blob name (may hold `/`); empty for a container URL. */
  blobName: string;
  /** True when the query string carries a SAS signature (`sig=`). */
  hasSas: boolean;
  /** The URL without its query string: safe to print. */
  display: string;
}

// Public and sovereign clouds, and the newer DNS-zone endpoints (<acct>.z<nn>.blob.storage.azure.net).
const BLOB_HOST =
  /^([a-z0-9]{3,24})\.(?:z\d{1,2}\.)?blob\.(?:core\.windows\.net|core\.usgovcloudapi\.net|core\.chinacloudapi\.cn|storage\.azure\.net)$/;
const CONTAINER_NAME = /^(?:\$root|\$web|[a-z0-9](?:[a-z0-9]|-(?=[a-z0-9])){2,62})$/;

/** Removes the query string (SAS token) and any user info from a URL for display. */
export function redactUrl(url: string | URL): string {
  try {
    const u = new URL(url);
    const hadQuery = u.search.length > 1;
    u.search = "";
    u.username = "";
    u.password = "";
    u.hash = "";
    return hadQuery ? `${u.href}?***` : u.href;
  } catch {
    return "<invalid URL>";
  }
}

/**
 * Parses and checks an Azure Blob URL: `https://<acct>.blob.core.windows.net/<container>[/<blob>]` (and
 * the sovereign clouds), or path-style on a loopback host for emulators such as Azurite:
 * `http://127.0.0.1:10000/devstoreaccount1/<container>[/<blob>]`.
 *
 * @throws ConfigError (`ERR_CONFIG`) for plain http to a non-loopback host.
 * @throws UsageError (`ERR_USAGE`) for anything that is not a blob URL, or a blob URL without a blob
 * name when `kind` is `"blob"`.
 * @example
 * ```ts
 * const { containerName, blobName } = parseBlobUrl("https://acct.blob.core.windows.net/reports/vm.json");
 * ```
 */
export function parseBlobUrl(target: string, options: { kind?: "blob" | "container" } = {}): BlobUrlParts {
  const kind = options.kind ?? "blob";
  let url: URL;
  try {
    url = new URL(target);
  } catch {
    // Not parseable, so show it without anything after "?" (where a SAS would be).
    throw new UsageError(`${target.split(/[?#]/)[0]} is not a valid URL`);
  }
  const display = redactUrl(url);
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    throw new UsageError(
      `${display} is not an Azure Blob URL (expected https://<account>.blob.core.windows.net/...)`,
    );
  }
  const loopback = isLoopbackHost(url.hostname);
  if (!isAllowedEndpoint(url)) {
    throw new ConfigError(
      `refusing plain http to ${url.host}: use https (plain http is only allowed on loopback addresses, for emulators)`,
    );
  }
  let segments: string[];
  try {
    segments = url.pathname.split("/").slice(1).map(decodeURIComponent);
  } catch {
    throw new UsageError(`${display} has a badly encoded path`);
  }
  const hostMatch = BLOB_HOST.exec(url.hostname.toLowerCase());
  let accountName: string;
  let serviceUrl: string;
  if (hostMatch) {
    accountName = hostMatch[1]!;
    serviceUrl = url.origin;
  } else if (loopback) {
    const account = segments.shift();
    if (!account)
      throw new UsageError(
        `${display} names no storage account (expected ${url.origin}/<account>/<container>/...)`,
      );
    accountName = account;
    serviceUrl = `${url.origin}/${encodeURIComponent(account)}`;
  } else {
    throw new UsageError(
      `${display} is not an Azure Blob URL (expected https://<account>.blob.core.windows.net/<container>/<blob>)`,
    );
  }
  const containerName = segments.shift() ?? "";
  if (!CONTAINER_NAME.test(containerName)) {
    throw new UsageError(
      containerName
        ? `${display}: "${containerName}" is not a valid container name (3-63 lowercase letters, digits and hyphens)`
        : `${display} names no container`,
    );
  }
  const blobName = segments.join("/");
  if (kind === "blob" && (blobName === "" || blobName.endsWith("/"))) {
    throw new UsageError(`${display} names a container or folder, not a blob: add the blob name`);
  }
  if (kind === "container" && blobName !== "") {
    throw new UsageError(`${display} is a blob URL; give the container URL (without a blob name)`);
  }
  return {
    url,
    serviceUrl,
    accountName,
    containerName,
    blobName,
    hasSas: url.searchParams.has("sig"),
    display,
  };
}

/** True when `target` looks like a URL (`scheme://...`) rather than a file path. */
export function looksLikeUrl(target: string): boolean {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(target);
}
