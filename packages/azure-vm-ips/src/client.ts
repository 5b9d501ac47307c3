import { ResourceGraphClient } from "@azure/arm-resourcegraph";
import type { TokenCredential } from "@azure/core-auth";
import { checkEndpoint, isAllowedEndpoint, isLoopbackHost } from "@cloudadmin/auth";
import { AuthError, ConfigError } from "@cloudadmin/errors";

const DEFAULT_ENDPOINT = "https://management.azure.com";

export interface ArgClientOptions {
  credential: TokenCredential;
  /** Default `https://management.azure.com`. */
  endpoint?: string;
  /** Default: the endpoint's origin + `/.default`. */
  tokenScope?: string;
  ca?: string | Buffer;
  userAgent?: string;
}

/**
 * The endpoint as the policy allows it (https, or plain http on loopback), without a trailing
 * slash, and its token scope. Throws before anything asks for a token.
 */
export function resolveEndpoint(options: Pick<ArgClientOptions, "endpoint" | "tokenScope">): {
  endpoint: string;
  tokenScope: string;
} {
  const url = checkEndpoint(options.endpoint ?? DEFAULT_ENDPOINT, "the Resource Graph endpoint");
  const endpoint = url.toString().replace(/\/+$/, "");
  return { endpoint, tokenScope: options.tokenScope ?? `${url.origin}/.default` };
}

/**
 * The Resource Graph client as every call here uses it: our retries and pacing, optional extra CA,
 * and the endpoint policy of `@cloudadmin/auth` checked first.
 *
 * The SDK's own guard against a bearer token over http stays in place for every host that is not
 * loopback. Only for plain http on loopback (an emulator) is it replaced, by a policy that attaches
 * the token itself and checks each request's URL against the same policy before it does.
 */
export function createArgClient(options: ArgClientOptions): ResourceGraphClient {
  const { endpoint, tokenScope } = resolveEndpoint(options);
  const url = new URL(endpoint);
  const loopbackHttp = url.protocol === "http:" && isLoopbackHost(url.hostname);
  const client = new ResourceGraphClient(options.credential, {
    endpoint,
    credentials: { scopes: [tokenScope] },
    ...(loopbackHttp ? { allowInsecureConnection: true } : {}),
    // We pace and retry ourselves: the SDK's own retries would spend quota behind the pacer's back
    // (and it retries a 429 only when Retry-After is present).
    retryOptions: { maxRetries: 0 },
    userAgentOptions: { userAgentPrefix: options.userAgent ?? "cloudadmin" },
    ...(options.ca ? { tlsOptions: { ca: options.ca.toString() } } : {}),
  });
  if (loopbackHttp) {
    // The SDK refuses any bearer token over http. An emulator on loopback speaks http, so only
    // there the token is attached by this policy, which refuses any other URL.
    client.pipeline.removePolicy({ name: "bearerTokenAuthenticationPolicy" });
    client.pipeline.addPolicy({
      name: "cloudadminBearerOnLoopback",
      async sendRequest(request, next) {
        if (!isAllowedEndpoint(new URL(request.url))) {
          throw new ConfigError(
            "the Resource Graph request goes over plain http to a host that is not loopback; no token was sent",
          );
        }
        const token = await options.credential.getToken(tokenScope, { abortSignal: request.abortSignal });
        if (!token) throw new AuthError("the credential returned no token for Resource Graph");
        request.headers.set("authorization", `Bearer ${token.token}`);
        return next(request);
      },
    });
  }
  return client;
}
