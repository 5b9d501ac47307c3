import { type ZoomClientCredentials, type ZoomTokenProvider, checkEndpoint } from "@cloudadmin/auth";
import { AuthError, RemoteError, registerSecret } from "@cloudadmin/errors";
import { type JobOptions, realTimer, withTimeout } from "@cloudadmin/paging";
import { parseBody, zoomErrorText } from "./zoom-error.js";

export interface ZoomOAuthOptions extends Pick<JobOptions, "timeoutMs" | "timer"> {
  credentials: ZoomClientCredentials;
  /** Token endpoint (default `https://zoom.us/oauth/token`); https, or plain http on loopback only. */
  oauthUrl?: string;
  fetch?: typeof fetch;
  /** Fetch a new token this long before the current one expires (default 5 minutes). */
  refreshBeforeMs?: number;
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
  // Checked before anything is sent: the Basic credentials never travel in clear text.
  const url = new URL(checkEndpoint(options.oauthUrl ?? DEFAULT_OAUTH_URL, "the Zoom OAuth URL (oauthUrl)"));
  const doFetch = options.fetch ?? fetch;
  const timer = options.timer ?? realTimer;
  const refreshBefore = options.refreshBeforeMs ?? 5 * 60_000;
  url.searchParams.set("grant_type", "account_credentials");
  url.searchParams.set("account_id", accountId);
  const basic = Buffer.from(`${clientId}:${clientSecret}`).toString("base64");
  registerSecret(basic);
  let cached: { token: string; expiresAt: number } | undefined;
  let pending: Promise<string> | undefined;

  async function requestToken(signal?: AbortSignal): Promise<string> {
    const { status, body } = await withTimeout(
      async (attempt) => {
        let res: Response;
        try {
          res = await doFetch(url, {
            method: "POST",
            headers: { authorization: `Basic ${basic}`, accept: "application/json" },
            signal: attempt,
          });
        } catch (cause) {
          if (attempt.aborted) throw cause;
          throw new RemoteError(
            `cannot reach the Zoom token endpoint ${url.origin}: ${(cause as Error).message}`,
            { cause, phase: "oauth", retryable: true },
          );
        }
        return { status: res.status, body: parseBody(await res.text()) };
      },
      {
        ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
        ...(signal ? { signal } : {}),
        timer,
        what: "the Zoom token endpoint",
      },
    );
    if (status < 200 || status >= 300) {
      const { code, text } = zoomErrorText(body, `HTTP ${status}`);
      if (status >= 500) {
        throw new RemoteError(`Zoom token endpoint answered ${status} (${text})`, {
          phase: "oauth",
          status,
          retryable: true,
        });
      }
      throw new AuthError(
        `Zoom refused the Server-to-Server OAuth request (${status} ${text}); check the account id, client id and client secret`,
        { phase: "oauth", status, remoteCode: code },
      );
    }
    const b = (body ?? {}) as Record<string, unknown>;
    const token = b.access_token;
    const expiresIn = Number(b.expires_in);
    if (typeof token !== "string" || token === "" || !Number.isFinite(expiresIn)) {
      throw new AuthError("Zoom's token endpoint answered without access_token/expires_in", {
        phase: "oauth",
      });
    }
    registerSecret(token);
    cached = { token, expiresAt: timer.now() + expiresIn * 1000 };
    return token;
  }

  return {
    async getToken(signal?: AbortSignal): Promise<string> {
      if (cached && timer.now() < cached.expiresAt - refreshBefore) return cached.token;
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
