import { GetCallerIdentityCommand, STSClient } from "@aws-sdk/client-sts";
import { AuthError, RemoteError, isCloudAdminError } from "@cloudadmin/errors";
import { endpointPolicyPlugin } from "./clients.js";
import type { AwsCredentials, Ec2IpsEndpoints } from "./types.js";

export interface CheckAwsAccessOptions {
  region: string;
  endpoints?: Ec2IpsEndpoints;
  /** Default: the SDK's default chain. */
  credentials?: AwsCredentials;
  signal?: AbortSignal;
}

export interface AwsAccess {
  account: string;
  arn: string;
}

const AUTH_CODES = new Set([
  "InvalidClientTokenId",
  "SignatureDoesNotMatch",
  "ExpiredToken",
  "AccessDenied",
  "UnrecognizedClientException",
  "CredentialsProviderError",
  "TokenProviderError",
]);

/**
 * STS GetCallerIdentity with the credentials and endpoint a run would use: proves they resolve and
 * are accepted, and says whose they are. For `cloudadmin doctor`.
 */
export async function checkAwsAccess(options: CheckAwsAccessOptions): Promise<AwsAccess> {
  const client = new STSClient({
    region: options.region,
    maxAttempts: 2,
    ...(options.endpoints?.sts ? { endpoint: options.endpoints.sts } : {}),
    ...(options.credentials ? { credentials: options.credentials } : {}),
  });
  // The endpoint policy applies to whatever endpoint the client resolves, from any source.
  endpointPolicyPlugin.applyToStack(
    client.middlewareStack as Parameters<typeof endpointPolicyPlugin.applyToStack>[0],
  );
  try {
    const out = await client.send(
      new GetCallerIdentityCommand({}),
      options.signal ? { abortSignal: options.signal } : {},
    );
    return { account: out.Account ?? "", arn: out.Arn ?? "" };
  } catch (error) {
    if (isCloudAdminError(error)) throw error;
    const name = (error as { name?: string }).name ?? "";
    const message = (error as Error).message;
    if (AUTH_CODES.has(name)) {
      throw new AuthError(`STS refused the credentials (${name}): ${message}`, {
        cause: error,
        remoteCode: name,
      });
    }
    throw new RemoteError(`STS GetCallerIdentity failed (${name || "network"}): ${message}`, {
      cause: error,
    });
  } finally {
    client.destroy();
  }
}
