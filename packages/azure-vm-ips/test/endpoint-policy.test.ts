import * as http from "node:http";
import type { AddressInfo } from "node:net";
import type { AccessToken, TokenCredential } from "@azure/core-auth";
import { resolveTestNamesToLoopback } from "@cloudadmin/cloud-sim";
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
  let restoreResolver: () => void = () => {};
  let listener: http.Server;
  let received = 0;
  let port = 0;
  beforeAll(async () => {
    listener = http.createServer((_req, res) => {
      received++;
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ totalRecords: 0, count: 0, data: [], resultTruncated: "false" }));
    });
    listener.on("connection", () => received++);
    await new Promise<void>((resolve) => listener.listen(0, "127.0.0.1", resolve));
    port = (listener.address() as AddressInfo).port;
    restoreResolver = resolveTestNamesToLoopback();
  });
  afterAll(async () => {
    restoreResolver();
    await new Promise<void>((resolve) => listener.close(() => resolve()));
  });

  it("the resolver does deliver traffic to the listener when no policy is in the way (control)", async () => {
    const before = received;
    const status = await new Promise<number>((resolve, reject) => {
      http
        .get(`http://arm.example.test:${port}/control`, { agent: false }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        })
        .on("error", reject);
    });
    expect(status).toBe(200);
    expect(received).toBeGreaterThan(before);
  });

  it("listVmIps, checkResourceGraphAccess and probeResourceGraph refuse it before any token is requested", async () => {
    const before = received;
    const credential = countingCredential();
    const endpoint = `http://arm.example.test:${port}`;
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
    for (const other of [`http://arm.localhost:${port}`, `http://[::ffff:127.0.0.1]:${port}`]) {
      await expect(run(other)).rejects.toMatchObject({ code: "ERR_CONFIG" });
      await expect(checkResourceGraphAccess({ credential, endpoint: other })).rejects.toMatchObject({
        code: "ERR_CONFIG",
      });
    }
    expect(credential.calls).toBe(0);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(received).toBe(before);
  });

  it("plain http on loopback reaches the listener with the token (an emulator)", async () => {
    const before = received;
    const credential = countingCredential();
    const records = [];
    for await (const vm of listVmIps({
      credential,
      endpoint: `http://127.0.0.1:${port}`,
      scaleSets: false,
      onError: (e) => {
        throw e;
      },
    }))
      records.push(vm);
    expect(records).toEqual([]);
    expect(credential.calls).toBeGreaterThan(0);
    expect(received).toBeGreaterThan(before);
  });
});
