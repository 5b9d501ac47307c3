import { lstat, mkdir, mkdtemp, readFile, readdir, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BlobServiceClient } from "@azure/storage-blob";
import {
  AZURITE_KEY,
  type GraphDataset,
  type GraphPhoto,
  generateDataset,
  startAzurite,
} from "@cloudadmin/cloud-sim";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runCli } from "./helpers.js";

interface Item {
  userId: string;
  userPrincipalName: string;
  key: string | null;
  status: string;
  bytes: number;
  contentType: string | null;
  file: string | null;
  blobUrl: string | null;
  reason: string | null;
}
interface Doc {
  command: string;
  items: Item[];
  errors: unknown[];
  summary: Record<string, number>;
}

/** Azurite's Blob service in memory on a free port. */
async function startBlobEmulator() {
  const azurite = await startAzurite();
  return { ...azurite, endpoint: azurite.blobEndpoint };
}

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "cli-photos-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const small = () => generateDataset({ scale: "small", seed: 1, services: ["graph"] }).graph as GraphDataset;

describe("cloudadmin user-photos", () => {
  it("saves the simulated tenant's photos, reports every user, and downloads nothing on the second run", {
    timeout: 60_000,
  }, async () => {
    const graph = small();
    const eligible = (graph.users ?? []).filter((u) => u.accountEnabled && typeof u.employeeId === "string");
    const out = join(dir, "photos");
    const first = await runCli(["user-photos", "--simulate", "--out-dir", out, "-o", "json"]);
    expect(first.code, first.stderr).toBe(0);
    const doc = JSON.parse(first.stdout) as Doc;
    expect(doc.command).toBe("user-photos");
    expect(doc.items).toHaveLength(eligible.length);
    const byId = new Map(doc.items.map((i) => [i.userId, i]));
    const expectedSaved: string[] = [];
    let placeholders = 0;
    for (const u of eligible) {
      const item = byId.get(u.id);
      const key = u.employeeId as string;
      if (["../../etc/evil", "a/b", "CON", "bad\u0007key", "end."].includes(key))
        expect(item?.status).toBe("invalid-key");
      else if (key.toLowerCase() === "dup-1") expect(item?.status).toBe("duplicate-key");
      else if (graph.photos?.[u.id] && "placeholder" in (graph.photos[u.id] as object)) {
        // Graph's 1x1 "no photo" answer: no file, and no $value request.
        expect(item).toMatchObject({ status: "no-photo", reason: "placeholder", file: null });
        placeholders++;
      } else if (graph.photos?.[u.id]) {
        expect(item?.status).toBe("saved");
        const ext = (graph.photos[u.id] as GraphPhoto).contentType === "image/png" ? "png" : "jpg";
        expect(item?.file).toBe(join(out, `${key}.${ext}`));
        expectedSaved.push(`${key}.${ext}`);
      } else expect(item?.status).toBe("no-photo");
    }
    // The on-premises mailbox with a photo in Entra ID is saved through beta.
    const onPrem = graph.onPremisesMailboxes?.[0] as string;
    expect(byId.get(onPrem)?.status).toBe("saved");
    expect(placeholders).toBe(2);
    expect((await readdir(out)).sort()).toEqual([".cloudadmin-photos.json", ...expectedSaved].sort());
    expect(doc.summary).toMatchObject({
      listed: eligible.length,
      saved: expectedSaved.length,
      invalidKey: 5,
      duplicateKey: 2,
      failed: 0,
    });
    expect(first.stderr).toMatch(/7 users have an invalid or shared key/);

    const second = await runCli(["user-photos", "--simulate", "--out-dir", out, "-o", "json"]);
    expect(second.code, second.stderr).toBe(0);
    const again = JSON.parse(second.stdout) as Doc;
    expect(again.summary).toMatchObject({ saved: 0, unchanged: expectedSaved.length, bytesDownloaded: 0 });
  });

  it("uploads to a blob container with an extension attribute as key, as ndjson", {
    timeout: 60_000,
  }, async () => {
    const azurite = await startBlobEmulator();
    try {
      const ext = "extension_00112233445566778899aabbccddeeff_employeeNumber";
      const jpeg = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 9, 9, 0xff, 0xd9]);
      const dataset = {
        graph: {
          users: [
            { id: "u1", userPrincipalName: "ana@contoso.example", accountEnabled: true, [ext]: "EN-1" },
            { id: "u2", userPrincipalName: "bo@contoso.example", accountEnabled: true, [ext]: "EN-2" },
            { id: "u3", userPrincipalName: "cy@contoso.example", accountEnabled: true, employeeId: "3" },
          ],
          photos: {
            u1: { contentType: "image/jpeg", etag: '"A1"', base64: jpeg.toString("base64") },
            u3: { contentType: "image/jpeg", etag: '"A3"', base64: jpeg.toString("base64") },
          },
        },
      };
      const file = join(dir, "dataset.json");
      await writeFile(file, JSON.stringify(dataset));
      const containerUrl = `${azurite.endpoint}/photos`;
      const res = await runCli(
        [
          "user-photos",
          "--simulate",
          "--sim-dataset",
          file,
          "--container-url",
          containerUrl,
          "--key",
          ext,
          "-o",
          "ndjson",
        ],
        { env: { AZURE_STORAGE_CONNECTION_STRING: azurite.connectionString } },
      );
      expect(res.code, res.stderr).toBe(0);
      const lines = res.stdout
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l) as Item);
      expect(lines.map((l) => [l.userId, l.key, l.status]).sort()).toEqual([
        ["u1", "EN-1", "saved"],
        ["u2", "EN-2", "no-photo"],
      ]);
      expect(lines.find((l) => l.userId === "u1")?.blobUrl).toBe(`${containerUrl}/EN-1.jpg`);
      const container = BlobServiceClient.fromConnectionString(azurite.connectionString).getContainerClient(
        "photos",
      );
      const props = await container.getBlockBlobClient("EN-1.jpg").getProperties();
      expect(props.contentType).toBe("image/jpeg");
      expect(props.metadata).toMatchObject({ graphetag: '"A1"', userid: "u1" });
      expect(await container.getBlockBlobClient("EN-1.jpg").downloadToBuffer()).toEqual(jpeg);
      expect(res.stdout).not.toContain(AZURITE_KEY);
      expect(res.stderr).not.toContain(AZURITE_KEY);
    } finally {
      await azurite.stop();
    }
  });

  it("refuses a run without destination (2), a bad --size (2) and a non-loopback http Graph endpoint (3)", async () => {
    const none = await runCli(["user-photos", "--simulate"]);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/--out-dir, --container-url, or both/);
    const size = await runCli(["user-photos", "--simulate", "--out-dir", dir, "--size", "big"]);
    expect(size.code).toBe(2);
    const http = await runCli(
      ["user-photos", "--out-dir", dir, "--graph-endpoint", "http://graph.example.com"],
      {
        env: { CLOUDADMIN_GRAPH_TOKEN: "t0ken" },
      },
    );
    expect(http.code).toBe(3);
    expect(http.stdout).toBe("");
  });
});

const JPEG = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 7, 7, 7, 7, 0xff, 0xd9]);

/** A dataset file with users K1 and K2 (K1 has a photo) for the hostile-folder tests. */
async function twoUsers(): Promise<string> {
  const file = join(dir, "dataset.json");
  await writeFile(
    file,
    JSON.stringify({
      graph: {
        users: [
          { id: "u1", userPrincipalName: "k1@contoso.example", accountEnabled: true, employeeId: "K1" },
          { id: "u2", userPrincipalName: "k2@contoso.example", accountEnabled: true, employeeId: "K2" },
        ],
        photos: { u1: { contentType: "image/jpeg", etag: '"M1"', base64: JPEG.toString("base64") } },
      },
    }),
  );
  return file;
}

describe("cloudadmin user-photos in a hostile folder", () => {
  it("--prune deletes only regular files the manifest names with the job's own scheme, and reports each", async () => {
    const dataset = await twoUsers();
    const out = join(dir, "photos");
    await mkdir(out);
    const victim = join(dir, "victim.txt");
    await writeFile(victim, "keep me");
    const outside = join(dir, "outside.jpg");
    await writeFile(outside, "keep me too");
    // A former user's photo (a regular file), a link named like a photo, and entries that escape.
    await writeFile(join(out, "GONE.jpg"), JPEG);
    await symlink(outside, join(out, "LINK.jpg"));
    await mkdir(join(out, "sub"));
    await writeFile(join(out, "sub", "x.jpg"), "nested");
    const entry = (userId: string) => ({
      userId,
      etag: '"X"',
      contentType: "image/jpeg",
      bytes: 10,
      size: null,
      savedAt: "2026-01-01T00:00:00.000Z",
    });
    await writeFile(
      join(out, ".cloudadmin-photos.json"),
      JSON.stringify({
        version: 1,
        files: {
          "../victim.txt": entry("gone-1"),
          "sub/x.jpg": entry("gone-2"),
          "../outside.jpg": entry("gone-3"),
          "GONE.jpg": entry("gone-4"),
          "LINK.jpg": entry("gone-5"),
        },
      }),
    );
    const res = await runCli([
      "user-photos",
      "--simulate",
      "--sim-dataset",
      dataset,
      "--out-dir",
      out,
      "--prune",
      "-o",
      "json",
    ]);
    expect(res.code, res.stderr).toBe(0);
    expect(await readFile(victim, "utf8")).toBe("keep me");
    expect(await readFile(outside, "utf8")).toBe("keep me too");
    expect(await readFile(join(out, "sub", "x.jpg"), "utf8")).toBe("nested");
    expect((await lstat(join(out, "LINK.jpg"))).isSymbolicLink()).toBe(true);
    await expect(lstat(join(out, "GONE.jpg"))).rejects.toThrow();
    const doc = JSON.parse(res.stdout) as Doc;
    expect(doc.summary).toMatchObject({ saved: 1, noPhoto: 1, pruned: 1 });
    // The deletion is reported; the refused entries are named in a warning.
    expect(res.stderr).toContain(`pruned ${join(out, "GONE.jpg")}`);
    expect(res.stderr).toMatch(/ignored manifest entry "\.\.\/victim\.txt"/);
    expect(res.stderr).toMatch(/ignored manifest entry "sub\/x\.jpg"/);
    const manifest = JSON.parse(await readFile(join(out, ".cloudadmin-photos.json"), "utf8"));
    expect(Object.keys(manifest.files)).toEqual(["K1.jpg"]);
  });

  it("never writes through a symlink planted under a photo's or the manifest's name", async () => {
    const dataset = await twoUsers();
    const out = join(dir, "photos");
    await mkdir(out);
    const photoTarget = join(dir, "not-a-photo.txt");
    const manifestTarget = join(dir, "not-a-manifest.txt");
    await writeFile(photoTarget, "precious");
    await writeFile(manifestTarget, "precious too");
    await symlink(photoTarget, join(out, "K1.jpg"));
    await symlink(manifestTarget, join(out, ".cloudadmin-photos.json"));
    const res = await runCli([
      "user-photos",
      "--simulate",
      "--sim-dataset",
      dataset,
      "--out-dir",
      out,
      "-o",
      "json",
    ]);
    expect(res.code, res.stderr).toBe(0);
    expect(await readFile(photoTarget, "utf8")).toBe("precious");
    expect(await readFile(manifestTarget, "utf8")).toBe("precious too");
    // The links themselves were replaced by regular files in the folder.
    expect((await lstat(join(out, "K1.jpg"))).isFile()).toBe(true);
    expect(await readFile(join(out, "K1.jpg"))).toEqual(JPEG);
    expect((await lstat(join(out, ".cloudadmin-photos.json"))).isFile()).toBe(true);
    const doc = JSON.parse(res.stdout) as Doc;
    expect(doc.items.find((i) => i.key === "K1")).toMatchObject({ status: "saved", etag: '"M1"' });
  });

  it("refuses a size Graph does not serve, an empty --out-dir and an --out-dir that is a file (2)", async () => {
    const dataset = await twoUsers();
    const base = ["user-photos", "--simulate", "--sim-dataset", dataset];
    const odd = await runCli([...base, "--out-dir", join(dir, "p"), "--size", "100x100"]);
    expect(odd.code, odd.stderr).toBe(2);
    expect(odd.stderr).toMatch(
      /100x100.*48x48, 64x64, 96x96, 120x120, 240x240, 360x360, 432x432, 504x504, 648x648/,
    );
    expect(odd.stdout).toBe("");
    const good = await runCli([...base, "--out-dir", join(dir, "p"), "--size", "240x240", "-o", "json"]);
    expect(good.code, good.stderr).toBe(0);
    const empty = await runCli([...base, "--out-dir", ""], { cwd: dir });
    expect(empty.code, empty.stderr).toBe(2);
    expect(empty.stdout).toBe("");
    const file = join(dir, "a-file");
    await writeFile(file, "not a folder");
    const notDir = await runCli([...base, "--out-dir", file]);
    expect(notDir.code, notDir.stderr).toBe(2);
    expect(notDir.stderr).toMatch(/is not a folder/);
    expect(await readFile(file, "utf8")).toBe("not a folder");
    // Nothing was written into the current folder by the empty --out-dir.
    expect((await readdir(dir)).sort()).toEqual(["a-file", "dataset.json", "p"]);
  });
});

describe("cloudadmin user-photos --help", () => {
  it("documents the flags and auth", async () => {
    const res = await runCli(["user-photos", "--help"]);
    expect(res.code, res.stderr).toBe(0);
    for (const flag of [
      "--out-dir",
      "--container-url",
      "--key",
      "--filter",
      "--size",
      "--full",
      "--prune",
      "--graph-endpoint",
    ]) {
      expect(res.stdout).toContain(flag);
    }
    expect(res.stdout).toContain("CLOUDADMIN_GRAPH_TOKEN");
  });
});
