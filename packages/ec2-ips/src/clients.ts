import { Agent as HttpAgent } from "node:http";
import { Agent as HttpsAgent } from "node:https";
import { rootCertificates } from "node:tls";
import { EC2Client } from "@aws-sdk/client-ec2";
import { OrganizationsClient } from "@aws-sdk/client-organizations";
import { SSOClient } from "@aws-sdk/client-sso";
import { STSClient } from "@aws-sdk/client-sts";
import { checkEndpoint } from "@cloudadmin/auth";
import { NodeHttpHandler } from "@smithy/node-http-handler";
import { isThrottlingError } from "./errors.js";
import type { AwsCredentials, Ec2IpsEndpoints } from "./types.js";

/** The parts of a smithy `HttpRequest` the endpoint policy reads. */
interface RequestTarget {
  protocol?: string;
  hostname?: string;
  port?: number;
}

/**
 * Applies auth's endpoint policy (https, or plain http only on loopback) to the URL a client has
 * actually resolved, wherever it came from: an explicit endpoint, `AWS_ENDPOINT_URL*`, or an
 * `endpoint_url` in `~/.aws/config` (a profile or its `services` section) that the SDK read itself.
 */
export function checkResolvedEndpoint(request: unknown, clientName: string | undefined): void {
  const r = request as RequestTarget | undefined;
  if (typeof r?.hostname !== "string") return;
  const host = r.hostname.includes(":") && !r.hostname.startsWith("[") ? `[${r.hostname}]` : r.hostname;
  const protocol = r.protocol?.endsWith(":") ? r.protocol : `${r.protocol ?? "https"}:`;
  const service = (clientName ?? "AWS").replace(/Client$/, "");
  checkEndpoint(`${protocol}//${host}${r.port ? `:${r.port}` : ""}`, `the ${service} endpoint`);
}

type Next = (args: { request: unknown }) => Promise<unknown>;

/**
 * A build-step middleware (after the endpoint is resolved and the request serialised, before the
 * finalizeRequest step signs it), as a plugin so that it can also be handed to the SDK's credential
 * providers for the nested STS and SSO clients they create (`clientPlugins`).
 */
export const endpointPolicyPlugin = {
  applyToStack(stack: { add(middleware: unknown, options: object): void }): void {
    stack.add(
      (next: Next, context: { clientName?: string }) => async (args: { request: unknown }) => {
        checkResolvedEndpoint(args.request, context.clientName);
        return next(args);
      },
      { step: "build", priority: "low", name: "cloudadminEndpointPolicy", override: true },
    );
  },
};

/**
 * An HTTP handler that applies the same policy just before a request leaves, for the clients the
 * SDK's token provider creates itself (`fromSso`'s SSO-OIDC client takes a `clientConfig` but no
 * middleware): a refresh token is never sent to a refused endpoint either.
 */
export class PolicyCheckedHandler extends NodeHttpHandler {
  override handle(...args: Parameters<NodeHttpHandler["handle"]>): ReturnType<NodeHttpHandler["handle"]> {
    checkResolvedEndpoint(args[0], undefined);
    return super.handle(...args);
  }
}

export interface ClientCounters {
  onAttempt(): void;
  onFailedAttempt(throttled: boolean): void;
}

export interface ClientFactoryOptions {
  endpoints: Ec2IpsEndpoints;
  concurrency: number;
  counters: ClientCounters;
  ca?: string;
}

/**
 * Builds the SDK clients of a run over one shared HTTP handler (one connection pool for the whole
 * run, sized to the request bound). The SDK's own retry is off (`maxAttempts: 1`): every call goes
 * through paging's `retry` and `withTimeout` (see `RunContext.call`), so backoff, timeouts and the
 * clock are the same as every other job's and can be injected. Every client carries the endpoint
 * policy and a middleware that counts attempts and throttling.
 */
export class ClientFactory {
  private readonly handler: PolicyCheckedHandler;
  constructor(private readonly options: ClientFactoryOptions) {
    const agent = { keepAlive: true, maxSockets: options.concurrency + 8 };
    this.handler = new PolicyCheckedHandler({
      httpAgent: new HttpAgent(agent),
      httpsAgent: new HttpsAgent(options.ca ? { ...agent, ca: [...rootCertificates, options.ca] } : agent),
    });
  }

  private common(region: string, endpoint: string | undefined) {
    // Every setting the SDK would otherwise look up in the environment and ~/.aws/config for each
    // new client (a run creates one per account and region) is given here.
    return {
      region,
      requestHandler: this.handler,
      maxAttempts: 1,
      useFipsEndpoint: false,
      useDualstackEndpoint: false,
      userAgentAppId: "cloudadmin",
      authSchemePreference: [],
      defaultsMode: "standard" as const,
      ...(endpoint === undefined ? {} : { endpoint }),
    };
  }

  private instrument<C extends { middlewareStack: unknown }>(client: C): C {
    const counters = this.options.counters;
    // Every client's stack takes the same middleware; their generic types differ.
    const stack = client.middlewareStack as { add(middleware: unknown, options: object): void };
    endpointPolicyPlugin.applyToStack(stack);
    stack.add(
      (next: (args: unknown) => Promise<unknown>) => async (args: unknown) => {
        counters.onAttempt();
        try {
          return await next(args);
        } catch (error) {
          counters.onFailedAttempt(isThrottlingError(error));
          throw error;
        }
      },
      { step: "deserialize", priority: "high", name: "cloudadminAttemptCounter" },
    );
    return client;
  }

  ec2(region: string, credentials: AwsCredentials | undefined): EC2Client {
    return this.instrument(
      new EC2Client({
        ...this.common(region, this.options.endpoints.ec2),
        ...(credentials ? { credentials } : {}),
      }),
    );
  }

  sts(region: string, credentials: AwsCredentials | undefined): STSClient {
    return this.instrument(
      new STSClient({
        ...this.common(region, this.options.endpoints.sts),
        ...(credentials ? { credentials } : {}),
      }),
    );
  }

  organizations(region: string, credentials: AwsCredentials | undefined): OrganizationsClient {
    return this.instrument(
      new OrganizationsClient({
        ...this.common(region, this.options.endpoints.organizations),
        ...(credentials ? { credentials } : {}),
      }),
    );
  }

  sso(region: string): SSOClient {
    return this.instrument(new SSOClient(this.common(region, this.options.endpoints.sso)));
  }

  destroy(): void {
    this.handler.destroy();
  }
}
