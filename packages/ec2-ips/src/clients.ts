import { Agent as HttpAgent } from "node:http";
import { Agent as HttpsAgent } from "node:https";
import { rootCertificates } from "node:tls";
import { EC2Client } from "@aws-sdk/client-ec2";
import { OrganizationsClient } from "@aws-sdk/client-organizations";
import { SSOClient } from "@aws-sdk/client-sso";
import { STSClient } from "@aws-sdk/client-sts";
import { ConfigError } from "@cloudadmin/errors";
import { NodeHttpHandler } from "@smithy/node-http-handler";
import { isThrottlingError } from "./errors.js";
import type { AwsCredentials, Ec2IpsEndpoints } from "./types.js";

const LOOPBACK = /^(127\.\d{1,3}\.\d{1,3}\.\d{1,3}|\[::1\]|localhost)$/i;

/** https anywhere; plain http only on loopback (emulators), as SPEC section 3 requires. */
export function checkEndpoint(name: string, value: string | undefined): void {
  if (value === undefined) return;
  let url: URL;
  try {
    url = new URL(value);
  } catch (cause) {
    throw new ConfigError(`${name} endpoint ${JSON.stringify(value)} is not a URL`, { cause });
  }
  if (url.protocol === "https:") return;
  if (url.protocol === "http:" && LOOPBACK.test(url.hostname)) return;
  throw new ConfigError(
    `${name} endpoint ${url.origin} is refused: use https, or plain http only on a loopback address (127.0.0.0/8, ::1, localhost)`,
  );
}

export interface ClientCounters {
  onAttempt(): void;
  onFailedAttempt(throttled: boolean): void;
}

export interface ClientFactoryOptions {
  endpoints: Ec2IpsEndpoints;
  concurrency: number;
  timeoutMs: number;
  maxRetries: number;
  counters: ClientCounters;
  ca?: string;
}

/**
 * Builds the SDK clients of a run over one shared HTTP handler (one connection pool for the
 * whole run, sized to the request bound), each with adaptive retry and the same per-request
 * timeout. Every attempt passes through a small middleware that counts attempts and throttling.
 */
export class ClientFactory {
  private readonly handler: NodeHttpHandler;
  constructor(private readonly options: ClientFactoryOptions) {
    const agent = { keepAlive: true, maxSockets: options.concurrency + 8 };
    this.handler = new NodeHttpHandler({
      httpAgent: new HttpAgent(agent),
      httpsAgent: new HttpsAgent(options.ca ? { ...agent, ca: [...rootCertificates, options.ca] } : agent),
      connectionTimeout: Math.min(options.timeoutMs, 10_000),
      requestTimeout: options.timeoutMs,
      throwOnRequestTimeout: true,
    });
  }

  private common(region: string, endpoint: string | undefined) {
    // Every setting the SDK would otherwise look up in the environment and ~/.aws/config for each
    // new client (a run creates one per account and region) is given here.
    return {
      region,
      requestHandler: this.handler,
      retryMode: "adaptive",
      maxAttempts: this.options.maxRetries + 1,
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
    // Every client's stack takes the same deserialize-step middleware; their generic types differ.
    const stack = client.middlewareStack as { add(middleware: unknown, options: object): void };
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
