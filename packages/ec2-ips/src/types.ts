import type { EC2ClientConfig } from "@aws-sdk/client-ec2";
import type { CloudAdminError } from "@cloudadmin/errors";
import type { JobOptions, Shard } from "@cloudadmin/paging";

/** Static credentials or a provider, as the AWS SDK takes them. */
export type AwsCredentials = NonNullable<EC2ClientConfig["credentials"]>;

/** A public IPv4 address and how it is held. */
export interface Ec2PublicIp {
  ip: string;
  /** `elastic` when an account owns it (IpOwnerId is an account id), `ephemeral` when auto-assigned. */
  kind: "elastic" | "ephemeral";
  /** The private IPv4 it maps to (null on IPv6-only interfaces). */
  privateIp: string | null;
}

export interface Ec2NetworkInterfaceRecord {
  id: string;
  deviceIndex: number;
  networkCardIndex: number;
  /** Primary private IPv4 first, then secondary ones in the order EC2 lists them. */
  privateIps: string[];
  publicIps: Ec2PublicIp[];
  ipv6Ips: string[];
  /** Delegated prefixes, as CIDR (never expanded). */
  ipv4Prefixes: string[];
  ipv6Prefixes: string[];
}

/** One EC2 instance with every address it holds (SPEC section 4). */
export interface Ec2InstanceRecord {
  accountId: string;
  accountName: string | null;
  region: string;
  instanceId: string;
  instanceType: string | null;
  /** The state name: `pending`, `running`, `stopping`, `stopped`, `shutting-down`, `terminated`. */
  state: string | null;
  /** The Name tag, or null. */
  name: string | null;
  /** Every private IPv4 of every interface: the primary interface's primary IP first, then by device index and position. */
  privateIps: string[];
  /** Every public IPv4 (auto-assigned, Elastic, carrier), deduplicated. */
  publicIps: string[];
  ipv6Ips: string[];
  networkInterfaces: Ec2NetworkInterfaceRecord[];
}

/** Counters of a run, sent with every progress event and as the run's summary. */
export interface Ec2IpsCounts {
  /** Accounts listed by Organizations or IAM Identity Center. */
  accountsListed: number;
  /** Accounts in scope (listed, ACTIVE and within `accounts`). */
  accountsTotal: number;
  /** Accounts listed that belong to another shard (see `shard`), neither read nor skipped here. */
  accountsOtherShards: number;
  /** Accounts skipped because their State is not ACTIVE. */
  accountsSkipped: number;
  accountsDone: number;
  accountsFailed: number;
  /** Regions to read, summed over the accounts whose regions are known. */
  regionsTotal: number;
  regionsDone: number;
  regionsFailed: number;
  /** Regions asked for with `regions` that an account has not enabled (skipped, never called). */
  regionsNotEnabled: number;
  instances: number;
  /** HTTP requests sent (each attempt counts). */
  requests: number;
  retries: number;
  /** Attempts the service throttled. */
  throttled: number;
  errors: number;
  /** True once the account listing has ended (so `accountsTotal` is final). */
  listingComplete: boolean;
}

/**
 * The step a failed scope was in: the `phase` of the `CloudAdminError` that `onError` receives.
 * Its `scope` is `organization`, `sso`, an account id or `account/region`.
 */
export type Ec2IpsPhase =
  | "list-accounts"
  | "caller-identity"
  | "assume-role"
  | "get-role-credentials"
  | "describe-regions"
  | "describe-instances";

export type Ec2IpsProgressEvent =
  | { type: "account-listed"; accountId: string; skipped: boolean; counts: Ec2IpsCounts }
  | { type: "account-in-other-shard"; accountId: string; counts: Ec2IpsCounts }
  | { type: "listing-complete"; counts: Ec2IpsCounts }
  | { type: "regions-listed"; accountId: string; regions: string[]; counts: Ec2IpsCounts }
  | { type: "region-done"; accountId: string; region: string; instances: number; counts: Ec2IpsCounts }
  | { type: "account-done"; accountId: string; failed: boolean; counts: Ec2IpsCounts }
  | { type: "retry"; accountId?: string; region?: string; throttled: boolean; counts: Ec2IpsCounts }
  | { type: "warning"; message: string; accountId?: string; counts: Ec2IpsCounts }
  | { type: "error"; error: CloudAdminError; counts: Ec2IpsCounts }
  | { type: "done"; counts: Ec2IpsCounts };

/** Service endpoints (default: the SDK's own resolution, which honours `AWS_ENDPOINT_URL*`). */
export interface Ec2IpsEndpoints {
  ec2?: string;
  sts?: string;
  organizations?: string;
  sso?: string;
  /** IAM Identity Center OIDC (`CreateToken`, used to refresh an `sso_session` token). */
  ssoOidc?: string;
}

export interface Ec2IpsSsoOptions {
  /**
   * The IAM Identity Center access token, or a function that returns a valid one whenever it is
   * called (`resolveAwsSettings` gives the SDK's `fromSso` token provider, which refreshes an
   * `sso_session` token within 5 minutes of its expiry). Called before each portal request.
   */
  accessToken: string | (() => Promise<string>);
  /** The permission set to use in each account. */
  roleName: string;
  /** The Identity Center region (`sso_region`). */
  region: string;
  /** The `sso_session` name, for messages (`aws sso login --sso-session <name>`). */
  sessionName?: string;
}

/**
 * Options of {@link listEc2Ips}. `signal`, `timeoutMs` (default `DEFAULT_TIMEOUT_MS`, 30 s),
 * `concurrency` (default 64), `maxRetries` (default 5), `timer`, `random` and `onError` are the
 * options every cloudadmin job takes (`JobOptions`).
 */
export interface ListEc2IpsOptions extends JobOptions {
  /** `org` (default): list the Organization and assume `roleName` in each member; `sso`: IAM Identity Center. */
  mode?: "org" | "sso";
  /** The caller's credentials (org mode). Default: the SDK's standard provider chain. */
  credentials?: AwsCredentials;
  /** Region for Organizations, STS and DescribeRegions (default `us-east-1`). STS is called regionally. */
  region?: string;
  /** Role assumed in member accounts (default `OrganizationAccountAccessRole`). */
  roleName?: string;
  /** RoleSessionName for AssumeRole (default `cloudadmin-ec2-ips`). */
  roleSessionName?: string;
  /** IAM Identity Center settings (required in sso mode). */
  sso?: Ec2IpsSsoOptions;
  /** Only these account ids. */
  accounts?: readonly string[];
  /** Only these regions (intersected with each account's enabled regions). */
  regions?: readonly string[];
  /** Regions to read when DescribeRegions is denied (default: `regions`, else the account fails). */
  fallbackRegions?: readonly string[];
  /** Only instances in these states (the `instance-state-name` filter). */
  states?: readonly string[];
  /**
   * Read only this shard's share of the accounts: every account is listed (cheap), and only those
   * with `shardOf(accountId, shard.count) === shard.index` are read (the `account-listed`
   * progress events name them; `account-in-other-shard` events name the others, which are counted
   * in `accountsOtherShards`).
   */
  shard?: Shard;
  /** Endpoints (default: the SDK's own resolution). Every endpoint a client resolves must be https, or http on loopback. */
  endpoints?: Ec2IpsEndpoints;
  /** Extra PEM CA certificate(s) to trust for https endpoints (an emulator's), besides Node's own. */
  ca?: string;
  /** DescribeInstances page size, 5-1000 (default 1000). */
  pageSize?: number;
  onProgress?: (event: Ec2IpsProgressEvent) => void;
}
