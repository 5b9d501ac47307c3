import { describe, expect, it } from "vitest";
import { scoped, toAwsError } from "./errors.js";

/** An error shaped as the AWS SDK throws them (name = AWS code, HTTP status in $metadata). */
function sdkError(name: string, status?: number, extra: Record<string, unknown> = {}): Error {
  return Object.assign(new Error(`${name} happened`), {
    name,
    ...(status === undefined ? {} : { $metadata: { httpStatusCode: status } }),
    ...extra,
  });
}

describe("toAwsError", () => {
  it.each([
    ["AccessDenied", 403, "ERR_ACCESS_DENIED", false],
    ["UnauthorizedOperation", 403, "ERR_ACCESS_DENIED", false],
    ["AuthFailure", 401, "ERR_AUTH", false],
    ["UnauthorizedException", 401, "ERR_AUTH_EXPIRED", false],
    ["CredentialsProviderError", undefined, "ERR_AUTH", false],
    ["TokenProviderError", undefined, "ERR_AUTH", false],
    ["RequestLimitExceeded", 503, "ERR_THROTTLED", true],
    ["TooManyRequestsException", 429, "ERR_THROTTLED", true],
    ["InternalFailure", 500, "ERR_REMOTE", true],
    ["InvalidParameterValue", 400, "ERR_REMOTE", false],
  ])("%s (%s) is %s, retryable %s, with the AWS code kept", (name, status, code, retryable) => {
    const e = toAwsError(sdkError(name, status), "DescribeInstances in 1/eu-west-1");
    expect({ code: e.code, retryable: e.retryable, remoteCode: e.remoteCode }).toEqual({
      code,
      retryable,
      remoteCode: name,
    });
    expect(e.message).toMatch(/^DescribeInstances in 1\/eu-west-1: /);
  });

  it("a host that does not exist is configuration (a wrong region or endpoint); a dropped connection is retried", () => {
    const dns = Object.assign(new Error("getaddrinfo ENOTFOUND sts.xx-nowhere-1.amazonaws.com"), {
      code: "ENOTFOUND",
    });
    expect(toAwsError(dns, "GetCallerIdentity")).toMatchObject({ code: "ERR_CONFIG", retryable: false });
    const reset = Object.assign(new Error("socket hang up"), { code: "ECONNRESET" });
    expect(toAwsError(reset, "GetCallerIdentity")).toMatchObject({ code: "ERR_REMOTE", retryable: true });
  });

  it("scoped keeps the code, the AWS code and retryability, and sets scope and phase", () => {
    const e = scoped(toAwsError(sdkError("AccessDenied", 403), "AssumeRole"), "333333333333", "assume-role");
    expect(e).toMatchObject({
      code: "ERR_ACCESS_DENIED",
      remoteCode: "AccessDenied",
      scope: "333333333333",
      phase: "assume-role",
      retryable: false,
    });
  });
});
