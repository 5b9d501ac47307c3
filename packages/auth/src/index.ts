/**
 * `@cloudadmin/auth`: the credential types the jobs share.
 *
 * - {@link StaticTokenCredential}: a `TokenCredential` over a bearer token handed in from outside
 *   (`CLOUDADMIN_ARM_TOKEN`, `CLOUDADMIN_GRAPH_TOKEN`), for CI and emulators.
 * - {@link createAzureCredential}: DefaultAzureCredential with the authority host of a sovereign cloud.
 * - {@link ZoomTokenProvider}: the shape of a Zoom access-token source (the zoom-licenses package
 *   implements Server-to-Server OAuth behind it).
 *
 * @example
 * ```ts
 * import { StaticTokenCredential } from "@cloudadmin/auth";
 * const credential = new StaticTokenCredential(token);
 * for await (const vm of listVmIps({ credential })) console.log(vm.vmName);
 * ```
 */
import type { AccessToken, GetTokenOptions, TokenCredential } from "@azure/core-auth";
import { DefaultAzureCredential, type DefaultAzureCredentialOptions } from "@azure/identity";
import { AuthError, registerSecret } from "@cloudadmin/errors";

export type { AccessToken, TokenCredential } from "@azure/core-auth";
export { checkEndpoint, isAllowedEndpoint, isLoopbackHost } from "./endpoint.js";

/** Azure clouds: their ARM, Graph and login endpoints. */
export type AzureCloudName = "AzurePublicCloud" | "AzureUSGovernment" | "AzureChinaCloud";

export interface AzureCloud {
  name: AzureCloudName;
  armEndpoint: string;
  graphEndpoint: string;
  authorityHost: string;
  /** Storage suffix for blob URLs. */
  storageSuffix: string;
}

export const AZURE_CLOUDS: Record<AzureCloudName, AzureCloud> = {
  AzurePublicCloud: {
    name: "AzurePublicCloud",
    armEndpoint: "https://management.azure.com",
    graphEndpoint: "https://graph.microsoft.com",
    authorityHost: "https://login.microsoftonline.com",
    storageSuffix: "blob.core.windows.net",
  },
  AzureUSGovernment: {
    name: "AzureUSGovernment",
    armEndpoint: "https://management.usgovcloudapi.net",
    graphEndpoint: "https://graph.microsoft.us",
    authorityHost: "https://login.microsoftonline.us",
    storageSuffix: "blob.core.usgovcloudapi.net",
  },
  AzureChinaCloud: {
    name: "AzureChinaCloud",
    armEndpoint: "https://management.chinacloudapi.cn",
    graphEndpoint: "https://microsoftgraph.chinacloudapi.cn",
    authorityHost: "https://login.chinacloudapi.cn",
    storageSuffix: "blob.core.chinacloudapi.cn",
  },
};

/** The token scope for a resource endpoint (`https://management.azure.com/.default`). */
export function scopeFor(endpoint: string): string {
  return `${new URL(endpoint).origin}/.default`;
}

/**
 * A TokenCredential over a bearer token obtained elsewhere (`az account get-access-token`, a CI
 * step, an emulator). The token is registered for redaction so it never appears in errors or logs.
 * When it carries a JWT `exp`, that is its expiry; otherwise it is assumed valid for an hour.
 */
export class StaticTokenCredential implements TokenCredential {
  readonly #token: string;
  readonly #expiresOnTimestamp: number;

  constructor(token: string, options: { expiresOnTimestamp?: number } = {}) {
    const trimmed = token.trim();
    if (trimmed === "" || /\s/.test(trimmed)) {
      throw new AuthError(
        "the bearer token is empty or contains whitespace; pass the raw token without 'Bearer '",
      );
    }
    this.#token = trimmed;
    registerSecret(trimmed);
    this.#expiresOnTimestamp =
      options.expiresOnTimestamp ?? jwtExpiry(trimmed) ?? Date.now() + 60 * 60 * 1000;
  }

  async getToken(_scopes: string | string[], _options?: GetTokenOptions): Promise<AccessToken> {
    if (Date.now() >= this.#expiresOnTimestamp) {
      throw new AuthError("the bearer token has expired; get a new one and run again", {
        code: "ERR_AUTH_EXPIRED",
      });
    }
    return { token: this.#token, expiresOnTimestamp: this.#expiresOnTimestamp };
  }

  toJSON(): Record<string, string> {
    return { type: "StaticTokenCredential", token: "***" };
  }
}

/** The `exp` claim of a JWT in ms, or undefined when the token is not a JWT. */
export function jwtExpiry(token: string): number | undefined {
  const payload = token.split(".")[1];
  if (!payload || token.split(".").length !== 3) return undefined;
  try {
    const claims = JSON.parse(Buffer.from(payload, "base64url").toString("utf8")) as { exp?: unknown };
    return typeof claims.exp === "number" ? claims.exp * 1000 : undefined;
  } catch {
    return undefined;
  }
}

export interface CreateAzureCredentialOptions {
  cloud?: AzureCloudName;
  /** Managed identity client ID (user-assigned identity), for Functions and workload identity. */
  managedIdentityClientId?: string;
  tenantId?: string;
}

/**
 * DefaultAzureCredential (environment, workload identity, managed identity, Azure CLI, ...) for the
 * given cloud. Construction never fails for lack of credentials; the first getToken does.
 */
export function createAzureCredential(options: CreateAzureCredentialOptions = {}): TokenCredential {
  const cloud = AZURE_CLOUDS[options.cloud ?? "AzurePublicCloud"];
  const dacOptions: DefaultAzureCredentialOptions = { authorityHost: cloud.authorityHost };
  if (options.tenantId) dacOptions.tenantId = options.tenantId;
  if (options.managedIdentityClientId) {
    (dacOptions as { managedIdentityClientId?: string }).managedIdentityClientId =
      options.managedIdentityClientId;
  }
  return new DefaultAzureCredential(dacOptions);
}

/** A source of Zoom access tokens (Server-to-Server OAuth in `@cloudadmin/zoom-licenses`). */
export interface ZoomTokenProvider {
  /** A valid access token, from cache when it is not near expiry. */
  getToken(signal?: AbortSignal): Promise<string>;
  /** Drops the cached token (after a 401), so the next getToken fetches a new one. */
  invalidate(): void;
}

/** Zoom Server-to-Server OAuth app credentials (never logged; registered for redaction). */
export interface ZoomClientCredentials {
  accountId: string;
  clientId: string;
  clientSecret: string;
}
