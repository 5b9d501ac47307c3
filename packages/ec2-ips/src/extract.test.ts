import type { Instance } from "@aws-sdk/client-ec2";
import { describe, expect, it } from "vitest";
import { toInstanceRecord } from "./extract.js";

const account = { accountId: "123456789012", accountName: "prod" };

describe("toInstanceRecord", () => {
  it("reads every ENI, secondary IP, Elastic vs auto-assigned IP and IPv6, in SPEC order", () => {
    // The shapes of the DescribeInstances sample in reference/aws.md section 1.2, ENIs listed out of order.
    const instance: Instance = {
      InstanceId: "i-1234567890abcdef0",
      InstanceType: "t2.micro",
      State: { Code: 16, Name: "running" },
      PrivateIpAddress: "192.168.1.88",
      PublicIpAddress: "54.194.252.215",
      Ipv6Address: "2001:db8:1234:1a2b::123",
      Tags: [
        { Key: "env", Value: "prod" },
        { Key: "Name", Value: "Server_1" },
      ],
      NetworkInterfaces: [
        {
          NetworkInterfaceId: "eni-a66ed5cf",
          Attachment: { DeviceIndex: 1 },
          PrivateIpAddress: "10.0.1.233",
          PrivateIpAddresses: [{ PrivateIpAddress: "10.0.1.233", Primary: true }],
          Ipv6Addresses: [],
        },
        {
          NetworkInterfaceId: "eni-551ba033",
          Attachment: { DeviceIndex: 0 },
          PrivateIpAddress: "192.168.1.88",
          Association: { PublicIp: "54.194.252.215", IpOwnerId: "amazon" },
          PrivateIpAddresses: [
            {
              PrivateIpAddress: "192.168.1.89",
              Primary: false,
              Association: { PublicIp: "18.210.215.25", IpOwnerId: "123456789012" },
            },
            {
              PrivateIpAddress: "192.168.1.88",
              Primary: true,
              Association: { PublicIp: "54.194.252.215", IpOwnerId: "amazon" },
            },
          ],
          Ipv6Addresses: [{ Ipv6Address: "2001:db8:1234:1a2b::123", IsPrimaryIpv6: true }],
          Ipv4Prefixes: [{ Ipv4Prefix: "10.0.5.16/28" }],
          Ipv6Prefixes: [{ Ipv6Prefix: "2001:db8:1234:1a2b:1::/80" }],
        },
      ],
    };
    expect(toInstanceRecord(instance, account, "eu-west-1")).toEqual({
      accountId: "123456789012",
      accountName: "prod",
      region: "eu-west-1",
      instanceId: "i-1234567890abcdef0",
      instanceType: "t2.micro",
      state: "running",
      name: "Server_1",
      privateIps: ["192.168.1.88", "192.168.1.89", "10.0.1.233"],
      publicIps: ["54.194.252.215", "18.210.215.25"],
      ipv6Ips: ["2001:db8:1234:1a2b::123"],
      networkInterfaces: [
        {
          id: "eni-551ba033",
          deviceIndex: 0,
          networkCardIndex: 0,
          privateIps: ["192.168.1.88", "192.168.1.89"],
          publicIps: [
            { ip: "54.194.252.215", kind: "ephemeral", privateIp: "192.168.1.88" },
            { ip: "18.210.215.25", kind: "elastic", privateIp: "192.168.1.89" },
          ],
          ipv6Ips: ["2001:db8:1234:1a2b::123"],
          ipv4Prefixes: ["10.0.5.16/28"],
          ipv6Prefixes: ["2001:db8:1234:1a2b:1::/80"],
        },
        {
          id: "eni-a66ed5cf",
          deviceIndex: 1,
          networkCardIndex: 0,
          privateIps: ["10.0.1.233"],
          publicIps: [],
          ipv6Ips: [],
          ipv4Prefixes: [],
          ipv6Prefixes: [],
        },
      ],
    });
  });

  it("keeps IPv6-only instances (no private IPv4) and carrier IPs, and leaves customer-owned IPs out of publicIps", () => {
    const v6only = toInstanceRecord(
      {
        InstanceId: "i-0000000000000000a",
        State: { Name: "running" },
        NetworkInterfaces: [
          {
            NetworkInterfaceId: "eni-1",
            Attachment: { DeviceIndex: 0 },
            PrivateIpAddresses: [],
            Ipv6Addresses: [
              { Ipv6Address: "2600:1f18::1", IsPrimaryIpv6: true },
              { Ipv6Address: "2600:1f18::2" },
            ],
          },
        ],
      },
      account,
      "us-east-1",
    );
    expect(v6only.privateIps).toEqual([]);
    expect(v6only.publicIps).toEqual([]);
    expect(v6only.ipv6Ips).toEqual(["2600:1f18::1", "2600:1f18::2"]);
    const carrier = toInstanceRecord(
      {
        InstanceId: "i-0000000000000000b",
        NetworkInterfaces: [
          {
            NetworkInterfaceId: "eni-2",
            Attachment: { DeviceIndex: 0 },
            PrivateIpAddress: "10.1.0.5",
            PrivateIpAddresses: [
              {
                PrivateIpAddress: "10.1.0.5",
                Primary: true,
                Association: { CarrierIp: "155.146.1.2", IpOwnerId: "amazon" },
              },
              {
                PrivateIpAddress: "10.1.0.6",
                Primary: false,
                Association: { CustomerOwnedIp: "192.0.2.10", IpOwnerId: "123456789012" },
              },
            ],
          },
        ],
      },
      account,
      "us-east-1",
    );
    expect(carrier.publicIps).toEqual(["155.146.1.2"]);
    expect(carrier.privateIps).toEqual(["10.1.0.5", "10.1.0.6"]);
    expect(carrier.state).toBeNull();
    expect(carrier.name).toBeNull();
  });

  it("lists terminated instances without interfaces, and never puts empty strings in IP lists", () => {
    const r = toInstanceRecord(
      {
        InstanceId: "i-0000000000000000c",
        InstanceType: "t3.micro",
        State: { Code: 48, Name: "terminated" },
        NetworkInterfaces: [],
      },
      account,
      "us-east-1",
    );
    expect(r).toMatchObject({
      state: "terminated",
      privateIps: [],
      publicIps: [],
      ipv6Ips: [],
      networkInterfaces: [],
    });
    const missing = toInstanceRecord(
      {
        InstanceId: "i-0000000000000000d",
        PrivateIpAddress: "10.9.9.9",
        PublicIpAddress: "3.3.3.3",
        PrivateDnsName: "",
      },
      account,
      "us-east-1",
    );
    expect(missing.privateIps).toEqual(["10.9.9.9"]);
    expect(missing.publicIps).toEqual(["3.3.3.3"]);
  });

  it("orders interfaces by device index, then network card", () => {
    const r = toInstanceRecord(
      {
        InstanceId: "i-0000000000000000e",
        NetworkInterfaces: [
          {
            NetworkInterfaceId: "eni-c",
            Attachment: { DeviceIndex: 1, NetworkCardIndex: 1 },
            PrivateIpAddresses: [{ PrivateIpAddress: "10.0.0.3", Primary: true }],
          },
          {
            NetworkInterfaceId: "eni-b",
            Attachment: { DeviceIndex: 1, NetworkCardIndex: 0 },
            PrivateIpAddresses: [{ PrivateIpAddress: "10.0.0.2", Primary: true }],
          },
          {
            NetworkInterfaceId: "eni-a",
            Attachment: { DeviceIndex: 0 },
            PrivateIpAddresses: [{ PrivateIpAddress: "10.0.0.1", Primary: true }],
          },
        ],
      },
      account,
      "us-east-1",
    );
    expect(r.networkInterfaces.map((n) => n.id)).toEqual(["eni-a", "eni-b", "eni-c"]);
    expect(r.privateIps).toEqual(["10.0.0.1", "10.0.0.2", "10.0.0.3"]);
  });
});
