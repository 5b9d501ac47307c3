import type { TokenCredential } from "@azure/core-auth";
import { ContainerClient, StorageSharedKeyCredential } from "@azure/storage-blob";
import { checkEndpoint } from "@cloudadmin/auth";
import { ConfigError } from "@cloudadmin/errors";

export interface OpenContainerOptions {
  /** An Azure Storage connection string (account key or SAS) for the container's account. */
  connectionString?: string;
  /** Entra ID credential (needs Storage Blob Data Contributor on the container). */
  credential?: TokenCredential;
}

function parseConnectionString(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of text.split(";")) {
    const eq = part.indexOf("=");
    if (eq > 0) out[part.slice(0, eq).trim().toLowerCase()] = part.slice(eq + 1).trim();
  }
  return out;
}

/**
 * A ContainerClient for a container URL (`https://<acct>.blob.core.windows.net/<container>` or an
 * emulator's `http://127.0.0.1:10000/devstoreaccount1/<container>`), authenticated as SPEC section 3
 * says: the SAS in the URL, else the connection string's key or SAS, else the credential. The URL
 * passes auth's endpoint policy first (`ERR_USAGE` for a non-URL, `ERR_CONFIG` for plain http off
 * loopback).
 */
export function openContainer(containerUrl: string, options: OpenContainerOptions = {}): ContainerClient {
  // The shared endpoint policy, before any credential is used: https, or plain http on loopback.
  const url = checkEndpoint(containerUrl, "the blob container URL");
  if (url.searchParams.has("sig")) return new ContainerClient(containerUrl);
  const bare = `${url.origin}${url.pathname.replace(/\/+$/, "")}`;
  if (options.connectionString) {
    const cs = parseConnectionString(options.connectionString);
    if (cs.accountname && cs.accountkey) {
      return new ContainerClient(bare, new StorageSharedKeyCredential(cs.accountname, cs.accountkey));
    }
    if (cs.sharedaccesssignature)
      return new ContainerClient(`${bare}?${cs.sharedaccesssignature.replace(/^\?/, "")}`);
  }
  if (options.credential) return new ContainerClient(bare, options.credential);
  throw new ConfigError(
    "no credential for the blob container: put a SAS in the URL, set a connection string, or sign in to Azure",
  );
}
