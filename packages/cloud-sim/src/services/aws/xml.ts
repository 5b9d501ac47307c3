import type { AwsInstance } from "./dataset.js";

/** Escapes text for an XML element body. */
export function esc(value: string): string {
  return value.replace(/[&<>"']/g, (c) =>
    c === "&" ? "&amp;" : c === "<" ? "&lt;" : c === ">" ? "&gt;" : c === '"' ? "&quot;" : "&apos;",
  );
}

/**
 * EC2's wire names for the members of the shapes the dataset holds (the service model's
 * `locationName`s: lists end in `Set` and hold `<item>`s, a few members are renamed, as
 * `PublicIpAddress` -> `ipAddress`). Kinds: a scalar, a nested structure, or a list of structures.
 */
type Member = [wire: string, shape?: string, list?: true];
const SHAPES: Record<string, Record<string, Member>> = {
  Instance: {
    InstanceId: ["instanceId"],
    ImageId: ["imageId"],
    State: ["instanceState", "InstanceState"],
    PrivateDnsName: ["privateDnsName"],
    PublicDnsName: ["dnsName"],
    StateTransitionReason: ["reason"],
    InstanceType: ["instanceType"],
    LaunchTime: ["launchTime"],
    Placement: ["placement", "Placement"],
    SubnetId: ["subnetId"],
    VpcId: ["vpcId"],
    PrivateIpAddress: ["privateIpAddress"],
    PublicIpAddress: ["ipAddress"],
    Architecture: ["architecture"],
    Tags: ["tagSet", "Tag", true],
    NetworkInterfaces: ["networkInterfaceSet", "NetworkInterface", true],
    Ipv6Address: ["ipv6Address"],
  },
  InstanceState: { Code: ["code"], Name: ["name"] },
  Placement: { AvailabilityZone: ["availabilityZone"] },
  Tag: { Key: ["key"], Value: ["value"] },
  NetworkInterface: {
    NetworkInterfaceId: ["networkInterfaceId"],
    SubnetId: ["subnetId"],
    VpcId: ["vpcId"],
    Description: ["description"],
    OwnerId: ["ownerId"],
    Status: ["status"],
    MacAddress: ["macAddress"],
    PrivateIpAddress: ["privateIpAddress"],
    PrivateDnsName: ["privateDnsName"],
    SourceDestCheck: ["sourceDestCheck"],
    Attachment: ["attachment", "Attachment"],
    Association: ["association", "Association"],
    PrivateIpAddresses: ["privateIpAddressesSet", "PrivateIp", true],
    Ipv6Addresses: ["ipv6AddressesSet", "Ipv6", true],
    Ipv4Prefixes: ["ipv4PrefixSet", "Ipv4Prefix", true],
    Ipv6Prefixes: ["ipv6PrefixSet", "Ipv6Prefix", true],
    InterfaceType: ["interfaceType"],
  },
  Attachment: {
    AttachmentId: ["attachmentId"],
    DeviceIndex: ["deviceIndex"],
    Status: ["status"],
    DeleteOnTermination: ["deleteOnTermination"],
    NetworkCardIndex: ["networkCardIndex"],
  },
  Association: {
    PublicIp: ["publicIp"],
    PublicDnsName: ["publicDnsName"],
    IpOwnerId: ["ipOwnerId"],
    CarrierIp: ["carrierIp"],
    CustomerOwnedIp: ["customerOwnedIp"],
  },
  PrivateIp: {
    PrivateIpAddress: ["privateIpAddress"],
    PrivateDnsName: ["privateDnsName"],
    Primary: ["primary"],
    Association: ["association", "Association"],
  },
  Ipv6: { Ipv6Address: ["ipv6Address"], IsPrimaryIpv6: ["isPrimaryIpv6"] },
  Ipv4Prefix: { Ipv4Prefix: ["ipv4Prefix"] },
  Ipv6Prefix: { Ipv6Prefix: ["ipv6Prefix"] },
};

function struct(shape: string, value: Record<string, unknown>, out: string[]): void {
  const members = SHAPES[shape];
  if (!members) throw new Error(`no wire shape ${shape}`);
  for (const [key, member] of Object.entries(members)) {
    const v = value[key];
    if (v === undefined || v === null) continue;
    const [wire, inner, list] = member;
    if (list) {
      const items = v as Array<Record<string, unknown>>;
      if (items.length === 0) {
        out.push(`<${wire}/>`);
        continue;
      }
      out.push(`<${wire}>`);
      for (const item of items) {
        out.push("<item>");
        struct(inner as string, item, out);
        out.push("</item>");
      }
      out.push(`</${wire}>`);
    } else if (inner) {
      out.push(`<${wire}>`);
      struct(inner, v as Record<string, unknown>, out);
      out.push(`</${wire}>`);
    } else {
      out.push(`<${wire}>${esc(String(v))}</${wire}>`);
    }
  }
}

/** One `<item>` of `instancesSet`. */
export function instanceXml(instance: AwsInstance, out: string[]): void {
  out.push("<item>");
  struct("Instance", instance as unknown as Record<string, unknown>, out);
  // Real answers always carry these sets, empty or not.
  if (!instance.NetworkInterfaces) out.push("<networkInterfaceSet/>");
  out.push("</item>");
}
