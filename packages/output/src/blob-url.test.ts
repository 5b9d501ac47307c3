import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { createContainerClient } from "./blob-sink.js";
import { parseBlobUrl, redactUrl } from "./blob-url.js";
import { contentTypeFor, openSink } from "./open-sink.js";

describe("parseBlobUrl", () => {
  it("reads account, container and blob from a public-cloud URL", () => {
    const parts = parseBlobUrl(
      "https://myacct.blob.core.windows.net/reports/2026/vm%20ips.json?sv=2024&sig=abc%2Bdef",
    );
    expect(parts).toMatchObject({
      serviceUrl: "https://myacct.blob.core.windows.net",
      accountName: "myacct",
      containerName: "reports",
      blobName: "2026/vm ips.json",
      hasSas: true,
      display: "https://myacct.blob.core.windows.net/reports/2026/vm%20ips.json?***",
    });
  });

  it("accepts sovereign clouds and DNS-zone endpoints", () => {
    expect(parseBlobUrl("https://gov1.blob.core.usgovcloudapi.net/c01/b").accountName).toBe("gov1");
    expect(parseBlobUrl("https://cn001.blob.core.chinacloudapi.cn/c01/b").accountName).toBe("cn001");
    expect(parseBlobUrl("https://zacct.z23.blob.storage.azure.net/c01/b").accountName).toBe("zacct");
  });

  it("reads emulator URLs path-style on loopback, over http", () => {
    const parts = parseBlobUrl("http://127.0.0.1:10000/devstoreaccount1/out/vm.json");
    expect(parts).toMatchObject({
      serviceUrl: "http://127.0.0.1:10000/devstoreaccount1",
      accountName: "devstoreaccount1",
      containerName: "out",
      blobName: "vm.json",
      hasSas: false,
    });
    expect(parseBlobUrl("http://localhost:10000/devstoreaccount1/out/a").accountName).toBe(
      "devstoreaccount1",
    );
    expect(parseBlobUrl("http://[::1]:10000/devstoreaccount1/out/a").containerName).toBe("out");
  });

  it("refuses plain http to a non-loopback host with a configuration error", () => {
    for (const url of [
      "http://myacct.blob.core.windows.net/c01/b.json",
      "http://10.1.2.3:10000/devstoreaccount1/c01/b",
    ]) {
      expect(() => parseBlobUrl(url)).toThrow(expect.objectContaining({ code: "ERR_CONFIG" }));
    }
  });

  it("rejects URLs that are not blob URLs with a usage error", () => {
    for (const url of [
      "https://example.com/reports/a.json",
      "ftp://myacct.blob.core.windows.net/c01/b",
      "file:///tmp/out.json",
      "https://myacct.blob.core.windows.net/reports",
      "https://myacct.blob.core.windows.net/reports/",
      "https://myacct.blob.core.windows.net/Bad_Container/a",
      "https://myacct.blob.core.windows.net/",
      "https://myacct.blob.core.windows.net/c01/%E0%A4%A",
    ]) {
      expect(() => parseBlobUrl(url), url).toThrow(expect.objectContaining({ code: "ERR_USAGE" }));
    }
  });

  it("names an unparseable URL without its query", () => {
    expect(() => parseBlobUrl("https://a b.blob.core.windows.net/c/x?sig=SECRET")).toThrow(
      expect.objectContaining({
        code: "ERR_USAGE",
        message: "https://a b.blob.core.windows.net/c/x is not a valid URL",
      }),
    );
  });

  it("checks container URLs for createContainerClient", () => {
    expect(parseBlobUrl("https://a01.blob.core.windows.net/photos", { kind: "container" }).blobName).toBe("");
    expect(() =>
      parseBlobUrl("https://a01.blob.core.windows.net/photos/x.jpg", { kind: "container" }),
    ).toThrow(expect.objectContaining({ code: "ERR_USAGE" }));
    const client = createContainerClient("https://a01.blob.core.windows.net/photos?sv=1&sig=zzz");
    expect(client.containerName).toBe("photos");
    expect(client.accountName).toBe("a01");
  });
});

describe("redactUrl", () => {
  it("drops the query (SAS) and user info", () => {
    const shown = redactUrl("https://user:pw@a01.blob.core.windows.net/c/b?sv=2024&sig=SECRET%3D&se=2030");
    expect(shown).toBe("https://a01.blob.core.windows.net/c/b?***");
    expect(shown).not.toMatch(/sig=|SECRET|pw/);
  });
});

describe("openSink", () => {
  it("opens a file sink for a path and a blob sink for a blob URL", async () => {
    const dir = await mkdtemp(join(tmpdir(), "cloudadmin-open-sink-"));
    try {
      const file = await openSink(join(dir, "out.json"), { format: "json" });
      expect(file.describe()).toBe(join(dir, "out.json"));
      await file.abort();
      expect(await readdir(dir)).toEqual([]);
      const blob = await openSink("https://a01.blob.core.windows.net/c01/out.json?sv=1&sig=TOPSECRET", {
        format: "json",
      });
      expect(blob.describe()).toBe("https://a01.blob.core.windows.net/c01/out.json?***");
      expect(blob.describe()).not.toContain("sig=");
      await blob.abort();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("maps bad targets to the SPEC's error codes", async () => {
    await expect(openSink("http://a01.blob.core.windows.net/c01/out.json")).rejects.toMatchObject({
      code: "ERR_CONFIG",
    });
    await expect(openSink("https://example.com/out.json")).rejects.toMatchObject({ code: "ERR_USAGE" });
    await expect(openSink("s3://bucket/key")).rejects.toMatchObject({ code: "ERR_USAGE" });
    await expect(openSink("  ")).rejects.toMatchObject({ code: "ERR_USAGE" });
    // A blob URL with no way to authenticate fails before any work, naming no secret.
    await expect(openSink("https://a01.blob.core.windows.net/c01/out.json")).rejects.toMatchObject({
      code: "ERR_CONFIG",
      message: expect.stringContaining("no credentials"),
    });
  });

  it("refuses a token credential over plain http (the SDK would only fail at upload time)", async () => {
    const credential = { getToken: async () => ({ token: "t", expiresOnTimestamp: Date.now() + 60_000 }) };
    await expect(
      openSink("http://127.0.0.1:10000/devstoreaccount1/c01/out.json", { credential }),
    ).rejects.toMatchObject({ code: "ERR_CONFIG", message: expect.stringContaining("https") });
  });

  it("rejects an invalid connection string without echoing it", async () => {
    const error = await openSink("https://a01.blob.core.windows.net/c01/o.json", {
      connectionString: "AccountName=a01;AccountKey=SUPERSECRETKEY",
    }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "ERR_CONFIG" });
    expect(String((error as Error).message)).not.toContain("SUPERSECRETKEY");
  });

  it("names content types per format", () => {
    expect(["json", "ndjson", "csv", "table"].map((f) => contentTypeFor(f as "json"))).toEqual([
      "application/json",
      "application/x-ndjson",
      "text/csv; charset=utf-8",
      "text/plain; charset=utf-8",
    ]);
  });
});
