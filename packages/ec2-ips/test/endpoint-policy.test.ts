import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { type Server, createServer, get } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  type Simulator,
  generateDataset,
  resolveTestNamesToLoopback,
  startSimulator,
} from "@cloudadmin/cloud-sim";
import type { CloudAdminError } from "@cloudadmin/errors";
import { collect } from "@cloudadmin/paging";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { listEc2Ips, resolveAwsSettings } from "../src/index.js";

let restoreResolver: () => void = () => {};
let listener: Server;
let port: number;
let hits = 0;
let dir: string;
let sim: Simulator;
const saved = {
  AWS_CONFIG_FILE: process.env.AWS_CONFIG_FILE,
  AWS_SHARED_CREDENTIALS_FILE: process.env.AWS_SHARED_CREDENTIALS_FILE,
  AWS_PROFILE: process.env.AWS_PROFILE,
};

beforeAll(async () => {
  // Test-only resolver: *.example.test is the loopback listener; other names fail (nothing leaves).
  restoreResolver = resolveTestNamesToLoopback();
  listener = createServer((_req, res) => {
    hits++;
    res.end("listener");
  });
  await new Promise<void>((resolve) => listener.listen(0, "127.0.0.1", resolve));
  port = (listener.address() as AddressInfo).port;
  dir = await mkdtemp(join(tmpdir(), "ec2-ips-endpoint-"));
  sim = await startSimulator({
    dataset: generateDataset({ scale: "small", seed: 3, services: ["aws"] }),
    services: ["aws"],
  });
});

afterAll(async () => {
  restoreResolver();
  for (const [k, v] of Object.entries(saved)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  await new Promise((resolve) => listener.close(resolve));
  await sim.close();
  await rm(dir, { recursive: true, force: true });
});

/** Points the SDK's own configuration (what it reads from process.env) at a config file. */
async function sdkConfig(text: string): Promise<void> {
  const file = join(dir, `config-${Math.random().toString(36).slice(2)}`);
  await writeFile(file, text);
  process.env.AWS_CONFIG_FILE = file;
  process.env.AWS_SHARED_CREDENTIALS_FILE = join(dir, "no-credentials");
  process.env.AWS_PROFILE = "evil";
}

function credentials() {
  const env = sim.environment();
  return {
    accessKeyId: env.AWS_ACCESS_KEY_ID as string,
    secretAccessKey: env.AWS_SECRET_ACCESS_KEY as string,
  };
}

describe("the endpoint policy on every client the job creates", () => {
  it("the test resolver really sends a non-loopback name to the listener (so a leak would be seen)", async () => {
    hits = 0;
    const body = await new Promise<string>((resolve, reject) => {
      get(`http://aws.example.test:${port}/`, (res) => {
        let text = "";
        res.on("data", (d) => {
          text += String(d);
        });
        res.on("end", () => resolve(text));
      }).on("error", reject);
    });
    expect(body).toBe("listener");
    expect(hits).toBe(1);
  });

  it("refuses a plain-http endpoint_url the SDK reads from a profile itself: nothing reaches it", async () => {
    await sdkConfig(`[profile evil]\nregion = us-east-1\nendpoint_url = http://aws.example.test:${port}\n`);
    hits = 0;
    const errors: CloudAdminError[] = [];
    const records = await collect(
      listEc2Ips({ credentials: credentials(), region: "us-east-1", onError: (e) => errors.push(e) }),
    );
    expect(records).toEqual([]);
    expect(errors.map((e) => [e.scope, e.phase, e.code]).sort()).toEqual([
      ["organization", "caller-identity", "ERR_CONFIG"],
      ["organization", "list-accounts", "ERR_CONFIG"],
    ]);
    expect(errors.find((e) => e.phase === "list-accounts")?.message).toContain(
      `the Organizations endpoint http://aws.example.test:${port}`,
    );
    expect(hits).toBe(0);
  });

  it("refuses an EC2 endpoint_url from the profile's services section, and reads nothing else wrongly", async () => {
    await sdkConfig(
      `[profile evil]\nregion = us-east-1\nservices = evil-services\n\n[services evil-services]\nec2 =\n  endpoint_url = http://ec2.example.test:${port}\n`,
    );
    hits = 0;
    const errors: CloudAdminError[] = [];
    const mgmt = sim.environment().AWS_ACCESS_KEY_ID?.slice(7, 19) as string;
    const records = await collect(
      listEc2Ips({
        credentials: credentials(),
        region: "us-east-1",
        accounts: [mgmt],
        endpoints: { sts: sim.httpUrl, organizations: sim.httpUrl },
        onError: (e) => errors.push(e),
      }),
    );
    expect(records).toEqual([]);
    expect(errors.map((e) => [e.scope, e.phase, e.code])).toEqual([[mgmt, "describe-regions", "ERR_CONFIG"]]);
    expect(errors[0]?.message).toContain(`the EC2 endpoint http://ec2.example.test:${port}`);
    expect(hits).toBe(0);
  });

  it("resolveAwsSettings finds the same endpoints in the config file and refuses them up front", async () => {
    const file = join(dir, "settings-config");
    await writeFile(
      file,
      `[profile evil]\nregion = eu-west-1\nservices = s\n\n[services s]\nsso_oidc =\n  endpoint_url = http://oidc.example.test:${port}\n`,
    );
    const env = { AWS_CONFIG_FILE: file, AWS_SHARED_CREDENTIALS_FILE: join(dir, "none"), HOME: dir };
    await expect(resolveAwsSettings({ env, profile: "evil" })).rejects.toMatchObject({
      code: "ERR_CONFIG",
      message: expect.stringContaining("endpoint_url of sso_oidc in [services s]"),
    });
    await writeFile(
      file,
      "[profile ok]\nregion = eu-west-1\nservices = s\n\n[services s]\nec2 =\n  endpoint_url = https://ec2.example.test\n",
    );
    const settings = await resolveAwsSettings({
      env: { ...env, AWS_ENDPOINT_URL_STS: "http://127.0.0.1:9" },
      profile: "ok",
    });
    expect(settings.endpoints).toEqual({ ec2: "https://ec2.example.test", sts: "http://127.0.0.1:9" });
    expect(hits).toBe(0);
  });
});
