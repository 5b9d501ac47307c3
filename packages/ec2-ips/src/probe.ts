import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { ListAccountsCommand } from "@aws-sdk/client-sso";
import { isCloudAdminError } from "@cloudadmin/errors";
import { DEFAULT_TIMEOUT_MS, withTimeout } from "@cloudadmin/paging";
import { ClientFactory } from "./clients.js";
import { toAwsError } from "./errors.js";
import { SsoSession } from "./sso-session.js";
import type { Ec2IpsEndpoints, Ec2IpsSsoOptions } from "./types.js";

/** One checked assumption, for `cloudadmin doctor --probe`. `detail` never holds a secret. */
export interface ProbeResult {
  provider: string;
  assumption: string;
  status: "holds" | "differs" | "unknown";
  detail: string;
}

export interface ProbeSsoRefreshOptions {
  /** The same IAM Identity Center settings `listEc2Ips` takes (`resolveAwsSettings` gives them). */
  sso: Ec2IpsSsoOptions;
  endpoints?: Ec2IpsEndpoints;
  ca?: string;
  /** The home directory whose `.aws/sso/cache` the SDK uses (to look at the cache entry's fields). */
  home?: string;
  signal?: AbortSignal;
  timeoutMs?: number;
}

const REFRESH_FIELDS = ["refreshToken", "clientId", "clientSecret"] as const;

/**
 * Checks, with harmless calls, that an IAM Identity Center session can keep a long run going:
 * the token source gives a token (refreshing it through SSO-OIDC `CreateToken` when it is within
 * 5 minutes of expiry), the portal accepts it (one `ListAccounts` of one account), and the session's
 * cache entry holds what a refresh needs (refresh token, client id and secret, an unexpired client
 * registration). Never throws for a failed check; never puts a token in `detail`.
 *
 * @example
 * ```ts
 * const settings = await resolveAwsSettings({ env: process.env, mode: "sso" });
 * for (const r of await probeSsoRefresh({ sso: settings.sso!, endpoints: settings.endpoints })) console.log(r);
 * ```
 */
export async function probeSsoRefresh(options: ProbeSsoRefreshOptions): Promise<ProbeResult[]> {
  const results: ProbeResult[] = [];
  const session = new SsoSession(options.sso);
  const result = (assumption: string, status: ProbeResult["status"], detail: string) =>
    results.push({ provider: "aws", assumption, status, detail });

  if (options.sso.sessionName && options.home) {
    const assumption = "the SSO session's token cache holds what a refresh needs";
    const file = join(
      options.home,
      ".aws",
      "sso",
      "cache",
      `${createHash("sha1").update(options.sso.sessionName).digest("hex")}.json`,
    );
    try {
      const cached = JSON.parse(await readFile(file, "utf8")) as Record<string, unknown>;
      const missing = REFRESH_FIELDS.filter((k) => typeof cached[k] !== "string" || cached[k] === "");
      const registration =
        typeof cached.registrationExpiresAt === "string"
          ? Date.parse(cached.registrationExpiresAt)
          : Number.NaN;
      if (missing.length > 0) result(assumption, "differs", `the cache entry has no ${missing.join(", ")}`);
      else if (Number.isFinite(registration) && registration <= Date.now())
        result(assumption, "differs", `the client registration expired at ${cached.registrationExpiresAt}`);
      else
        result(
          assumption,
          "holds",
          `refresh token, client id and secret present; token expires at ${String(cached.expiresAt)}`,
        );
    } catch {
      result(assumption, "unknown", "no readable cache entry for the session");
    }
  } else if (!options.sso.sessionName) {
    result(
      "the SSO token can be refreshed",
      "differs",
      "a legacy profile (sso_start_url without sso_session) has no refresh token; `aws configure sso` writes an sso_session",
    );
  }

  let token: string | undefined;
  try {
    token = await session.token();
    result(
      "the SSO token can be used or refreshed",
      "holds",
      "the token source gave a token (refreshed if it was within 5 minutes of expiry)",
    );
  } catch (error) {
    const message = isCloudAdminError(error) ? error.message : String(error);
    result("the SSO token can be used or refreshed", "differs", message);
  }
  if (token === undefined) {
    result("the IAM Identity Center portal accepts the token", "unknown", "no token to try");
    return results;
  }
  const factory = new ClientFactory({
    endpoints: options.endpoints ?? {},
    concurrency: 1,
    counters: { onAttempt: () => {}, onFailedAttempt: () => {} },
    ...(options.ca ? { ca: options.ca } : {}),
  });
  try {
    const portal = factory.sso(options.sso.region);
    const accessToken = token;
    await withTimeout(
      (abortSignal) => portal.send(new ListAccountsCommand({ accessToken, maxResults: 1 }), { abortSignal }),
      {
        timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
        ...(options.signal ? { signal: options.signal } : {}),
        what: "IAM Identity Center ListAccounts",
      },
    );
    result("the IAM Identity Center portal accepts the token", "holds", "ListAccounts answered");
  } catch (error) {
    const e = toAwsError(error, "IAM Identity Center ListAccounts");
    result(
      "the IAM Identity Center portal accepts the token",
      e.code === "ERR_AUTH_EXPIRED" || e.code === "ERR_AUTH" ? "differs" : "unknown",
      `${e.remoteCode ?? e.code}: ${e.message}`,
    );
  } finally {
    factory.destroy();
  }
  return results;
}
