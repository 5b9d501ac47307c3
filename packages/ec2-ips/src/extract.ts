import type {
  Instance,
  InstanceNetworkInterface,
  InstanceNetworkInterfaceAssociation,
} from "@aws-sdk/client-ec2";
import type { Ec2InstanceRecord, Ec2NetworkInterfaceRecord, Ec2PublicIp } from "./types.js";

function pushUnique(list: string[], value: string | undefined | null): void {
  if (value && !list.includes(value)) list.push(value);
}

/** `amazon` (or `amazon-elb`) means EC2 assigned it; an account id means an Elastic IP. */
function kindOf(association: InstanceNetworkInterfaceAssociation): Ec2PublicIp["kind"] {
  return association.IpOwnerId && /^\d{12}$/.test(association.IpOwnerId) ? "elastic" : "ephemeral";
}

/** Public address of an association: the public IPv4, or a Wavelength carrier IP. Customer-owned IPs are not public. */
function publicOf(association: InstanceNetworkInterfaceAssociation | undefined): string | undefined {
  return association?.PublicIp ?? association?.CarrierIp;
}

function interfaceRecord(eni: InstanceNetworkInterface): Ec2NetworkInterfaceRecord {
  const privateIps: string[] = [];
  const publicIps: Ec2PublicIp[] = [];
  const addPublic = (
    association: InstanceNetworkInterfaceAssociation | undefined,
    privateIp: string | null,
  ) => {
    const ip = publicOf(association);
    if (!ip || !association || publicIps.some((p) => p.ip === ip)) return;
    publicIps.push({ ip, kind: kindOf(association), privateIp });
  };
  // The primary private IP first, whatever order EC2 lists them in.
  const addresses = [...(eni.PrivateIpAddresses ?? [])].sort(
    (a, b) => Number(b.Primary ?? false) - Number(a.Primary ?? false),
  );
  for (const address of addresses) {
    pushUnique(privateIps, address.PrivateIpAddress);
    addPublic(address.Association, address.PrivateIpAddress ?? null);
  }
  // Older answers (and some partial ones) carry only the interface-level fields.
  if (eni.PrivateIpAddress && !privateIps.includes(eni.PrivateIpAddress))
    privateIps.unshift(eni.PrivateIpAddress);
  addPublic(eni.Association, eni.PrivateIpAddress ?? privateIps[0] ?? null);
  const ipv6Ips: string[] = [];
  for (const v6 of eni.Ipv6Addresses ?? []) pushUnique(ipv6Ips, v6.Ipv6Address);
  return {
    id: eni.NetworkInterfaceId ?? "",
    deviceIndex: eni.Attachment?.DeviceIndex ?? 0,
    networkCardIndex: eni.Attachment?.NetworkCardIndex ?? 0,
    privateIps,
    publicIps,
    ipv6Ips,
    ipv4Prefixes: (eni.Ipv4Prefixes ?? []).map((p) => p.Ipv4Prefix).filter((p): p is string => !!p),
    ipv6Prefixes: (eni.Ipv6Prefixes ?? []).map((p) => p.Ipv6Prefix).filter((p): p is string => !!p),
  };
}

/**
 * Every address of an instance, from every network interface (SPEC section 4): the instance-level
 * `PrivateIpAddress`/`PublicIpAddress` describe only the primary interface's primary address, so
 * they are used only as a fallback for answers without interface details.
 */
export function toInstanceRecord(
  instance: Instance,
  account: { accountId: string; accountName: string | null },
  region: string,
): Ec2InstanceRecord {
  const networkInterfaces = (instance.NetworkInterfaces ?? [])
    .map(interfaceRecord)
    .sort((a, b) => a.deviceIndex - b.deviceIndex || a.networkCardIndex - b.networkCardIndex);
  const privateIps: string[] = [];
  const publicIps: string[] = [];
  const ipv6Ips: string[] = [];
  for (const eni of networkInterfaces) {
    for (const ip of eni.privateIps) pushUnique(privateIps, ip);
    for (const p of eni.publicIps) pushUnique(publicIps, p.ip);
    for (const ip of eni.ipv6Ips) pushUnique(ipv6Ips, ip);
  }
  if (instance.PrivateIpAddress && !privateIps.includes(instance.PrivateIpAddress)) {
    privateIps.unshift(instance.PrivateIpAddress);
  }
  pushUnique(publicIps, instance.PublicIpAddress);
  pushUnique(ipv6Ips, instance.Ipv6Address);
  return {
    accountId: account.accountId,
    accountName: account.accountName,
    region,
    instanceId: instance.InstanceId ?? "",
    instanceType: instance.InstanceType ?? null,
    state: instance.State?.Name ?? null,
    name: instance.Tags?.find((t) => t.Key === "Name")?.Value ?? null,
    privateIps,
    publicIps,
    ipv6Ips,
    networkInterfaces,
  };
}
