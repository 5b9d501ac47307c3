import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { fromIni, fromNodeProviderChain } from "@aws-sdk/credential-providers";
import { AuthError, ConfigError, UsageError } from "@cloudadmin/errors";
import { loadSharedConfigFiles, loadSsoSessionData } from "@smithy/shared-ini-file-loader";
import { checkEndpoint } from "./clients.js";
import type { AwsCredentials, Ec2IpsEndpoints, Ec2IpsSsoOptions } from "./types.js";

export interface AwsEnvironmentInput {
  /** The environment to read (the CLI passes its own; the library never reads process.env). */
  env: Record<string, string | undefined>;
  mode?: "org" | "sso";
  /** `--profile` (default `AWS_PROFILE`, then `default`). */
  profile?: string;
  /** `--sso-role-name` (default: the profile's `sso_role_name`). */
  ssoRoleName?: string;
  /** `--region` (default `AWS_REGION`, `AWS_DEFAULT_REGION`, the profile's region, `us-east-1`). */
  region?: string;
  /** Clock for the SSO token's expiry (default Date.now). */
  now?: () => number;
}

/** What `listEc2Ips` needs from an environment: credentials, endpoints, home region, SSO token. */
export interface AwsSettings {
  region: string;
  endpoints: Ec2IpsEndpoints;
  credentials?: AwsCredentials;
  sso?: Ec2IpsSsoOptions;
  /** The profile in effect (for messages). */
  profile: string;
}

const SERVICES: Array<[keyof Ec2IpsEndpoints, string]> = [
  ["ec2", "EC2"],
  ["sts", "STS"],
  ["organizations", "ORGANIZATIONS"],
  ["sso", "SSO"],
];

/** `AWS_ENDPOINT_URL_<SERVICE>` first, then `AWS_ENDPOINT_URL` (AWS SDKs' service-specific endpoints). */
export function endpointsFromEnvironment(env: Record<string, string | undefined>): Ec2IpsEndpoints {
  const out: Ec2IpsEndpoints = {};
  if ((env.AWS_IGNORE_CONFIGURED_ENDPOINT_URLS ?? "").toLowerCase() === "true") return out;
  for (const [key, id] of SERVICES) {
    const value = env[`AWS_ENDPOINT_URL_${id}`] || env.AWS_ENDPOINT_URL;
    if (value) {
      checkEndpoint(`AWS_ENDPOINT_URL${env[`AWS_ENDPOINT_URL_${id}`] ? `_${id}` : ""}`, value);
      out[key] = value;
    }
  }
  return out;
}

function homeOf(env: Record<string, string | undefined>): string {
  const home = env.HOME || env.USERPROFILE;
  if (!home) throw new ConfigError("cannot find the home directory (HOME is not set) to read ~/.aws/config");
  return home;
}

/**
 * Maps an AWS environment to `listEc2Ips` options the way the AWS CLI and SDKs read it: static keys
 * (`AWS_ACCESS_KEY_ID`...), else the profile (`--profile`/`AWS_PROFILE`, `~/.aws/config` and
 * `~/.aws/credentials`, `AWS_CONFIG_FILE`/`AWS_SHARED_CREDENTIALS_FILE`), else the SDK's default
 * chain (container and instance roles); endpoints from `AWS_ENDPOINT_URL[_<SERVICE>]`, also for the
 * nested STS/SSO clients a profile may need. In sso mode, reads the token `aws sso login` cached
 * under `~/.aws/sso/cache/` for the profile's `sso_session` (or legacy `sso_start_url`).
 */
export async function resolveAwsSettings(input: AwsEnvironmentInput): Promise<AwsSettings> {
  const env = input.env;
  const endpoints = endpointsFromEnvironment(env);
  const explicitProfile = input.profile ?? env.AWS_PROFILE;
  const profile = explicitProfile ?? "default";
  const needFiles =
    input.mode === "sso" ||
    explicitProfile !== undefined ||
    !(input.region ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION);
  let profileData: Record<string, string | undefined> = {};
  let configFilepath: string | undefined;
  let filepath: string | undefined;
  if (needFiles) {
    const home = env.HOME || env.USERPROFILE;
    configFilepath = env.AWS_CONFIG_FILE ?? (home ? join(home, ".aws", "config") : undefined);
    filepath = env.AWS_SHARED_CREDENTIALS_FILE ?? (home ? join(home, ".aws", "credentials") : undefined);
    if (configFilepath && filepath) {
      const files = await loadSharedConfigFiles({ configFilepath, filepath, ignoreCache: true });
      profileData = { ...files.credentialsFile[profile], ...files.configFile[profile] };
    }
  }
  const region =
    input.region ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? profileData.region ?? "us-east-1";
  const nestedEndpoint = endpoints.sts ?? endpoints.sso;
  const clientConfig = { region, ...(nestedEndpoint ? { endpoint: nestedEndpoint } : {}) };

  if (input.mode === "sso") {
    return {
      region,
      endpoints,
      profile,
      sso: await ssoSettings(input, profile, profileData, configFilepath),
    };
  }
  let credentials: AwsCredentials;
  if (env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY && input.profile === undefined) {
    credentials = {
      accessKeyId: env.AWS_ACCESS_KEY_ID,
      secretAccessKey: env.AWS_SECRET_ACCESS_KEY,
      ...(env.AWS_SESSION_TOKEN ? { sessionToken: env.AWS_SESSION_TOKEN } : {}),
    };
  } else if (explicitProfile !== undefined) {
    credentials = fromIni({
      profile,
      ...(filepath ? { filepath } : {}),
      ...(configFilepath ? { configFilepath } : {}),
      clientConfig,
    });
  } else {
    credentials = fromNodeProviderChain({ clientConfig });
  }
  return { region, endpoints, profile, credentials };
}

async function ssoSettings(
  input: AwsEnvironmentInput,
  profile: string,
  data: Record<string, string | undefined>,
  configFilepath: string | undefined,
): Promise<Ec2IpsSsoOptions> {
  const login = `run \`aws sso login --profile ${profile}\``;
  let startUrl = data.sso_start_url;
  let ssoRegion = data.sso_region;
  let cacheKey = startUrl;
  const session = data.sso_session;
  if (session) {
    const sessions = configFilepath ? await loadSsoSessionData({ configFilepath }) : {};
    const s = sessions[session];
    if (!s)
      throw new ConfigError(
        `profile ${profile} names sso_session ${session}, which ~/.aws/config does not define`,
      );
    startUrl = s.sso_start_url;
    ssoRegion = s.sso_region ?? ssoRegion;
    cacheKey = session;
  }
  if (!startUrl || !ssoRegion || !cacheKey) {
    throw new ConfigError(
      `profile ${profile} has no IAM Identity Center settings (sso_session, or sso_start_url and sso_region); run \`aws configure sso --profile ${profile}\``,
    );
  }
  const roleName = input.ssoRoleName ?? data.sso_role_name;
  if (!roleName) throw new UsageError(`give --sso-role-name (profile ${profile} has no sso_role_name)`);
  const file = join(
    homeOf(input.env),
    ".aws",
    "sso",
    "cache",
    `${createHash("sha1").update(cacheKey).digest("hex")}.json`,
  );
  let token: { accessToken?: string; expiresAt?: string };
  try {
    token = JSON.parse(await readFile(file, "utf8")) as typeof token;
  } catch (cause) {
    throw new AuthError(`no IAM Identity Center token cached for profile ${profile}; ${login}`, { cause });
  }
  if (!token.accessToken)
    throw new AuthError(`the cached IAM Identity Center token for profile ${profile} is empty; ${login}`);
  const expires = token.expiresAt ? Date.parse(token.expiresAt) : Number.NaN;
  if (Number.isFinite(expires) && expires <= (input.now ?? Date.now)()) {
    throw new AuthError(
      `the IAM Identity Center token for profile ${profile} expired at ${token.expiresAt}; ${login}`,
      {
        code: "ERR_AUTH_EXPIRED",
      },
    );
  }
  return { accessToken: token.accessToken, roleName, region: ssoRegion };
}
