import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { fromIni, fromNodeProviderChain } from "@aws-sdk/credential-providers";
import { fromSso } from "@aws-sdk/token-providers";
import { checkEndpoint } from "@cloudadmin/auth";
import { AuthError, ConfigError, UsageError, registerSecret } from "@cloudadmin/errors";
import { loadSharedConfigFiles } from "@smithy/shared-ini-file-loader";
import { PolicyCheckedHandler, endpointPolicyPlugin } from "./clients.js";
import type { AwsCredentials, Ec2IpsEndpoints, Ec2IpsSsoOptions } from "./types.js";

export interface AwsEnvironmentInput {
  /** The environment to read (the CLI passes its own; the library never reads process.env). */
  env: Record<string, string | undefined>;
  mode?: "org" | "sso";
  /** The profile to use (default `AWS_PROFILE`, then `default`). */
  profile?: string;
  /** The permission set in sso mode (default: the profile's `sso_role_name`). */
  ssoRoleName?: string;
  /** The home region (default `AWS_REGION`, `AWS_DEFAULT_REGION`, the profile's region, `us-east-1`). */
  region?: string;
  /** Clock for a legacy SSO token's expiry (default Date.now). */
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

/** Our endpoint keys, the SDK's service id as `AWS_ENDPOINT_URL_<ID>` spells it, and its `services` key. */
const SERVICES: Array<[keyof Ec2IpsEndpoints, string, string]> = [
  ["ec2", "EC2", "ec2"],
  ["sts", "STS", "sts"],
  ["organizations", "ORGANIZATIONS", "organizations"],
  ["sso", "SSO", "sso"],
  ["ssoOidc", "SSO_OIDC", "sso_oidc"],
];

type Section = Record<string, string | undefined>;

/**
 * Each service's endpoint as the AWS SDKs resolve it ("Service-specific endpoints" in the SDK
 * reference): `AWS_ENDPOINT_URL_<SERVICE>`, then `AWS_ENDPOINT_URL`, then the profile's `services`
 * section (`<service> = \n endpoint_url = ...`), then the profile's `endpoint_url`; none when
 * `AWS_IGNORE_CONFIGURED_ENDPOINT_URLS` or the profile's `ignore_configured_endpoint_urls` is true.
 * Each one found must be https, or plain http on loopback (ConfigError naming where it came from).
 */
export function endpointsFromEnvironment(
  env: Record<string, string | undefined>,
  profile: Section = {},
  config: Record<string, Section> = {},
): Ec2IpsEndpoints {
  const out: Ec2IpsEndpoints = {};
  const ignore = (env.AWS_IGNORE_CONFIGURED_ENDPOINT_URLS ?? profile.ignore_configured_endpoint_urls ?? "")
    .trim()
    .toLowerCase();
  if (ignore === "true") return out;
  const services = profile.services ? config[`services.${profile.services}`] : undefined;
  for (const [key, id, section] of SERVICES) {
    const candidates: Array<[string, string | undefined]> = [
      [`AWS_ENDPOINT_URL_${id}`, env[`AWS_ENDPOINT_URL_${id}`]],
      ["AWS_ENDPOINT_URL", env.AWS_ENDPOINT_URL],
      [
        `endpoint_url of ${section} in [services ${profile.services}] of the AWS config file`,
        services?.[`${section}.endpoint_url`],
      ],
      ["endpoint_url of the profile in the AWS config file", profile.endpoint_url],
    ];
    const found = candidates.find(([, value]) => value !== undefined && value.trim() !== "");
    if (found) {
      out[key] = checkEndpoint((found[1] as string).trim(), found[0]).href.replace(/\/$/, "");
    }
  }
  return out;
}

function homeOf(env: Record<string, string | undefined>): string {
  const home = env.HOME || env.USERPROFILE;
  if (!home) throw new ConfigError("cannot find the home directory (HOME is not set) to read ~/.aws/config");
  return home;
}

/** Credentials in variables are used as they are: a line break in one would end up in a header. */
function checkCredentialVariables(env: Record<string, string | undefined>): void {
  for (const name of ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"]) {
    const value = env[name];
    if (value !== undefined && /[\r\n]/.test(value)) {
      throw new ConfigError(`${name} holds a line break (CR or LF); set it to the value on one line`);
    }
  }
  registerSecret(env.AWS_SECRET_ACCESS_KEY);
  registerSecret(env.AWS_SESSION_TOKEN);
}

/**
 * Maps an AWS environment to `listEc2Ips` options the way the AWS CLI and SDKs read it: static keys
 * (`AWS_ACCESS_KEY_ID`...), else the profile (`AWS_PROFILE`, `~/.aws/config` and
 * `~/.aws/credentials`, `AWS_CONFIG_FILE`/`AWS_SHARED_CREDENTIALS_FILE`), else the SDK's default
 * chain (container and instance roles). Endpoints come from the variables and the config file (see
 * {@link endpointsFromEnvironment}), also for the nested STS, SSO and SSO-OIDC clients a profile
 * may need, and each is checked against the endpoint policy.
 *
 * In sso mode, a profile with `sso_session` gets its token from the SDK's own `fromSso` provider,
 * which refreshes it through SSO-OIDC `CreateToken` within 5 minutes of its expiry (also mid-run)
 * and writes it back to `~/.aws/sso/cache/<sha1 of the session name>.json`. A legacy profile
 * (`sso_start_url` in the profile) has no refresh token: its cached token is read as it is.
 */
export async function resolveAwsSettings(input: AwsEnvironmentInput): Promise<AwsSettings> {
  const env = input.env;
  checkCredentialVariables(env);
  const explicitProfile = input.profile ?? env.AWS_PROFILE;
  const profile = explicitProfile ?? "default";
  const home = env.HOME || env.USERPROFILE;
  const configFilepath = env.AWS_CONFIG_FILE ?? (home ? join(home, ".aws", "config") : undefined);
  const filepath = env.AWS_SHARED_CREDENTIALS_FILE ?? (home ? join(home, ".aws", "credentials") : undefined);
  let config: Record<string, Section> = {};
  let profileData: Section = {};
  if (configFilepath && filepath) {
    const files = await loadSharedConfigFiles({ configFilepath, filepath, ignoreCache: true });
    config = files.configFile as Record<string, Section>;
    profileData = { ...files.credentialsFile[profile], ...files.configFile[profile] };
  }
  const endpoints = endpointsFromEnvironment(env, profileData, config);
  const region =
    input.region ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? profileData.region ?? "us-east-1";
  const nestedEndpoint = endpoints.sts ?? endpoints.sso;
  const clientConfig = { region, ...(nestedEndpoint ? { endpoint: nestedEndpoint } : {}) };

  if (input.mode === "sso") {
    return {
      region,
      endpoints,
      profile,
      sso: await ssoSettings(input, profile, profileData, config, endpoints, configFilepath, filepath),
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
      clientPlugins: [endpointPolicyPlugin],
    });
  } else {
    credentials = fromNodeProviderChain({ clientConfig, clientPlugins: [endpointPolicyPlugin] });
  }
  return { region, endpoints, profile, credentials };
}

async function ssoSettings(
  input: AwsEnvironmentInput,
  profile: string,
  data: Section,
  config: Record<string, Section>,
  endpoints: Ec2IpsEndpoints,
  configFilepath: string | undefined,
  filepath: string | undefined,
): Promise<Ec2IpsSsoOptions> {
  const roleName = input.ssoRoleName ?? data.sso_role_name;
  const sessionName = data.sso_session;
  if (sessionName) {
    const session = config[`sso-session.${sessionName}`];
    if (!session)
      throw new ConfigError(
        `profile ${profile} names sso_session ${sessionName}, which the AWS config file does not define`,
      );
    if (!session.sso_region || !session.sso_start_url)
      throw new ConfigError(`sso-session ${sessionName} needs sso_start_url and sso_region`);
    if (!roleName) throw new UsageError(`give an SSO role name (profile ${profile} has no sso_role_name)`);
    // The SDK's own provider: cached token while more than 5 minutes remain, else CreateToken with
    // the cache's refresh token, written back to the cache. Its SSO-OIDC client gets the endpoint
    // resolved (and checked) here, and the same policy again just before anything is sent.
    const provider = fromSso({
      profile,
      ...(configFilepath ? { configFilepath } : {}),
      ...(filepath ? { filepath } : {}),
      clientConfig: {
        region: session.sso_region,
        requestHandler: new PolicyCheckedHandler(),
        ...(endpoints.ssoOidc ? { endpoint: endpoints.ssoOidc } : { ignoreConfiguredEndpointUrls: true }),
      },
    });
    return {
      accessToken: async () => (await provider()).token,
      roleName,
      region: session.sso_region,
      sessionName,
    };
  }
  const startUrl = data.sso_start_url;
  const ssoRegion = data.sso_region;
  const login = `run \`aws sso login --profile ${profile}\``;
  if (!startUrl || !ssoRegion) {
    throw new ConfigError(
      `profile ${profile} has no IAM Identity Center settings (sso_session, or sso_start_url and sso_region); run \`aws configure sso --profile ${profile}\``,
    );
  }
  if (!roleName) throw new UsageError(`give an SSO role name (profile ${profile} has no sso_role_name)`);
  // A legacy profile's token (cache file named by the start URL's sha1) cannot be refreshed.
  const file = join(
    homeOf(input.env),
    ".aws",
    "sso",
    "cache",
    `${createHash("sha1").update(startUrl).digest("hex")}.json`,
  );
  let token: { accessToken?: string; expiresAt?: string };
  try {
    token = JSON.parse(await readFile(file, "utf8")) as typeof token;
  } catch (cause) {
    throw new AuthError(`no IAM Identity Center token cached for profile ${profile}; ${login}`, { cause });
  }
  if (!token.accessToken)
    throw new AuthError(`the cached IAM Identity Center token for profile ${profile} is empty; ${login}`);
  registerSecret(token.accessToken);
  const expires = token.expiresAt ? Date.parse(token.expiresAt) : Number.NaN;
  if (Number.isFinite(expires) && expires <= (input.now ?? Date.now)()) {
    throw new AuthError(
      `the IAM Identity Center token for profile ${profile} expired at ${token.expiresAt}; ${login}`,
      { code: "ERR_AUTH_EXPIRED" },
    );
  }
  return { accessToken: token.accessToken, roleName, region: ssoRegion };
}
