import { inspect } from "node:util";
import { AuthError, redactSecrets } from "@cloudadmin/errors";
import { describe, expect, it } from "vitest";
import { AZURE_CLOUDS, StaticTokenCredential, createAzureCredential, jwtExpiry, scopeFor } from "./index.js";

function jwt(claims: Record<string, unknown>): string {
  const part = (o: unknown) => Buffer.from(JSON.stringify(o)).toString("base64url");
  return `${part({ alg: "none" })}.${part(claims)}.sig`;
}

describe("StaticTokenCredential", () => {
  it("returns the token with the JWT's expiry", async () => {
    const exp = Math.floor(Date.now() / 1000) + 600;
    const token = jwt({ exp, aud: "https://management.azure.com" });
    const credential = new StaticTokenCredential(token);
    const got = await credential.getToken("https://management.azure.com/.default");
    expect(got).toEqual({ token, expiresOnTimestamp: exp * 1000 });
  });

  it("refuses an expired token with ERR_AUTH_EXPIRED", async () => {
    const credential = new StaticTokenCredential(jwt({ exp: Math.floor(Date.now() / 1000) - 5 }));
    const error = await credential.getToken("x").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AuthError);
    expect((error as AuthError).code).toBe("ERR_AUTH_EXPIRED");
  });

  it("rejects empty tokens and 'Bearer x' strings", () => {
    expect(() => new StaticTokenCredential("  ")).toThrow(AuthError);
    expect(() => new StaticTokenCredential("Bearer abc")).toThrow(/without 'Bearer '/);
  });

  it("never shows the token when printed, and registers it for redaction", () => {
    const token = "opaque-sim-token-1234567";
    const credential = new StaticTokenCredential(token);
    expect(JSON.stringify(credential)).not.toContain(token);
    expect(inspect(credential)).not.toContain(token);
    expect(redactSecrets(`failed with ${token}`)).toBe("failed with ***");
  });

  it("reads no expiry from opaque tokens", () => {
    expect(jwtExpiry("not-a-jwt")).toBeUndefined();
  });
});

describe("clouds", () => {
  it("maps endpoints to scopes", () => {
    expect(scopeFor("https://management.usgovcloudapi.net/")).toBe(
      "https://management.usgovcloudapi.net/.default",
    );
    expect(AZURE_CLOUDS.AzureChinaCloud.armEndpoint).toBe("https://management.chinacloudapi.cn");
  });

  it("builds a DefaultAzureCredential without contacting anything", () => {
    const credential = createAzureCredential({ cloud: "AzureUSGovernment" });
    expect(typeof credential.getToken).toBe("function");
    expect(credential.constructor.name).toBe("DefaultAzureCredential");
  });
});
