import { inspect } from "node:util";
import { afterEach, describe, expect, it } from "vitest";
import {
  AuthError,
  CloudAdminError,
  ThrottledError,
  clearRegisteredSecrets,
  redactSecrets,
  registerSecret,
  toCloudAdminError,
  toErrorRecord,
} from "./index.js";

afterEach(() => clearRegisteredSecrets());

describe("CloudAdminError", () => {
  it("keeps the code, scope, phase and cause", () => {
    const cause = new Error("socket hang up");
    const e = new CloudAdminError("ERR_REMOTE", "DescribeInstances failed", {
      cause,
      scope: "222222222222/eu-west-1",
      phase: "describe-instances",
    });
    expect(e.code).toBe("ERR_REMOTE");
    expect(e.cause).toBe(cause);
    expect(e.name).toBe("CloudAdminError");
    expect(toErrorRecord(e)).toEqual({
      scope: "222222222222/eu-west-1",
      phase: "describe-instances",
      code: "ERR_REMOTE",
      message: "DescribeInstances failed",
    });
  });

  it("subclasses carry their own code and name", () => {
    const e = new ThrottledError("slow down", { retryAfterMs: 2000 });
    expect(e.code).toBe("ERR_THROTTLED");
    expect(e.retryable).toBe(true);
    expect(e.retryAfterMs).toBe(2000);
    expect(new AuthError("expired", { code: "ERR_AUTH_EXPIRED" }).code).toBe("ERR_AUTH_EXPIRED");
    expect(new AuthError("x").name).toBe("AuthError");
  });

  it("redacts secrets in the message, in inspect() and in JSON, including the cause", () => {
    const token = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.c2lnbmF0dXJl";
    registerSecret("s3cr3t-client-value");
    const cause = new Error(
      `upstream said Authorization: Bearer ${token} and client_secret=s3cr3t-client-value`,
    );
    const e = new AuthError(
      `token ${token} refused for https://a.blob.core.windows.net/c/b?sv=2024&sig=abcDEF%2B123`,
      {
        cause,
      },
    );
    const printed = inspect(e) + JSON.stringify(e) + e.message + String(e);
    expect(printed).not.toContain(token);
    expect(printed).not.toContain("abcDEF%2B123");
    expect(printed).not.toContain("s3cr3t-client-value");
    expect(printed).toContain("sig=***");
    expect(printed).toContain("[cause]");
  });

  it("toCloudAdminError wraps foreign errors and recognises aborts", () => {
    const abort = new DOMException("aborted", "AbortError");
    expect(toCloudAdminError(abort).code).toBe("ERR_ABORTED");
    const wrapped = toCloudAdminError(new TypeError("boom"));
    expect(wrapped.code).toBe("ERR_INTERNAL");
    expect(wrapped.cause).toBeInstanceOf(TypeError);
  });
});

describe("redactSecrets", () => {
  it.each([
    [
      "DefaultEndpointsProtocol=https;AccountName=a;AccountKey=Zm9vYmFyYmF6cXV4;EndpointSuffix=core.windows.net",
      "Zm9vYmFyYmF6cXV4",
    ],
    ['{"access_token":"abc.def.ghi-long-token","expires_in":3599}', "abc.def.ghi-long-token"],
    ["<SecretAccessKey>wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY</SecretAccessKey>", "wJalrXUtnFEMI"],
    ["Authorization: Basic Y2xpZW50OnNlY3JldA==", "Y2xpZW50OnNlY3JldA=="],
    ["aws_secret_access_key=wJalrXUtnFEMIK7MDENG", "wJalrXUtnFEMIK7MDENG"],
  ])("removes the secret from %s", (input, secret) => {
    expect(redactSecrets(input)).not.toContain(secret);
  });

  it("leaves ordinary text alone", () => {
    const text = "AssumeRole denied in 3 accounts (AccessDenied); see errors[] or rerun with -v";
    expect(redactSecrets(text)).toBe(text);
  });
});
