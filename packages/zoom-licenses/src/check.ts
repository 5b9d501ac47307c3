import type { ZoomClient } from "./client.js";

/**
 * Gets a token and reads one page of one user with the client a run would use: proves the
 * Server-to-Server OAuth app's credentials and the `user:read:admin` scope. For `cloudadmin doctor`.
 */
export async function checkZoomAccess(
  client: ZoomClient,
  signal?: AbortSignal,
): Promise<{ usersReadable: boolean }> {
  for await (const _user of client.listUsers({
    pageSize: 1,
    status: "active",
    ...(signal ? { signal } : {}),
  })) {
    break;
  }
  return { usersReadable: true };
}
