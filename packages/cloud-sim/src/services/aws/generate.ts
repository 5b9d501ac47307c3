import type { Rng } from "../../rng.js";
import type { Scale } from "../../scale.js";
import {
  type AwsAccount,
  type AwsAccountState,
  type AwsDataset,
  type AwsInstance,
  type AwsInstanceStateName,
  type AwsNetworkInterface,
  type AwsPrivateIp,
  STATE_CODES,
} from "./dataset.js";
import { DEFAULT_REGIONS } from "./regions.js";

/** Files an instance under its account and region. */
function addInstance(
  instances: Record<string, Record<string, AwsInstance[]>>,
  acct: string,
  region: string,
  inst: AwsInstance,
): void {
  const byRegion = instances[acct] ?? {};
  instances[acct] = byRegion;
  const list = byRegion[region] ?? [];
  byRegion[region] = list;
  list.push(inst);
}

const TYPES = [
  "t3.micro",
  "t3.small",
  "t3.medium",
  "m6i.large",
  "m6i.xlarge",
  "c7g.large",
  "r6i.2xlarge",
  "t4g.nano",
];

/** What one instance looks like; the generator picks these at the rates below. */
export interface InstanceTraits {
  state: AwsInstanceStateName;
  enis: number;
  secondaryIps: number;
  publicIp: "none" | "auto" | "elastic";
  eipOnSecondary: boolean;
  ipv6: number;
  ipv6Only: boolean;
  prefixes: boolean;
  carrierIp: boolean;
  customerOwnedIp: boolean;
  name: string | null;
}

/** Unique addresses for a whole dataset. */
class Addresses {
  private priv = 0;
  private pub = 0;
  private v6 = 0;
  private prefix = 0;
  private ids = 0;
  constructor(private readonly rng: Rng) {}
  private ip(base: number, n: number, first: number): string {
    const v = base + n;
    return `${first}.${(v >> 16) & 255}.${(v >> 8) & 255}.${v & 255}`;
  }
  private4(): string {
    return this.ip(0x010000, this.priv++, 10);
  }
  public4(): string {
    // 3.0.0.0/8 and then 18.0.0.0/8: AWS-owned ranges, never the same address twice.
    const n = this.pub++;
    return n < 0xfe0000 ? this.ip(0x010000, n, 3) : this.ip(0x010000, n - 0xfe0000, 18);
  }
  ipv6(): string {
    const n = this.v6++;
    return `2600:1f18:${(n >> 16).toString(16)}:${(n & 0xffff).toString(16)}::${(1 + (n % 250)).toString(16)}`;
  }
  prefix4(): string {
    const n = this.prefix++;
    return `172.${16 + ((n >> 12) & 15)}.${(n >> 4) & 255}.${(n & 15) * 16}/28`;
  }
  prefix6(): string {
    const n = this.prefix++;
    return `2600:1f18:ffff:${n.toString(16)}::/80`;
  }
  instanceId(): string {
    this.ids++;
    return `i-0${this.ids.toString(16).padStart(8, "0")}${this.rng.hex(8)}`;
  }
  eniId(): string {
    this.ids++;
    return `eni-0${this.ids.toString(16).padStart(8, "0")}${this.rng.hex(8)}`;
  }
}

export function randomTraits(rng: Rng, seq: number): InstanceTraits {
  const r = rng.next();
  const state: AwsInstanceStateName =
    r < 0.8
      ? "running"
      : r < 0.9
        ? "stopped"
        : r < 0.92
          ? "pending"
          : r < 0.93
            ? "stopping"
            : r < 0.94
              ? "shutting-down"
              : "terminated";
  const e = rng.next();
  const ipv6Only = rng.chance(0.01);
  const pub = rng.next();
  return {
    state,
    enis: e < 0.85 ? 1 : e < 0.97 ? 2 : 3,
    secondaryIps: ipv6Only ? 0 : rng.chance(0.1) ? rng.int(1, 3) : 0,
    publicIp: ipv6Only ? "none" : pub < 0.4 ? "auto" : pub < 0.5 ? "elastic" : "none",
    eipOnSecondary: rng.chance(0.3),
    ipv6: ipv6Only ? rng.int(1, 2) : rng.chance(0.1) ? rng.int(1, 2) : 0,
    ipv6Only,
    prefixes: rng.chance(0.01),
    carrierIp: rng.chance(0.005),
    customerOwnedIp: rng.chance(0.005),
    name: rng.chance(0.85) ? `${rng.pick(["web", "api", "db", "worker", "bastion", "cache"])}-${seq}` : null,
  };
}

function buildInstance(
  account: string,
  region: string,
  t: InstanceTraits,
  rng: Rng,
  addr: Addresses,
): AwsInstance {
  const zone = `${region}${rng.pick(["a", "b", "c"])}`;
  const vpc = `vpc-0${rng.hex(16)}`;
  const subnet = `subnet-0${rng.hex(16)}`;
  const inst: AwsInstance = {
    InstanceId: addr.instanceId(),
    ImageId: `ami-0${rng.hex(16)}`,
    InstanceType: rng.pick(TYPES),
    State: { Code: STATE_CODES[t.state], Name: t.state },
    LaunchTime: new Date(Date.UTC(2024, 0, 1) + rng.int(0, 700) * 86_400_000)
      .toISOString()
      .replace(".000Z", "Z"),
    Placement: { AvailabilityZone: zone },
    Architecture: "x86_64",
  };
  if (t.name !== null)
    inst.Tags = [
      { Key: "Name", Value: t.name },
      { Key: "env", Value: rng.pick(["prod", "dev"]) },
    ];
  else if (rng.chance(0.5)) inst.Tags = [{ Key: "team", Value: "platform" }];
  if (t.state === "terminated") {
    // Recently terminated instances linger in answers with no network interfaces and no addresses.
    inst.NetworkInterfaces = [];
    inst.StateTransitionReason = "User initiated (2026-11-27 10:00:00 GMT)";
    return inst;
  }
  inst.SubnetId = subnet;
  inst.VpcId = vpc;
  const stopped = t.state === "stopped" || t.state === "stopping";
  const enis: AwsNetworkInterface[] = [];
  for (let d = 0; d < t.enis; d++) {
    const ips: AwsPrivateIp[] = [];
    if (!t.ipv6Only) {
      const primary: AwsPrivateIp = { PrivateIpAddress: addr.private4(), Primary: true };
      primary.PrivateDnsName = `ip-${primary.PrivateIpAddress.replace(/\./g, "-")}.${region}.compute.internal`;
      if (d === 0 && t.publicIp !== "none" && !(stopped && t.publicIp === "auto")) {
        const ip = addr.public4();
        primary.Association = {
          PublicIp: ip,
          IpOwnerId: t.publicIp === "elastic" ? account : "amazon",
          PublicDnsName: `ec2-${ip.replace(/\./g, "-")}.compute-1.amazonaws.com`,
        };
      } else if (d === 0 && t.carrierIp) {
        primary.Association = { CarrierIp: addr.public4(), IpOwnerId: "amazon" };
      } else if (d === 0 && t.customerOwnedIp) {
        primary.Association = { CustomerOwnedIp: addr.private4(), IpOwnerId: account };
      }
      ips.push(primary);
      const extra = d === 0 ? t.secondaryIps : 0;
      for (let k = 0; k < extra; k++) {
        const sec: AwsPrivateIp = { PrivateIpAddress: addr.private4(), Primary: false };
        if (k === 0 && t.eipOnSecondary) sec.Association = { PublicIp: addr.public4(), IpOwnerId: account };
        ips.push(sec);
      }
    }
    const eni: AwsNetworkInterface = {
      NetworkInterfaceId: addr.eniId(),
      Attachment: {
        AttachmentId: `eni-attach-0${rng.hex(16)}`,
        DeviceIndex: d,
        Status: "attached",
        DeleteOnTermination: d === 0,
        // A third interface on the second network card (instances with several cards).
        NetworkCardIndex: d === 2 ? 1 : 0,
      },
      Description: "",
      OwnerId: account,
      Status: "in-use",
      SubnetId: subnet,
      VpcId: vpc,
      MacAddress: `0a:${rng.hex(2)}:${rng.hex(2)}:${rng.hex(2)}:${rng.hex(2)}:${rng.hex(2)}`,
      InterfaceType: "interface",
      SourceDestCheck: true,
      PrivateIpAddresses: ips,
      Ipv6Addresses: [],
    };
    const first = ips[0];
    if (first) {
      eni.PrivateIpAddress = first.PrivateIpAddress;
      if (first.PrivateDnsName) eni.PrivateDnsName = first.PrivateDnsName;
      if (first.Association) eni.Association = { ...first.Association };
    }
    if (d === 0) {
      for (let k = 0; k < t.ipv6; k++)
        eni.Ipv6Addresses.push({ Ipv6Address: addr.ipv6(), IsPrimaryIpv6: k === 0 });
      if (t.prefixes) {
        eni.Ipv4Prefixes = [{ Ipv4Prefix: addr.prefix4() }];
        eni.Ipv6Prefixes = [{ Ipv6Prefix: addr.prefix6() }];
      }
    } else if (t.ipv6 > 0 && d === 1) {
      eni.Ipv6Addresses.push({ Ipv6Address: addr.ipv6(), IsPrimaryIpv6: false });
    }
    enis.push(eni);
  }
  inst.NetworkInterfaces = enis;
  const primary = enis[0];
  const primaryIp = primary?.PrivateIpAddresses.find((ip) => ip.Primary);
  if (primaryIp) {
    inst.PrivateIpAddress = primaryIp.PrivateIpAddress;
    if (primaryIp.PrivateDnsName) inst.PrivateDnsName = primaryIp.PrivateDnsName;
  }
  if (primaryIp?.Association?.PublicIp) {
    inst.PublicIpAddress = primaryIp.Association.PublicIp;
    if (primaryIp.Association.PublicDnsName) inst.PublicDnsName = primaryIp.Association.PublicDnsName;
  }
  const v6 = primary?.Ipv6Addresses.find((a) => a.IsPrimaryIpv6);
  if (v6) inst.Ipv6Address = v6.Ipv6Address;
  return inst;
}

/** A fixed instance shape for datasets that must hold one specific edge case. */
export function edgeCaseTraits(kind: keyof typeof EDGE_CASES, seq: number): InstanceTraits {
  return { ...BASE_TRAITS, name: `${kind}-${seq}`, ...EDGE_CASES[kind] };
}

const BASE_TRAITS: InstanceTraits = {
  state: "running",
  enis: 1,
  secondaryIps: 0,
  publicIp: "none",
  eipOnSecondary: false,
  ipv6: 0,
  ipv6Only: false,
  prefixes: false,
  carrierIp: false,
  customerOwnedIp: false,
  name: null,
};

/** Every edge case of the AWS research notes (section 4), one instance each. */
export const EDGE_CASES = {
  plain: {},
  "multi-eni": { enis: 3, ipv6: 1 },
  "secondary-ips": { secondaryIps: 3, publicIp: "auto" as const, eipOnSecondary: true },
  "elastic-ip": { publicIp: "elastic" as const },
  "auto-ip": { publicIp: "auto" as const },
  "eip-on-secondary": { secondaryIps: 1, eipOnSecondary: true },
  "ipv6-dual": { ipv6: 2, publicIp: "auto" as const },
  "ipv6-only": { ipv6Only: true, ipv6: 2 },
  prefixes: { prefixes: true },
  "carrier-ip": { carrierIp: true },
  "customer-owned-ip": { customerOwnedIp: true },
  stopped: { state: "stopped" as const, publicIp: "auto" as const, secondaryIps: 1, eipOnSecondary: true },
  "stopped-eip": { state: "stopped" as const, publicIp: "elastic" as const },
  pending: { state: "pending" as const },
  terminated: { state: "terminated" as const },
  untagged: { name: null },
} satisfies Record<string, Partial<InstanceTraits>>;

function accountId(rng: Rng, used: Set<string>): string {
  for (;;) {
    const id = String(rng.int(100_000_000_000, 999_999_999_999));
    if (!used.has(id)) {
      used.add(id);
      return id;
    }
  }
}

function account(id: string, name: string, state: AwsAccountState, rng: Rng, invited = false): AwsAccount {
  return {
    Id: id,
    Name: name,
    Email: `aws+${name}@example.com`,
    State: state,
    JoinedMethod: invited ? "INVITED" : "CREATED",
    JoinedTimestamp: new Date(Date.UTC(2019, 0, 1) + rng.int(0, 2000) * 86_400_000)
      .toISOString()
      .replace(".000Z", "Z"),
  };
}

/**
 * The `small` dataset: a handful of accounts covering every instance edge case once, an opted-in
 * region, a suspended and an invited account (demos and tests).
 */
function generateSmall(rng: Rng): AwsDataset {
  const addr = new Addresses(rng);
  const mgmt = "111111111111";
  const prod = "222222222222";
  const legacy = "333333333333";
  const suspended = "444444444444";
  const invited = "555555555555";
  const dev = "666666666666";
  const accounts = [
    account(mgmt, "management", "ACTIVE", rng),
    account(prod, "prod", "ACTIVE", rng),
    account(legacy, "legacy", "ACTIVE", rng, true),
    account(suspended, "old-sandbox", "SUSPENDED", rng),
    account(invited, "partner", "ACTIVE", rng, true),
    account(dev, "dev", "ACTIVE", rng),
  ];
  const regions2 = ["us-east-1", "eu-west-1"];
  const enabledRegions: Record<string, string[]> = {
    [mgmt]: [...DEFAULT_REGIONS],
    [prod]: [...DEFAULT_REGIONS, "af-south-1"],
    [legacy]: [...DEFAULT_REGIONS],
    [suspended]: [...DEFAULT_REGIONS],
    [invited]: [...DEFAULT_REGIONS],
    [dev]: [...DEFAULT_REGIONS],
  };
  const instances: Record<string, Record<string, AwsInstance[]>> = {};
  const put = (acct: string, region: string, inst: AwsInstance) => addInstance(instances, acct, region, inst);
  let seq = 0;
  for (const kind of Object.keys(EDGE_CASES) as Array<keyof typeof EDGE_CASES>) {
    put(prod, "eu-west-1", buildInstance(prod, "eu-west-1", edgeCaseTraits(kind, ++seq), rng, addr));
  }
  // One region with more instances than a small page, to exercise NextToken.
  for (let i = 0; i < 12; i++)
    put(prod, "us-east-1", buildInstance(prod, "us-east-1", randomTraits(rng, ++seq), rng, addr));
  put(prod, "af-south-1", buildInstance(prod, "af-south-1", edgeCaseTraits("auto-ip", ++seq), rng, addr));
  for (const region of regions2) {
    put(mgmt, region, buildInstance(mgmt, region, edgeCaseTraits("elastic-ip", ++seq), rng, addr));
    put(legacy, region, buildInstance(legacy, region, edgeCaseTraits("plain", ++seq), rng, addr));
    put(suspended, region, buildInstance(suspended, region, edgeCaseTraits("plain", ++seq), rng, addr));
    put(dev, region, buildInstance(dev, region, randomTraits(rng, ++seq), rng, addr));
  }
  put(
    invited,
    "ap-southeast-2",
    buildInstance(invited, "ap-southeast-2", edgeCaseTraits("multi-eni", ++seq), rng, addr),
  );
  put(
    invited,
    "eu-central-1",
    buildInstance(invited, "eu-central-1", edgeCaseTraits("plain", ++seq), rng, addr),
  );
  return {
    managementAccountId: mgmt,
    organizationId: "o-sim1a2b3c4d5e",
    accounts,
    // No account or region fails here, so `--simulate` runs end cleanly (exit 0); tests add
    // assumeRoleDenied / regionsDenied / describeRegionsDenied where they need failures.
    enabledRegions,
    instances,
    sso: {
      accessToken: `sim-sso-token-${rng.hex(24)}`,
      refreshToken: `sim-sso-refresh-${rng.hex(24)}`,
      clientId: `sim-sso-client-${rng.hex(12)}`,
      clientSecret: `sim-sso-client-secret-${rng.hex(24)}`,
      roleName: "ReadOnly",
      accounts: [mgmt, prod, invited, dev],
      roles: { [dev]: ["ReadOnly", "Admin"] },
    },
  };
}

/**
 * The `large` dataset (the `ec2-org` benchmark, SPEC section 8): 300 accounts, 17 enabled and 4
 * disabled regions each, 30,000 instances skewed so that a few account-regions need several pages
 * of 1,000, 2% of accounts denying AssumeRole, and every edge case somewhere.
 */
function generateLarge(rng: Rng): AwsDataset {
  const addr = new Addresses(rng);
  const used = new Set<string>();
  const ids: string[] = [];
  for (let i = 0; i < 300; i++) ids.push(accountId(rng, used));
  const mgmt = ids[0] as string;
  const accounts = ids.map((id, i) => {
    const state: AwsAccountState =
      i === 17 || i === 140 ? "SUSPENDED" : i === 260 ? "PENDING_CLOSURE" : "ACTIVE";
    return account(
      id,
      i === 0 ? "management" : `acct-${String(i).padStart(3, "0")}`,
      state,
      rng,
      i % 10 === 3,
    );
  });
  const active = ids.filter((_, i) => accounts[i]?.State === "ACTIVE");
  // 2% of the Organization (6 accounts) deny AssumeRole.
  const deniedSet = new Set<string>();
  for (const i of [5, 48, 99, 151, 202, 288]) deniedSet.add(ids[i] as string);
  const enabledRegions: Record<string, string[]> = {};
  for (const id of ids) enabledRegions[id] = [...DEFAULT_REGIONS];
  const instances: Record<string, Record<string, AwsInstance[]>> = {};
  const counts = new Map<string, number>();
  const put = (acct: string, region: string, inst: AwsInstance) => {
    addInstance(instances, acct, region, inst);
    counts.set(`${acct}/${region}`, (counts.get(`${acct}/${region}`) ?? 0) + 1);
  };
  let seq = 0;
  const total = 30_000;
  // Skew: three account-regions need 3, 2 and 2 pages of 1,000.
  const heavy: Array<[string, string, number]> = [
    [ids[7] as string, "us-east-1", 2_600],
    [ids[42] as string, "eu-west-1", 1_700],
    [ids[200] as string, "us-west-2", 1_150],
  ];
  for (const [acct, region, n] of heavy) {
    for (let i = 0; i < n; i++)
      put(acct, region, buildInstance(acct, region, randomTraits(rng, ++seq), rng, addr));
  }
  // Every edge case, in an ordinary member account.
  const edgeAccount = ids[11] as string;
  for (const kind of Object.keys(EDGE_CASES) as Array<keyof typeof EDGE_CASES>) {
    put(
      edgeAccount,
      "eu-central-1",
      buildInstance(edgeAccount, "eu-central-1", edgeCaseTraits(kind, ++seq), rng, addr),
    );
  }
  // The rest: a few big accounts, most small; a few busy regions, most nearly empty.
  const regionWeights = DEFAULT_REGIONS.map((r, i) =>
    r === "us-east-1" ? 30 : r === "eu-west-1" ? 18 : r === "us-west-2" ? 12 : i < 6 ? 5 : 1.5,
  );
  const regionTotal = regionWeights.reduce((a, b) => a + b, 0);
  const accountWeights = ids.map((_, i) => 1 / (1 + i * 0.15) ** 0.9);
  const accountTotal = accountWeights.reduce((a, b) => a + b, 0);
  const pickWeighted = (weights: number[], sum: number): number => {
    let r = rng.next() * sum;
    for (let i = 0; i < weights.length; i++) {
      r -= weights[i] as number;
      if (r < 0) return i;
    }
    return weights.length - 1;
  };
  while (seq < total) {
    const acct = ids[pickWeighted(accountWeights, accountTotal)] as string;
    const region = DEFAULT_REGIONS[pickWeighted(regionWeights, regionTotal)] as string;
    if ((counts.get(`${acct}/${region}`) ?? 0) >= 900 && !heavy.some(([a, r]) => a === acct && r === region))
      continue;
    put(acct, region, buildInstance(acct, region, randomTraits(rng, ++seq), rng, addr));
  }
  const ssoAccounts = active.filter((_, i) => i % 7 !== 4);
  return {
    managementAccountId: mgmt,
    organizationId: `o-${rng.hex(10)}`,
    accounts,
    assumeRoleDenied: [...deniedSet],
    enabledRegions,
    describeRegionsDenied: [ids[77] as string],
    regionsDenied: { [ids[123] as string]: ["ap-northeast-3"] },
    instances,
    sso: {
      accessToken: `sim-sso-token-${rng.hex(24)}`,
      refreshToken: `sim-sso-refresh-${rng.hex(24)}`,
      clientId: `sim-sso-client-${rng.hex(12)}`,
      clientSecret: `sim-sso-client-secret-${rng.hex(24)}`,
      roleName: "ReadOnly",
      accounts: ssoAccounts,
      roles: { [ssoAccounts[3] as string]: ["Admin"] },
    },
  };
}

export function generateAwsDataset(rng: Rng, scale: Scale): AwsDataset {
  return scale === "large" ? generateLarge(rng) : generateSmall(rng);
}
