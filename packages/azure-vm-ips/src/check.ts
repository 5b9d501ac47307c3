import type { TokenCredential } from "@azure/core-auth";
import { AuthError, RemoteError } from "@cloudadmin/errors";
import { createArgClient } from "./client.js";
import { buildVmIpQuery } from "./query.js";

export interface CheckResourceGraphAccessOptions {
  credential: TokenCredential;
  /** Default `https://management.azure.com`. */
  endpoint?: string;
  tokenScope?: string;
  ca?: string | Buffer;
  signal?: AbortSignal;
}

export interface ResourceGraphAccess {
  /** VMs the principal can see at tenant scope (ARG's totalRecords for the inventory query). */
  vms: number;
  /** `x-ms-user-quota-remaining` after this one query. */
  quotaRemaining: number | undefined;
}

/**
 * One Resource Graph query (the inventory's own, one row) at tenant scope: proves the endpoint is
 * reachable, the credential gets a token and the principal may query. For `cloudadmin doctor`.
 */
export async function checkResourceGraphAccess(
  options: CheckResourceGraphAccessOptions,
): Promise<ResourceGraphAccess> {
  const client = createArgClient(options);
  let remaining: string | null | undefined;
  try {
    const response = await client.resources(
      { query: buildVmIpQuery({ includeClassic: true }), options: { top: 1, resultFormat: "objectArray" } },
      {
        ...(options.signal ? { abortSignal: options.signal } : {}),
        onResponse: (raw) => {
          remaining = raw.headers.get("x-ms-user-quota-remaining");
        },
      },
    );
    return { vms: response.totalRecords, quotaRemaining: remaining ? Number(remaining) : undefined };
  } catch (error) {
    const status = (error as { statusCode?: number }).statusCode;
    const message = (error as Error).message;
    if (status === 401 || status === 403) {
      throw new AuthError(`Resource Graph refused the credential (${status}): ${message}`, {
        cause: error,
        status,
      });
    }
    throw new RemoteError(`Resource Graph query failed${status ? ` (${status})` : ""}: ${message}`, {
      cause: error,
      ...(status ? { status } : {}),
    });
  }
}
