import { createServer, type Server } from "node:net";
import { BlobServiceClient } from "@azure/storage-blob";
import { describe, expect, it } from "vitest";
import { startAzurite } from "../src/index.js";

describe("startAzurite", () => {
  it("starts two emulators side by side on ports of their own, each serving its own blobs", {
    timeout: 60_000,
  }, async () => {
    const [a, b] = await Promise.all([startAzurite(), startAzurite()]);
    try {
      expect(a.port).not.toBe(b.port);
      const ca = BlobServiceClient.fromConnectionString(a.connectionString).getContainerClient("only-in-a");
      await ca.create();
      await ca.getBlockBlobClient("x.txt").upload("x", 1);
      const names = async (cs: string) => {
        const out: string[] = [];
        for await (const c of BlobServiceClient.fromConnectionString(cs).listContainers()) out.push(c.name);
        return out;
      };
      expect(await names(a.connectionString)).toEqual(["only-in-a"]);
      expect(await names(b.connectionString)).toEqual([]);
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
  });

  it("rejects with Azurite's reason when the port it is given is taken", {
    timeout: 60_000,
  }, async () => {
    const blocker: Server = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, "127.0.0.1", resolve));
    const { port } = blocker.address() as { port: number };
    try {
      await expect(startAzurite({ port })).rejects.toThrow(/azurite exited .*EADDRINUSE/s);
    } finally {
      await new Promise((r) => blocker.close(r));
    }
  });
});
