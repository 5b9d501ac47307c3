import type { ZoomClientCredentials, ZoomTokenProvider } from "@cloudadmin/auth";
import { AuthError, RemoteError, isAbortError, registerSecret } from "@cloudadmin/errors";

export interface ZoomOAuthOptions {
  credentials: ZoomClientCredentials;
  /** Token endpoint (default `https://zoom.us/oauth/token`). */
  oauthUrl?: string;
  fetch?: typeof fetch;
  /** Wall clock in epoch ms (default Date.now). */
  now?: () => number;
  /** Fetch a new token this long before the current one expires (default 5 minutes). */
  refreshBeforeMs?: number;
  /** Per-request timeout in ms (default 30 s). */
  timeoutMs?: number;
}

export const DEFAULT_OAUTH_URL = "https://zoom.us/oauth/token";

/**
 * Server-to-Server OAuth (`grant_type=account_credentials`): one cached token for the whole run,
 * fetched again shortly before it expires or after `invalidate()` (a 401). Concurrent callers share
 * one token request. Zoom gives no refresh token: a new token is simply requested. The client
 * secret and every token are registered for redaction.
 *
 * @example
 * ```ts
 * const tokens = createZoomTokenProvider({ credentials: { accountId, clientId, clientSecret } });
 * for await (const user of createZoomClient({ tokenProvider: tokens }).listUsers()) console.log(user.email);
 * ```
 */
export function createZoomTokenProvider(options: ZoomOAuthOptions): ZoomTokenProvider {
  const { accountId, clientId, clientSecret } = options.credentials;
  if (!accountId || !clientId || !clientSecret) {
    throw new AuthError("Zoom Server-to-Server OAuth needs an account id, a client id and a client secret", {
      phase: "oauth",
    });
  }
  registerSecret(clientSecret);
  const doFetch = options.fetch ?? fetch;
  const now = options.now ?? Date.now;
  const refreshBefore = options.refreshBeforeMs ?? 5 * 60_000;
  const url = new URL(options.oauthUrl ?? DEFAULT_OAUTH_URL);
  url.searchParams.set("grant_type", "account_credentials");
  url.searchParams.set("account_id", accountId);
  const basic = Buffer.from(`${clientId}:${clientSecret}`).toString("base64");
  registerSecret(basic);
  let cached: { token: string; expiresAt: number } | undefined;
  let pending: Promise<string> | undefined;

  async function requestToken(signal?: AbortSignal): Promise<string> {
    const timeout = AbortSignal.timeout(options.timeoutMs ?? 30_000);
    let res: Response;
    try {
      res = await doFetch(url, {
        method: "POST",
        headers: { authorization: `Basic ${basic}`, accept: "application/json" },
        signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
      });
    } catch (cause) {
      if (isAbortError(cause) && signal?.aborted) throw cause;
      throw new RemoteError(
        `cannot reach the Zoom token endpoint ${url.origin}: ${(cause as Error).message}`,
        {
          cause,
          phase: "oauth",
          retryable: true,
        },
      );
    }
    const text = await res.text();
    let body: Record<string, unknown> = {};
    try {
      body = JSON.parse(text) as Record<string, unknown>;
    } catch {
      // Not JSON: reported below with the status.
    }
    if (!res.ok) {
      const reason = String(body.reason ?? body.error ?? (text.slice(0, 200) || res.statusText));
      if (res.status >= 500) {
        throw new RemoteError(`Zoom token endpoint answered ${res.status}: ${reason}`, {
          phase: "oauth",
          status: res.status,
          retryable: true,
        });
      }
      throw new AuthError(
        `Zoom refused the Server-to-Server OAuth request (${res.status} ${String(body.error ?? "")}: ${reason}); check ZOOM_ACCOUNT_ID, ZOOM_CLIENT_ID and ZOOM_CLIENT_SECRET`,
        {
          phase: "oauth",
          status: res.status,
          remoteCode: typeof body.error === "string" ? body.error : undefined,
        },
      );
    }
    const token = body.access_token;
    const expiresIn = Number(body.expires_in);
    if (typeof token !== "string" || token === "" || !Number.isFinite(expiresIn)) {
      throw new AuthError("Zoom's token endpoint answered without access_token/expires_in", {
        phase: "oauth",
      });
    }
    registerSecret(token);
    cached = { token, expiresAt: now() + expiresIn * 1000 };
    return token;
  }

  return {
    async getToken(signal?: AbortSignal): Promise<string> {
      if (cached && now() < cached.expiresAt - refreshBefore) return cached.token;
      pending ??= requestToken(signal).finally(() => {
        pending = undefined;
      });
      return pending;
    },
    invalidate(): void {
      cached = undefined;
    },
  };
}
