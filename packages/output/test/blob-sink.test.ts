import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  BlobSASPermissions,
  BlobServiceClient,
  type ContainerClient,
  StorageSharedKeyCredential,
  generateBlobSASQueryParameters,
} from "@azure/storage-blob";
import { AZURITE_ACCOUNT, AZURITE_KEY, type AzuriteHandle, startAzurite } from "@cloudadmin/cloud-sim";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createBlobSink, createContainerClient, openSink, writeResults } from "../src/index.js";

let azurite: AzuriteHandle;
let container: ContainerClient;
let tempDir: string;
const CONTAINER = "results";

beforeAll(async () => {
  azurite = await startAzurite();
  container = BlobServiceClient.fromConnectionString(azurite.connectionString).getContainerClient(CONTAINER);
  await container.create();
}, 60_000);

afterAll(async () => {
  await azurite?.stop();
}, 30_000);

beforeEach(async () => {
  tempDir = await mkdtemp(join(tmpdir(), "cloudadmin-blob-spill-"));
  return () => rm(tempDir, { recursive: true, force: true });
});

function blobUrl(name: string): string {
  return `${azurite.blobEndpoint}/${CONTAINER}/${name}`;
}

function sasUrl(name: string, permissions: string): string {
  const sas = generateBlobSASQueryParameters(
    {
      containerName: CONTAINER,
      blobName: name,
      permissions: BlobSASPermissions.parse(permissions),
      expiresOn: new Date(Date.now() + 3_600_000),
    },
    new StorageSharedKeyCredential(AZURITE_ACCOUNT, AZURITE_KEY),
  ).toString();
  return `${blobUrl(name)}?${sas}`;
}

async function readBlob(name: string): Promise<{ body: Buffer; contentType: string | undefined }> {
  const blob = container.getBlockBlobClient(name);
  const body = await blob.downloadToBuffer();
  const properties = await blob.getProperties();
  return { body, contentType: properties.contentType };
}

async function* rows(count: number) {
  for (let i = 0; i < count; i += 1) {
    yield { id: `vm-${i}`, name: `Zoë "${i}", Ødegård`, ips: [`10.0.${i % 256}.1`, `10.1.${i % 256}.2`] };
  }
}

describe("blob sink on Azurite", { timeout: 30_000 }, () => {
  it("uploads the document on commit, byte for byte, with its content type (SAS in the URL)", async () => {
    const url = sasUrl("sas/report.json", "cw");
    const sink = await openSink(url, { format: "json" });
    const chunks = ['{"a":1,', '"text":"Grüße, 東京 🚀",', '"n":[1,2,3]}\n'];
    for (const chunk of chunks) await sink.write(chunk);
    // Nothing is visible before commit.
    expect(await container.getBlockBlobClient("sas/report.json").exists()).toBe(false);
    await sink.commit();
    const { body, contentType } = await readBlob("sas/report.json");
    expect(body.equals(Buffer.from(chunks.join(""), "utf8"))).toBe(true);
    expect(contentType).toBe("application/json");
  });

  it("describe() of a SAS URL shows no signature", async () => {
    const url = sasUrl("sas/secret.json", "cw");
    const signature = new URL(url).searchParams.get("sig");
    expect(signature).toBeTruthy();
    const sink = await createBlobSink(url);
    const shown = sink.describe();
    await sink.abort();
    expect(shown).not.toMatch(/sig=[^*&]/);
    expect(shown).not.toContain(signature!);
    expect(shown).not.toContain(encodeURIComponent(signature!));
    expect(shown).toBe(`${blobUrl("sas/secret.json")}?***`);
  });

  it("works without a SAS when given a connection string (csv through writeResults)", async () => {
    const sink = await openSink(blobUrl("cs/ips.csv"), {
      format: "csv",
      connectionString: azurite.connectionString,
    });
    const result = await writeResults({ format: "csv", command: "azure-vm-ips", items: rows(3), sink });
    const { body, contentType } = await readBlob("cs/ips.csv");
    expect(contentType).toBe("text/csv; charset=utf-8");
    expect(body.toString("utf8")).toBe(
      "id,name,ips\n" +
        'vm-0,"Zoë ""0"", Ødegård",10.0.0.1;10.1.0.2\n' +
        'vm-1,"Zoë ""1"", Ødegård",10.0.1.1;10.1.1.2\n' +
        'vm-2,"Zoë ""2"", Ødegård",10.0.2.1;10.1.2.2\n',
    );
    expect(result.bytes).toBe(body.byteLength);
    expect(result.target).toBe(blobUrl("cs/ips.csv"));
  });

  it("spills a large document to a temp file, uploads it intact, and removes the temp file", async () => {
    const sink = await openSink(blobUrl("big/ips.ndjson"), {
      format: "ndjson",
      connectionString: azurite.connectionString,
      memoryLimitBytes: 16 * 1024,
      tempDir,
    });
    let expected = "";
    let spilled = false;
    async function* items() {
      for await (const row of rows(5_000)) {
        expected += `${JSON.stringify(row)}\n`;
        yield row;
        if (!spilled && expected.length > 64 * 1024) {
          // The document is past the memory limit: it now lives in a private temp file.
          const names = await readdir(tempDir);
          expect(names).toHaveLength(1);
          spilled = true;
        }
      }
    }
    await writeResults({ format: "ndjson", command: "c", items: items(), sink });
    expect(spilled).toBe(true);
    const { body, contentType } = await readBlob("big/ips.ndjson");
    expect(contentType).toBe("application/x-ndjson");
    expect(body.byteLength).toBe(Buffer.byteLength(expected));
    expect(body.toString("utf8")).toBe(expected);
    expect(await readdir(tempDir)).toEqual([]);
  });

  it("a failed run uploads nothing: an existing blob keeps its content, no temp file is left", async () => {
    await container.getBlockBlobClient("keep/latest.json").uploadData(Buffer.from('{"old":true}'), {
      blobHTTPHeaders: { blobContentType: "application/json" },
    });
    const sink = await openSink(blobUrl("keep/latest.json"), {
      format: "json",
      connectionString: azurite.connectionString,
      memoryLimitBytes: 1024,
      tempDir,
    });
    async function* items() {
      yield* rows(200);
      throw new Error("ARG quota exhausted");
    }
    await expect(writeResults({ format: "json", command: "c", items: items(), sink })).rejects.toThrow(
      "ARG quota exhausted",
    );
    expect((await readBlob("keep/latest.json")).body.toString()).toBe('{"old":true}');
    expect(await readdir(tempDir)).toEqual([]);
  });

  it("abort() uploads nothing", async () => {
    const sink = await createBlobSink(blobUrl("aborted.txt"), { connectionString: azurite.connectionString });
    await sink.write("never");
    await sink.abort();
    expect(await container.getBlockBlobClient("aborted.txt").exists()).toBe(false);
  });

  it("reports a missing container and a read-only SAS as errors that say what to do", async () => {
    const missing = await createBlobSink(`${azurite.blobEndpoint}/nope/x.json`, {
      connectionString: azurite.connectionString,
    });
    await missing.write("{}");
    await expect(missing.commit()).rejects.toMatchObject({
      code: "ERR_NOT_FOUND",
      message: expect.stringContaining("create the container"),
    });
    const readOnly = await createBlobSink(sasUrl("ro.json", "r"));
    await readOnly.write("{}");
    const error = await readOnly.commit().catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "ERR_ACCESS_DENIED" });
    expect((error as Error).message).not.toMatch(/sig=[^*]/);
    expect(await container.getBlockBlobClient("ro.json").exists()).toBe(false);
  });

  it("refuses a connection string for another account or host", async () => {
    const other = azurite.connectionString.replace(/127\.0\.0\.1:\d+/, "127.0.0.1:1");
    await expect(openSink(blobUrl("x.json"), { connectionString: other })).rejects.toMatchObject({
      code: "ERR_CONFIG",
      message: expect.stringContaining("connection string is for"),
    });
  });

  it("gives a container client for user-photos style uploads", async () => {
    const client = createContainerClient(`${azurite.blobEndpoint}/${CONTAINER}`, {
      connectionString: azurite.connectionString,
    });
    await client.getBlockBlobClient("photos/1001.jpg").uploadData(Buffer.from([0xff, 0xd8, 0xff]), {
      blobHTTPHeaders: { blobContentType: "image/jpeg" },
    });
    const { body, contentType } = await readBlob("photos/1001.jpg");
    expect([...body]).toEqual([0xff, 0xd8, 0xff]);
    expect(contentType).toBe("image/jpeg");
  });
});

describe("checks before the work", () => {
  it("asks an Entra ID credential for a storage token when the sink is created: none means ERR_AUTH at once", async () => {
    const asked: string[] = [];
    const credential = {
      getToken: async (scopes: string | string[]) => {
        asked.push(String(scopes));
        const error = new Error("DefaultAzureCredential: no credential in the environment");
        error.name = "CredentialUnavailableError";
        throw error;
      },
    };
    await expect(
      createBlobSink("https://acct.blob.core.windows.net/results/vm.json", { credential }),
    ).rejects.toMatchObject({ code: "ERR_AUTH", message: expect.stringContaining("no Azure token") });
    expect(asked).toEqual(["https://storage.azure.com/.default"]);
  });

  it("does not ask for a token when a SAS or a connection string is used", async () => {
    let asked = 0;
    const credential = {
      getToken: async () => {
        asked += 1;
        return null;
      },
    };
    const sink = await createBlobSink(blobUrl("no-token.json"), {
      connectionString: azurite.connectionString,
      credential,
    });
    await sink.abort();
    expect(asked).toBe(0);
  });
});
