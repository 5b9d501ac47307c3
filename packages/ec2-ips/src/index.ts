/**
 * `@cloudadmin/ec2-ips`: every EC2 instance in every account of an AWS Organization (or of an IAM
 * Identity Center user) in every enabled region, with all private, public and IPv6 addresses.
 *
 * @example
 * ```ts
 * import { listEc2Ips } from "@cloudadmin/ec2-ips";
 * import { toErrorRecord, type CloudAdminError } from "@cloudadmin/errors";
 * const errors: CloudAdminError[] = [];
 * for await (const instance of listEc2Ips({ mode: "org", region: "us-east-1", onError: (e) => errors.push(e) })) {
 *   console.log(instance.accountId, instance.region, instance.instanceId, instance.privateIps, instance.publicIps);
 * }
 * console.log(errors.map((e) => toErrorRecord(e)));
 * ```
 */
export { listEc2Ips } from "./list-ec2-ips.js";
export { checkAwsAccess } from "./check.js";
export type { AwsAccess, CheckAwsAccessOptions } from "./check.js";
export { probeSsoRefresh } from "./probe.js";
export type { ProbeResult, ProbeSsoRefreshOptions } from "./probe.js";
export { toInstanceRecord } from "./extract.js";
export { resolveAwsSettings, endpointsFromEnvironment } from "./aws-environment.js";
export type { AwsEnvironmentInput, AwsSettings } from "./aws-environment.js";
export type {
  AwsCredentials,
  Ec2InstanceRecord,
  Ec2NetworkInterfaceRecord,
  Ec2PublicIp,
  Ec2IpsCounts,
  Ec2IpsPhase,
  Ec2IpsProgressEvent,
  Ec2IpsEndpoints,
  Ec2IpsSsoOptions,
  ListEc2IpsOptions,
} from "./types.js";
