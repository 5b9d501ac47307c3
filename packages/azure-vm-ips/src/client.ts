import { ResourceGraphClient } from "@azure/arm-resourcegraph";
import type { TokenCredential } from "@azure/core-auth";
import { AuthError } from "@cloudadmin/errors";

export interface ArgClientOptions {
  credential: TokenCredential;
  /** Without a trailing slash. */
  endpoint: string;
  tokenScope: string;
  ca?: string | Buffer;
  userAgent?: string;
}

/** The Resource Graph client as every call here uses it: our retries and pacing, optional extra CA. */
export function createArgClient(options: ArgClientOptions): ResourceGraphClient {
  const endpoint = options.endpoint;
  const tokenScope = options.tokenScope;
  const endpointUrl = new URL(endpoint);
  const insecure = endpointUrl.protocol === "http:";
  const client = new ResourceGraphClient(options.credential, {
    endpoint,
    credentials: { scopes: [tokenScope] },
    ...(insecure ? { allowInsecureConnection: true } : {}),
    // We pace and retry ourselves: the SDK's own retries would spend quota behind the pacer's back
    // (and it retries a 429 only when Retry-After is present).
    retryOptions: { maxRetries: 0 },
    userAgentOptions: { userAgentPrefix: options.userAgent ?? "cloudadmin" },
    ...(options.ca ? { tlsOptions: { ca: options.ca.toString() } } : {}),
  });
  if (insecure) {
    // The SDK refuses to send a bearer token over http. Emulators on loopback speak http (the CLI
    // allows http only there), so the token is attached by our own policy instead.
    client.pipeline.removePolicy({ name: "bearerTokenAuthenticationPolicy" });
    client.pipeline.addPolicy({
      name: "cloudadminBearerOverHttp",
      async sendRequest(request, next) {
        const token = await options.credential.getToken(tokenScope, { abortSignal: request.abortSignal });
        if (!token) throw new AuthError("the credential returned no token for Resource Graph");
        request.headers.set("authorization", `Bearer ${token.token}`);
        return next(request);
      },
    });
  }
  return client;
}
