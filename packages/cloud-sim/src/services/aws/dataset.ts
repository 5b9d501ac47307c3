import type { DatasetProblem } from "../definition.js";
import { ALL_REGIONS, DEFAULT_REGIONS, REGION_PATTERN } from "./regions.js";

/** Organizations account states (ListAccounts `State`). */
export type AwsAccountState = "PENDING_ACTIVATION" | "ACTIVE" | "SUSPENDED" | "PENDING_CLOSURE" | "CLOSED";

/** An Organizations account, as ListAccounts returns it. */
export interface AwsAccount {
  Id: string;
  Name: string;
  Email: string;
  State: AwsAccountState;
  JoinedMethod?: "INVITED" | "CREATED";
  /** ISO-8601; sent as epoch seconds, as Organizations does. */
  JoinedTimestamp?: string;
}

export interface AwsTag {
  Key: string;
  Value: string;
}

export interface AwsIpAssociation {
  PublicIp?: string;
  /** `amazon` for an auto-assigned public IP, the owner's account id for an Elastic IP. */
  IpOwnerId?: string;
  PublicDnsName?: string;
  CarrierIp?: string;
  CustomerOwnedIp?: string;
}

export interface AwsPrivateIp {
  PrivateIpAddress: string;
  Primary: boolean;
  PrivateDnsName?: string;
  Association?: AwsIpAssociation;
}

export interface AwsNetworkInterface {
  NetworkInterfaceId: string;
  Attachment: {
    AttachmentId?: string;
    DeviceIndex: number;
    NetworkCardIndex?: number;
    Status?: "attaching" | "attached" | "detaching" | "detached";
    DeleteOnTermination?: boolean;
  };
  Description?: string;
  MacAddress?: string;
  OwnerId?: string;
  PrivateDnsName?: string;
  PrivateIpAddress?: string;
  Association?: AwsIpAssociation;
  PrivateIpAddresses: AwsPrivateIp[];
  Ipv6Addresses: Array<{ Ipv6Address: string; IsPrimaryIpv6?: boolean }>;
  Ipv4Prefixes?: Array<{ Ipv4Prefix: string }>;
  Ipv6Prefixes?: Array<{ Ipv6Prefix: string }>;
  SubnetId?: string;
  VpcId?: string;
  Status?: "available" | "associated" | "attaching" | "in-use" | "detaching";
  InterfaceType?: string;
  SourceDestCheck?: boolean;
}

export type AwsInstanceStateName =
  | "pending"
  | "running"
  | "shutting-down"
  | "terminated"
  | "stopping"
  | "stopped";

/** An EC2 instance in the SDK's (DescribeInstances) shape; the simulator serialises it as EC2 XML. */
export interface AwsInstance {
  InstanceId: string;
  InstanceType: string;
  State: { Code: number; Name: AwsInstanceStateName };
  ImageId?: string;
  Architecture?: string;
  LaunchTime?: string;
  Placement?: { AvailabilityZone: string };
  PrivateDnsName?: string;
  PublicDnsName?: string;
  StateTransitionReason?: string;
  SubnetId?: string;
  VpcId?: string;
  /** The primary ENI's primary private IPv4 (absent on IPv6-only and terminated instances). */
  PrivateIpAddress?: string;
  /** The primary ENI's public IPv4, when it has one. */
  PublicIpAddress?: string;
  Ipv6Address?: string;
  Tags?: AwsTag[];
  NetworkInterfaces?: AwsNetworkInterface[];
}

/** The `aws` section of a dataset (SPEC section 7). */
export interface AwsDataset {
  /** The Organization's management account: the caller of the simulator's environment() credentials (default 111111111111). */
  managementAccountId?: string;
  /** `o-` followed by 10-32 lower-case letters or digits (default derived from the management account). */
  organizationId?: string;
  accounts?: AwsAccount[];
  /** Accounts whose role cannot be assumed (AssumeRole answers AccessDenied). */
  assumeRoleDenied?: string[];
  /** The role AssumeRole accepts in member accounts (default `OrganizationAccountAccessRole`). */
  roleName?: string;
  /** Regions enabled per account (default: the 17 regions enabled in every account). */
  enabledRegions?: Record<string, string[]>;
  /** Accounts whose SCP denies ec2:DescribeRegions (UnauthorizedOperation). */
  describeRegionsDenied?: string[];
  /** Account -> regions where an SCP denies EC2 (DescribeInstances answers UnauthorizedOperation). */
  regionsDenied?: Record<string, string[]>;
  /** Account -> region -> instances. */
  instances?: Record<string, Record<string, AwsInstance[]>>;
  /** IAM Identity Center: the signed-in user's token and assignments. */
  sso?: {
    accessToken: string;
    /** ISO-8601 expiry of the access token (default: never, in the simulator). */
    expiresAt?: string;
    /**
     * The `sso_session` refresh grant (SSO-OIDC `CreateToken` with `grantType: "refresh_token"`):
     * the refresh token and the registered client's id and secret, as `aws sso login` caches them.
     * All three or none.
     */
    refreshToken?: string;
    clientId?: string;
    clientSecret?: string;
    /** The permission set assigned in every listed account unless `roles` says otherwise. */
    roleName: string;
    accounts: string[];
    /** Account -> role names the user may use there (overrides `roleName` for that account). */
    roles?: Record<string, string[]>;
  };
}

export const DEFAULT_ROLE_NAME = "OrganizationAccountAccessRole";

/** Regions enabled in an account. */
export function enabledRegionsOf(data: AwsDataset, accountId: string): readonly string[] {
  return data.enabledRegions?.[accountId] ?? DEFAULT_REGIONS;
}

const accountId = { type: "string", pattern: "^\\d{12}$" };
const region = { type: "string", pattern: REGION_PATTERN };
const ipv4 = { type: "string", pattern: "^(\\d{1,3}\\.){3}\\d{1,3}$" };
const ipv6 = { type: "string", pattern: "^[0-9a-fA-F:]+:[0-9a-fA-F:.]*$" };
const dateTime = {
  type: "string",
  pattern: "^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(\\.\\d+)?(Z|[+-]\\d{2}:\\d{2})$",
};
const strict = (properties: Record<string, unknown>, required: string[] = []) => ({
  type: "object",
  properties,
  required,
  additionalProperties: false,
});

const association = strict({
  PublicIp: ipv4,
  IpOwnerId: { type: "string", pattern: "^(amazon|amazon-elb|\\d{12})$" },
  PublicDnsName: { type: "string" },
  CarrierIp: ipv4,
  CustomerOwnedIp: ipv4,
});

const networkInterface = strict(
  {
    NetworkInterfaceId: { type: "string", pattern: "^eni-[0-9a-z]+$" },
    Attachment: strict(
      {
        AttachmentId: { type: "string" },
        DeviceIndex: { type: "integer", minimum: 0 },
        NetworkCardIndex: { type: "integer", minimum: 0 },
        Status: { enum: ["attaching", "attached", "detaching", "detached"] },
        DeleteOnTermination: { type: "boolean" },
      },
      ["DeviceIndex"],
    ),
    Description: { type: "string" },
    MacAddress: { type: "string" },
    OwnerId: accountId,
    PrivateDnsName: { type: "string" },
    PrivateIpAddress: ipv4,
    Association: association,
    PrivateIpAddresses: {
      type: "array",
      items: strict(
        {
          PrivateIpAddress: ipv4,
          Primary: { type: "boolean" },
          PrivateDnsName: { type: "string" },
          Association: association,
        },
        ["PrivateIpAddress", "Primary"],
      ),
    },
    Ipv6Addresses: {
      type: "array",
      items: strict({ Ipv6Address: ipv6, IsPrimaryIpv6: { type: "boolean" } }, ["Ipv6Address"]),
    },
    Ipv4Prefixes: { type: "array", items: strict({ Ipv4Prefix: { type: "string" } }, ["Ipv4Prefix"]) },
    Ipv6Prefixes: { type: "array", items: strict({ Ipv6Prefix: { type: "string" } }, ["Ipv6Prefix"]) },
    SubnetId: { type: "string" },
    VpcId: { type: "string" },
    Status: { enum: ["available", "associated", "attaching", "in-use", "detaching"] },
    InterfaceType: { type: "string" },
    SourceDestCheck: { type: "boolean" },
  },
  ["NetworkInterfaceId", "Attachment", "PrivateIpAddresses", "Ipv6Addresses"],
);

/** EC2's instance state codes (the low byte of `State.Code`). */
export const STATE_CODES: Record<AwsInstanceStateName, number> = {
  pending: 0,
  running: 16,
  "shutting-down": 32,
  terminated: 48,
  stopping: 64,
  stopped: 80,
};

const instance = strict(
  {
    InstanceId: { type: "string", pattern: "^i-[0-9a-f]{8,17}$" },
    InstanceType: { type: "string", minLength: 1 },
    State: strict(
      { Code: { type: "integer", minimum: 0, maximum: 65535 }, Name: { enum: Object.keys(STATE_CODES) } },
      ["Code", "Name"],
    ),
    ImageId: { type: "string" },
    Architecture: { type: "string" },
    LaunchTime: dateTime,
    Placement: strict({ AvailabilityZone: { type: "string" } }, ["AvailabilityZone"]),
    PrivateDnsName: { type: "string" },
    PublicDnsName: { type: "string" },
    StateTransitionReason: { type: "string" },
    SubnetId: { type: "string" },
    VpcId: { type: "string" },
    PrivateIpAddress: ipv4,
    PublicIpAddress: ipv4,
    Ipv6Address: ipv6,
    Tags: {
      type: "array",
      items: strict({ Key: { type: "string" }, Value: { type: "string" } }, ["Key", "Value"]),
    },
    NetworkInterfaces: { type: "array", items: networkInterface },
  },
  ["InstanceId", "InstanceType", "State"],
);

/** JSON Schema of the `aws` section: every object strict, unknown keys rejected. */
export const awsDatasetSchema: Record<string, unknown> = strict(
  {
    managementAccountId: accountId,
    organizationId: { type: "string", pattern: "^o-[a-z0-9]{10,32}$" },
    accounts: {
      type: "array",
      items: strict(
        {
          Id: accountId,
          Name: { type: "string", minLength: 1, maxLength: 50 },
          Email: { type: "string", minLength: 6, maxLength: 64, pattern: "^[^\\s@]+@[^\\s@]+$" },
          State: { enum: ["PENDING_ACTIVATION", "ACTIVE", "SUSPENDED", "PENDING_CLOSURE", "CLOSED"] },
          JoinedMethod: { enum: ["INVITED", "CREATED"] },
          JoinedTimestamp: dateTime,
        },
        ["Id", "Name", "Email", "State"],
      ),
    },
    assumeRoleDenied: { type: "array", items: accountId },
    roleName: { type: "string", pattern: "^[\\w+=,.@-]{1,64}$" },
    enabledRegions: {
      type: "object",
      propertyNames: { pattern: "^\\d{12}$" },
      additionalProperties: { type: "array", items: region },
    },
    describeRegionsDenied: { type: "array", items: accountId },
    regionsDenied: {
      type: "object",
      propertyNames: { pattern: "^\\d{12}$" },
      additionalProperties: { type: "array", items: region },
    },
    instances: {
      type: "object",
      propertyNames: { pattern: "^\\d{12}$" },
      additionalProperties: {
        type: "object",
        propertyNames: { pattern: REGION_PATTERN },
        additionalProperties: { type: "array", items: instance },
      },
    },
    sso: strict(
      {
        accessToken: { type: "string", minLength: 1 },
        expiresAt: dateTime,
        refreshToken: { type: "string", minLength: 1 },
        clientId: { type: "string", minLength: 1 },
        clientSecret: { type: "string", minLength: 1 },
        roleName: { type: "string", minLength: 1 },
        accounts: { type: "array", items: accountId },
        roles: {
          type: "object",
          propertyNames: { pattern: "^\\d{12}$" },
          additionalProperties: { type: "array", items: { type: "string", minLength: 1 } },
        },
      },
      ["accessToken", "roleName", "accounts"],
    ),
  },
  // An empty section is an Organization with no accounts (every dataset key is optional).
  [],
);

/** Cross references the schema cannot express. */
export function checkAwsDataset(data: AwsDataset): DatasetProblem[] {
  const problems: DatasetProblem[] = [];
  const ids = new Map<string, number>();
  const accounts = data.accounts ?? [];
  accounts.forEach((a, i) => {
    if (ids.has(a.Id))
      problems.push({ path: `$.aws.accounts[${i}].Id`, message: `duplicates account ${a.Id}` });
    ids.set(a.Id, i);
  });
  if (data.managementAccountId !== undefined && !ids.has(data.managementAccountId)) {
    problems.push({ path: "$.aws.managementAccountId", message: "is not one of $.aws.accounts" });
  }
  const known = (path: string, id: string) => {
    if (!ids.has(id)) problems.push({ path, message: `names account ${id}, which is not in $.aws.accounts` });
  };
  for (const [i, id] of (data.assumeRoleDenied ?? []).entries()) known(`$.aws.assumeRoleDenied[${i}]`, id);
  for (const [i, id] of (data.describeRegionsDenied ?? []).entries())
    known(`$.aws.describeRegionsDenied[${i}]`, id);
  for (const [id, regions] of Object.entries(data.enabledRegions ?? {})) {
    known(`$.aws.enabledRegions["${id}"]`, id);
    regions.forEach((r, i) => {
      if (!ALL_REGIONS.includes(r)) {
        problems.push({
          path: `$.aws.enabledRegions["${id}"][${i}]`,
          message: `is not a region the simulator knows (${r})`,
        });
      }
    });
  }
  for (const [id, regions] of Object.entries(data.regionsDenied ?? {})) {
    known(`$.aws.regionsDenied["${id}"]`, id);
    regions.forEach((r, i) => {
      if (!enabledRegionsOf(data, id).includes(r)) {
        problems.push({
          path: `$.aws.regionsDenied["${id}"][${i}]`,
          message: `is not enabled in account ${id}`,
        });
      }
    });
  }
  const instanceIds = new Set<string>();
  const eniIds = new Set<string>();
  for (const [id, byRegion] of Object.entries(data.instances ?? {})) {
    known(`$.aws.instances["${id}"]`, id);
    for (const [r, list] of Object.entries(byRegion)) {
      const base = `$.aws.instances["${id}"]["${r}"]`;
      if (!enabledRegionsOf(data, id).includes(r)) {
        problems.push({ path: base, message: `region ${r} is not enabled in account ${id}` });
      }
      list.forEach((inst, i) => {
        const p = `${base}[${i}]`;
        if (instanceIds.has(inst.InstanceId))
          problems.push({ path: `${p}.InstanceId`, message: "duplicates an instance id" });
        instanceIds.add(inst.InstanceId);
        if (STATE_CODES[inst.State.Name] !== (inst.State.Code & 0xff)) {
          problems.push({ path: `${p}.State.Code`, message: `does not match state ${inst.State.Name}` });
        }
        const indexes = new Set<string>();
        (inst.NetworkInterfaces ?? []).forEach((eni, j) => {
          const ep = `${p}.NetworkInterfaces[${j}]`;
          if (eniIds.has(eni.NetworkInterfaceId)) {
            problems.push({ path: `${ep}.NetworkInterfaceId`, message: "duplicates a network interface id" });
          }
          eniIds.add(eni.NetworkInterfaceId);
          const slot = `${eni.Attachment.NetworkCardIndex ?? 0}/${eni.Attachment.DeviceIndex}`;
          if (indexes.has(slot))
            problems.push({ path: `${ep}.Attachment.DeviceIndex`, message: "is used twice" });
          indexes.add(slot);
          const primaries = eni.PrivateIpAddresses.filter((ip) => ip.Primary).length;
          if (primaries > 1)
            problems.push({ path: `${ep}.PrivateIpAddresses`, message: "has more than one primary IP" });
        });
      });
    }
  }
  if (data.sso) {
    const grant = [data.sso.refreshToken, data.sso.clientId, data.sso.clientSecret];
    if (grant.some((v) => v !== undefined) && grant.some((v) => v === undefined)) {
      problems.push({
        path: "$.aws.sso",
        message: "refreshToken, clientId and clientSecret go together (all three or none)",
      });
    }
    for (const [i, id] of data.sso.accounts.entries()) known(`$.aws.sso.accounts[${i}]`, id);
    for (const id of Object.keys(data.sso.roles ?? {})) {
      if (!data.sso.accounts.includes(id)) {
        problems.push({
          path: `$.aws.sso.roles["${id}"]`,
          message: "names an account not in $.aws.sso.accounts",
        });
      }
    }
  }
  return problems;
}
