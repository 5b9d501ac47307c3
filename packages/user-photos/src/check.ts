import type { TokenCredential } from "@azure/core-auth";
import { AuthError } from "@cloudadmin/errors";
import { type FetchLike, answerError, connectGraph } from "./graph.js";

export interface CheckGraphAccessOptions {
  credential: TokenCredential;
  /** Default `https://graph.microsoft.com`. */
  endpoint?: string;
  ca?: string | Buffer;
  fetch?: FetchLike;
  signal?: AbortSignal;
}

/**
 * One `GET /v1.0/users?$top=1&$select=id` with the credential and endpoint a run would use: proves
 * the token is accepted and the app may read users (User.Read.All). For `cloudadmin doctor`.
 */
export async function checkGraphAccess(
  options: CheckGraphAccessOptions,
): Promise<{ usersReadable: boolean }> {
  const graph = connectGraph({
    credential: options.credential,
    endpoint: options.endpoint ?? "https://graph.microsoft.com",
    maxRetries: 1,
    ...(options.ca ? { ca: options.ca } : {}),
    ...(options.fetch ? { fetch: options.fetch } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
  });
  try {
    const answer = await graph.get("/users?$top=1&$select=id", { phase: "listing users", scope: "users" });
    if (answer.status === 401 || answer.status === 403) {
      throw new AuthError(`Graph refused the credential (${answer.status} ${answer.code ?? ""})`.trim(), {
        status: answer.status,
        ...(answer.code ? { remoteCode: answer.code } : {}),
      });
    }
    if (answer.status >= 400) throw answerError(answer, "listing users");
    return { usersReadable: true };
  } finally {
    await graph.close();
  }
}
