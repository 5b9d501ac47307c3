import type { AwsInstance } from "./dataset.js";

/**
 * The IPs an instance holds in the dataset, sorted: every private IPv4 of every ENI, every public
 * IPv4 (auto-assigned, Elastic or carrier, on any ENI or secondary IP) and every IPv6, each once.
 * The ground truth that tests and benchmarks compare a client's output with.
 */
export function expectedInstanceIps(instance: AwsInstance): {
  privateIps: string[];
  publicIps: string[];
  ipv6Ips: string[];
} {
  const priv = new Set<string>();
  const pub = new Set<string>();
  const v6 = new Set<string>();
  for (const eni of instance.NetworkInterfaces ?? []) {
    for (const p of eni.PrivateIpAddresses) {
      priv.add(p.PrivateIpAddress);
      const ip = p.Association?.PublicIp ?? p.Association?.CarrierIp;
      if (ip) pub.add(ip);
    }
    for (const x of eni.Ipv6Addresses) v6.add(x.Ipv6Address);
  }
  return { privateIps: [...priv].sort(), publicIps: [...pub].sort(), ipv6Ips: [...v6].sort() };
}
