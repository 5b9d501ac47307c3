import * as http from "node:http";
import type { AccessToken, TokenCredential } from "@azure/core-auth";
import { startTrapListener, type TrapListener } from "@cloudadmin/cloud-sim";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { checkResourceGraphAccess, listVmIps, probeResourceGraph } from "../src/index.js";

/** A credential that counts the tokens it hands out. */
function countingCredential(): TokenCredential & { calls: number } {
  const credential = {
    calls: 0,
    async getToken(): Promise<AccessToken> {
      credential.calls++;
      return { token: "test-token-endpoint-policy", expiresOnTimestamp: Date.now() + 3_600_000 };
    },
  };
  return credential;
}

/**
 * `arm.example.test` is not loopback by name, but a test-only resolver (Node's `dns.lookup`, which
 * every http client of the process uses, the SDK's included) maps it to a loopback listener. No
 * traffic ever leaves the machine.
 */
describe("the endpoint policy: plain http to a host that is not loopback", () => {
  let trap: TrapListener;
  beforeAll(async () => {
    trap = await startTrapListener({ totalRecords: 0, count: 0, data: [], resultTruncated: "false" });
  });
  afterAll(() => trap.close());

  it("the resolver does deliver traffic to the listener when no policy is in the way (control)", async () => {
    const before = trap.received();
    const status = await new Promise<number>((resolve, reject) => {
      http
        .get(`http://arm.example.test:${trap.port}/control`, { agent: false }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        })
        .on("error", reject);
    });
    expect(status).toBe(200);
    expect(trap.received()).toBeGreaterThan(before);
  });

  it("listVmIps, checkResourceGraphAccess and probeResourceGraph refuse it before any token is requested", async () => {
    const before = trap.received();
    const credential = countingCredential();
    const endpoint = `http://arm.example.test:${trap.port}`;
    const run = async (url: string) => {
      for await (const _ of listVmIps({ credential, endpoint: url, onError: () => {} })) {
        // nothing can arrive
      }
    };
    await expect(run(endpoint)).rejects.toMatchObject({ code: "ERR_CONFIG" });
    await expect(checkResourceGraphAccess({ credential, endpoint })).rejects.toMatchObject({
      code: "ERR_CONFIG",
    });
    await expect(probeResourceGraph({ credential, endpoint })).rejects.toMatchObject({ code: "ERR_CONFIG" });
    // Also when the host is spelt to look like loopback but is not (RFC 6761 names, mapped IPv6).
    for (const other of [`http://arm.localhost:${trap.port}`, `http://[::ffff:127.0.0.1]:${trap.port}`]) {
      await expect(run(other)).rejects.toMatchObject({ code: "ERR_CONFIG" });
      await expect(checkResourceGraphAccess({ credential, endpoint: other })).rejects.toMatchObject({
        code: "ERR_CONFIG",
      });
    }
    expect(credential.calls).toBe(0);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(trap.received()).toBe(before);
  });

  it("plain http on loopback reaches the listener with the token (an emulator)", async () => {
    const before = trap.received();
    const credential = countingCredential();
    const records = [];
    for await (const vm of listVmIps({
      credential,
      endpoint: `http://127.0.0.1:${trap.port}`,
      scaleSets: false,
      onError: (e) => {
        throw e;
      },
    }))
      records.push(vm);
    expect(records).toEqual([]);
    expect(credential.calls).toBeGreaterThan(0);
    expect(trap.received()).toBeGreaterThan(before);
  });
});
