import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BlobServiceClient, type ContainerClient } from "@azure/storage-blob";
import { type Simulator, startSimulator } from "@cloudadmin/cloud-sim";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  MANIFEST_NAME,
  type SyncUserPhotosOptions,
  type UserPhotoItem,
  openContainer,
  syncUserPhotos,
} from "../src/index.js";
import {
  EXT,
  type FixtureUser,
  type GraphPhotoEntry,
  dataset,
  fixedToken,
  PLACEHOLDER,
  photo,
  retryTimer,
  startBlobEmulator,
  tree,
  uid,
} from "./helpers.js";

/** A per-request timeout no test reaches: the injected timers never fire it. */
const TIMEOUT_MS = 987_654;

interface GraphControl {
  setPhoto(userId: string, photo: GraphPhotoEntry | null): void;
  setPhotoBehaviour(patch: {
    valueEtag?: "media" | "absent" | "different";
    placeholderId?: "1x1" | "1X1";
    onPremisesStatus?: number;
    onPremisesBeta?: "entra-id" | "same-error";
  }): void;
  maxPhotoInFlight: number;
}

let azurite: Awaited<ReturnType<typeof startBlobEmulator>>;
let blobService: BlobServiceClient;
const cleanup: Array<() => Promise<void>> = [];

beforeAll(async () => {
  azurite = await startBlobEmulator();
  blobService = BlobServiceClient.fromConnectionString(azurite.connectionString);
});
afterAll(async () => {
  for (const f of cleanup.reverse()) await f();
  await azurite.stop();
});

async function setup(users: FixtureUser[], onPrem: number[] = [], latency = 0) {
  const sim = await startSimulator({
    dataset: { graph: dataset(users, onPrem) },
    services: ["graph"],
    latency,
  });
  const root = await mkdtemp(join(tmpdir(), "user-photos-"));
  const outDir = join(root, "photos");
  const container = blobService.getContainerClient(`photos-${Math.random().toString(36).slice(2, 10)}`);
  cleanup.push(async () => {
    await sim.close();
    await rm(root, { recursive: true, force: true });
  });
  return { sim, root, outDir, container, graph: sim.service("graph") as unknown as GraphControl };
}

function options(sim: Simulator, extra: Partial<SyncUserPhotosOptions>): SyncUserPhotosOptions {
  return { credential: fixedToken(), endpoint: sim.httpsUrl, ca: sim.ca, ...extra };
}

async function run(opts: SyncUserPhotosOptions): Promise<Map<string, UserPhotoItem>> {
  const items = new Map<string, UserPhotoItem>();
  for await (const item of syncUserPhotos(opts)) {
    expect(items.has(item.userId)).toBe(false);
    items.set(item.userId, item);
  }
  return items;
}

const photoOps = (sim: Simulator) =>
  sim.requestLog.filter((r) => r.operation.startsWith("GetPhoto") || r.operation === "ListPhotos");

async function blobsOf(container: ContainerClient) {
  const out = new Map<
    string,
    { etag: string; contentType: string | undefined; metadata: Record<string, string> }
  >();
  for await (const b of container.listBlobsFlat({ includeMetadata: true })) {
    out.set(b.name, {
      etag: b.properties.etag ?? "",
      contentType: b.properties.contentType,
      metadata: b.metadata ?? {},
    });
  }
  return out;
}

describe("syncUserPhotos", () => {
  it("saves every eligible user's photo over several pages to a folder and a container, with content type and ETag", {
    timeout: 60_000,
  }, async () => {
    // 1,010 eligible users: more than one page of 999. Every 10th has a photo, some of them PNG.
    const users: FixtureUser[] = [];
    for (let i = 0; i < 1010; i++) {
      users.push({
        i,
        employeeId: String(5000 + i),
        photo: i % 10 === 0 ? photo(i, i % 30 === 0 ? "image/png" : "image/jpeg") : null,
      });
    }
    users.push({ i: 2000, employeeId: "9999", enabled: false, photo: photo(2000) });
    users.push({ i: 2001, photo: photo(2001) });
    // A little latency, so requests overlap and the concurrency limit is exercised.
    const { sim, outDir, container, graph } = await setup(users, [], 5);
    const listed: number[] = [];
    const items = await run(
      options(sim, {
        outDir,
        container,
        onProgress: (e) => e.type === "users-listed" && listed.push(e.listed),
      }),
    );
    expect(listed).toEqual([999, 1010]);
    expect(items.size).toBe(1010);
    const saved = [...items.values()].filter((i) => i.status === "saved");
    expect(saved).toHaveLength(101);
    expect([...items.values()].filter((i) => i.status === "no-photo")).toHaveLength(909);
    expect(items.get(uid(1))).toMatchObject({
      status: "no-photo",
      reason: "ImageNotFound",
      file: null,
      blobUrl: null,
      bytes: 0,
    });
    expect(items.has(uid(2000))).toBe(false);
    expect(items.has(uid(2001))).toBe(false);
    const png = items.get(uid(30));
    expect(png).toMatchObject({
      status: "saved",
      key: "5030",
      contentType: "image/png",
      etag: '"P1E"',
      bytes: 600,
    });
    expect(png?.file).toBe(join(outDir, "5030.png"));
    expect(png?.blobUrl).toBe(`${container.url}/5030.png`);
    expect(await readFile(join(outDir, "5030.png"))).toEqual(
      Buffer.from(photo(30, "image/png").base64, "base64"),
    );
    expect(await readFile(join(outDir, "5010.jpg"))).toEqual(Buffer.from(photo(10).base64, "base64"));
    const blobs = await blobsOf(container);
    expect(blobs.size).toBe(101);
    expect(blobs.get("5030.png")).toMatchObject({
      contentType: "image/png",
      metadata: { graphetag: '"P1E"', userid: uid(30) },
    });
    expect(blobs.get("5010.jpg")?.contentType).toBe("image/jpeg");
    const blobBytes = await container.getBlockBlobClient("5010.jpg").downloadToBuffer();
    expect(blobBytes).toEqual(Buffer.from(photo(10).base64, "base64"));
    const manifest = JSON.parse(await readFile(join(outDir, MANIFEST_NAME), "utf8"));
    expect(Object.keys(manifest.files)).toHaveLength(101);
    expect(manifest.files["5010.jpg"]).toMatchObject({
      userId: uid(10),
      etag: '"PA"',
      contentType: "image/jpeg",
      bytes: 600,
    });
    // The metadata (mediaEtag) of every user, the bytes of the 101 photos; never more than Graph's 4
    // at once, and no concurrency refusals.
    expect(sim.stats().byOperation["graph:GetPhoto"]).toBe(1010);
    expect(sim.stats().byOperation["graph:GetPhotoValue"]).toBe(101);
    expect(graph.maxPhotoInFlight).toBe(4);
    expect(sim.stats().byStatus["429"]).toBeUndefined();
    expect(sim.stats().events.photoBytes).toBe(101 * 600);
  });

  it("names files after an extension attribute and refuses unsafe and duplicate keys without writing outside the folder", async () => {
    const bad = [
      "../../escape",
      "a/b",
      "a\\b",
      "CON",
      "lpt1.txt",
      "bell\u0007",
      "",
      "x".repeat(300),
      "..",
      "end.",
      " lead",
      "c:d",
      "..hidden",
    ];
    const users: FixtureUser[] = bad.map((ext, n) => ({ i: n, ext, employeeId: `E${n}`, photo: photo(n) }));
    users.push(
      { i: 50, ext: "dup", photo: photo(50) },
      { i: 51, ext: "DUP", photo: photo(51) },
      { i: 52, ext: "dup", photo: null },
    );
    users.push({ i: 60, ext: "EN60", photo: photo(60) }, { i: 61, ext: "Ünïcode-61", photo: photo(61) });
    users.push({ i: 70, employeeId: "only-employee-id", photo: photo(70) });
    const { sim, root, outDir, container } = await setup(users);
    const items = await run(options(sim, { outDir, container, keyAttribute: EXT }));
    for (let n = 0; n < bad.length; n++) {
      expect(items.get(uid(n))?.status, `key ${JSON.stringify(bad[n])}`).toBe("invalid-key");
      expect(items.get(uid(n))?.file).toBeNull();
    }
    expect(items.get(uid(1))?.reason).toBe("contains a path separator");
    expect(items.get(uid(3))?.reason).toBe("is a reserved device name");
    for (const i of [50, 51, 52]) expect(items.get(uid(i))?.status).toBe("duplicate-key");
    expect(items.get(uid(50))?.reason).toBe("key shared with u51@contoso.example, u52@contoso.example");
    expect(items.get(uid(60))).toMatchObject({ status: "saved", key: "EN60" });
    expect(items.get(uid(61))).toMatchObject({ status: "saved", key: "Ünïcode-61" });
    // The default filter asks for the key attribute: a user without it is not listed at all.
    expect(items.has(uid(70))).toBe(false);
    expect(await tree(root)).toEqual([
      "photos/",
      `photos/${MANIFEST_NAME}`,
      "photos/EN60.jpg",
      "photos/Ünïcode-61.jpg",
    ]);
    expect([...(await blobsOf(container)).keys()].sort()).toEqual(["EN60.jpg", "Ünïcode-61.jpg"]);
    // Graph was never asked for the photos of users whose key was refused: metadata and bytes of two.
    expect(photoOps(sim)).toHaveLength(4);
  });

  it("reports users without the key when the filter lets them through, and reads on-premises mailboxes through beta", async () => {
    const users: FixtureUser[] = [
      { i: 1, employeeId: "1001", photo: photo(1) },
      { i: 2, photo: photo(2) },
      { i: 3, employeeId: "1003", photo: photo(3) },
      { i: 4, employeeId: "1004", photo: null },
    ];
    const { sim, outDir } = await setup(users, [3, 4]);
    const items = await run(options(sim, { outDir, filter: "accountEnabled eq true" }));
    expect(items.get(uid(1))?.status).toBe("saved");
    expect(items.get(uid(2))).toMatchObject({ status: "no-key", key: null });
    // v1.0 says MailboxNotHostedInExchangeOnline; beta falls back to Entra ID's photo.
    expect(items.get(uid(3))).toMatchObject({ status: "saved", file: join(outDir, "1003.jpg") });
    expect(items.get(uid(4))).toMatchObject({ status: "no-photo", reason: "ImageNotFound" });
    const paths = sim.requestLog
      .filter((r) => r.path.includes(uid(3)))
      .map((r) => `${r.status} ${r.path.split("/")[1]} ${r.operation}`);
    expect(paths).toEqual(["404 v1.0 GetPhoto", "200 beta GetPhoto", "200 beta GetPhotoValue"]);
    const manifest = JSON.parse(await readFile(join(outDir, MANIFEST_NAME), "utf8"));
    expect(manifest.files["1003.jpg"].version).toBe("beta");
    // The next run goes to beta directly for that user: one metadata request.
    sim.resetStats();
    const again = await run(options(sim, { outDir, filter: "accountEnabled eq true" }));
    expect(again.get(uid(3))?.status).toBe("unchanged");
    expect(sim.requestLog.filter((r) => r.path.includes(uid(3))).map((r) => r.path.split("/")[1])).toEqual([
      "beta",
    ]);
  });

  it("downloads and uploads nothing on a second run, replaces a changed photo, and prunes a removed one", {
    timeout: 30_000,
  }, async () => {
    const users: FixtureUser[] = Array.from({ length: 30 }, (_, i) => ({
      i,
      employeeId: `K${i}`,
      photo: i < 20 ? photo(i) : null,
    }));
    const { sim, outDir, container, graph } = await setup(users);
    await run(options(sim, { outDir, container }));
    const before = await blobsOf(container);
    const mtime = (await stat(join(outDir, "K1.jpg"))).mtimeMs;
    sim.resetStats();

    const second = await run(options(sim, { outDir, container }));
    expect([...second.values()].filter((i) => i.status === "unchanged")).toHaveLength(20);
    expect(second.get(uid(1))).toMatchObject({
      status: "unchanged",
      file: join(outDir, "K1.jpg"),
      bytes: 600,
      etag: '"P1"',
    });
    expect(sim.stats().events.photoBytes ?? 0).toBe(0);
    expect(photoOps(sim)).toHaveLength(30);
    const after = await blobsOf(container);
    expect([...after].map(([n, b]) => [n, b.etag])).toEqual([...before].map(([n, b]) => [n, b.etag]));
    expect((await stat(join(outDir, "K1.jpg"))).mtimeMs).toBe(mtime);

    // A new photo for user 2 (now PNG) and none for user 3.
    graph.setPhoto(uid(2), photo(202, "image/png", 900));
    graph.setPhoto(uid(3), null);
    const stale: string[] = [];
    sim.resetStats();
    const third = await run(
      options(sim, {
        outDir,
        container,
        onProgress: (e) => e.type === "stale" && stale.push(e.file ?? e.blobName ?? ""),
      }),
    );
    expect(third.get(uid(2))).toMatchObject({
      status: "saved",
      contentType: "image/png",
      bytes: 900,
      file: join(outDir, "K2.png"),
    });
    expect(await readFile(join(outDir, "K2.png"))).toEqual(
      Buffer.from(photo(202, "image/png", 900).base64, "base64"),
    );
    expect(third.get(uid(3))).toMatchObject({ status: "no-photo", pruned: false });
    expect(sim.stats().events.photoBytes).toBe(900);
    // Without --prune the old files stay and are reported.
    expect(stale.sort()).toEqual(["K2.jpg", "K3.jpg", join(outDir, "K2.jpg"), join(outDir, "K3.jpg")].sort());
    const blobs3 = await blobsOf(container);
    expect(blobs3.get("K2.png")?.metadata.graphetag).toBe('"PCA"');

    const fourth = await run(options(sim, { outDir, container, prune: true }));
    expect(fourth.get(uid(3))).toMatchObject({ status: "no-photo", pruned: true });
    expect(fourth.get(uid(2))).toMatchObject({ status: "unchanged", pruned: true });
    await expect(stat(join(outDir, "K3.jpg"))).rejects.toThrow();
    await expect(stat(join(outDir, "K2.jpg"))).rejects.toThrow();
    const blobs4 = await blobsOf(container);
    expect(blobs4.has("K3.jpg")).toBe(false);
    expect(blobs4.has("K2.jpg")).toBe(false);
    expect(blobs4.size).toBe(19);
    const manifest = JSON.parse(await readFile(join(outDir, MANIFEST_NAME), "utf8"));
    expect(Object.keys(manifest.files).sort()).toEqual([...blobs4.keys()].sort());

    // --full downloads everything again.
    sim.resetStats();
    const full = await run(options(sim, { outDir, full: true }));
    expect([...full.values()].filter((i) => i.status === "saved")).toHaveLength(19);
  });

  for (const [valueEtag, placeholderId] of [
    ["media", "1x1"],
    ["absent", "1X1"],
    ["different", "1x1"],
  ] as const) {
    it(`takes both forms of "no photo" for no-photo and versions from /photo's mediaEtag ($value ETag ${valueEtag}, placeholder id ${placeholderId})`, async () => {
      const users: FixtureUser[] = [
        { i: 1, employeeId: "N1", photo: photo(1) },
        { i: 2, employeeId: "N2", photo: PLACEHOLDER },
        { i: 3, employeeId: "N3", photo: null },
        { i: 4, employeeId: "N4", photo: photo(4) },
      ];
      const { sim, outDir, container, graph } = await setup(users);
      graph.setPhotoBehaviour({ valueEtag, placeholderId });
      const first = await run(options(sim, { outDir, container }));
      expect(first.get(uid(1))).toMatchObject({ status: "saved", etag: '"P1"' });
      expect(first.get(uid(2))).toMatchObject({ status: "no-photo", reason: "placeholder", file: null });
      expect(first.get(uid(3))).toMatchObject({ status: "no-photo", reason: "ImageNotFound", file: null });
      expect(await tree(outDir)).toEqual([MANIFEST_NAME, "N1.jpg", "N4.jpg"]);
      expect([...(await blobsOf(container)).keys()].sort()).toEqual(["N1.jpg", "N4.jpg"]);
      // The placeholder's metadata says there is nothing to download: no $value request for it.
      expect(sim.requestLog.filter((r) => r.path.includes(uid(2))).map((r) => r.operation)).toEqual([
        "GetPhoto",
      ]);
      const manifest = JSON.parse(await readFile(join(outDir, MANIFEST_NAME), "utf8"));
      expect(manifest.files["N1.jpg"].etag).toBe('"P1"');

      // A rerun moves 0 bytes: one metadata request per user, whatever $value's ETag header was.
      sim.resetStats();
      const second = await run(options(sim, { outDir, container }));
      expect([...second.values()].map((i) => i.status).sort()).toEqual([
        "no-photo",
        "no-photo",
        "unchanged",
        "unchanged",
      ]);
      expect(sim.stats().events.photoBytes ?? 0).toBe(0);
      expect(sim.stats().byOperation["graph:GetPhotoValue"]).toBeUndefined();
      expect(sim.stats().byOperation["graph:GetPhoto"]).toBe(4);

      // A new photo has a new mediaEtag: downloaded again, and only that one.
      graph.setPhoto(uid(4), photo(40));
      sim.resetStats();
      const third = await run(options(sim, { outDir, container }));
      expect(third.get(uid(4))).toMatchObject({ status: "saved", etag: '"P28"' });
      expect(third.get(uid(1))?.status).toBe("unchanged");
      expect(sim.stats().byOperation["graph:GetPhotoValue"]).toBe(1);
    });
  }

  for (const onPremisesStatus of [404, 400, 503]) {
    for (const onPremisesBeta of ["entra-id", "same-error"] as const) {
      it(`decides an on-premises mailbox by its error code (status ${onPremisesStatus}, beta ${onPremisesBeta})`, async () => {
        const users: FixtureUser[] = [
          { i: 1, employeeId: "O1", photo: photo(1) },
          { i: 2, employeeId: "O2", photo: photo(2) },
        ];
        const { sim, outDir, graph } = await setup(users, [1]);
        graph.setPhotoBehaviour({ onPremisesStatus, onPremisesBeta });
        const { timer, slept } = retryTimer(TIMEOUT_MS);
        const errors: string[] = [];
        const items = await run(
          options(sim, { outDir, timer, timeoutMs: TIMEOUT_MS, onError: (e) => errors.push(e.code) }),
        );
        expect(items.get(uid(2))?.status).toBe("saved");
        const asked = sim.requestLog
          .filter((r) => r.path.includes(uid(1)))
          .map((r) => `${r.status} ${r.path.split("/")[1]} ${r.operation}`);
        if (onPremisesBeta === "entra-id") {
          expect(items.get(uid(1))).toMatchObject({ status: "saved", file: join(outDir, "O1.jpg") });
          expect(asked).toEqual([
            `${onPremisesStatus} v1.0 GetPhoto`,
            "200 beta GetPhoto",
            "200 beta GetPhotoValue",
          ]);
        } else {
          expect(items.get(uid(1))).toMatchObject({
            status: "no-photo",
            reason: "MailboxNotHostedInExchangeOnline",
            file: null,
          });
          // Not retried, whatever the status: the code says no request can change it.
          expect(asked).toEqual([`${onPremisesStatus} v1.0 GetPhoto`, `${onPremisesStatus} beta GetPhoto`]);
        }
        expect(errors).toEqual([]);
        expect(slept).toEqual([]);
      });
    }
  }

  it("follows empty pages that still carry a nextLink", async () => {
    const users: FixtureUser[] = Array.from({ length: 30 }, (_, i) => ({
      i,
      employeeId: `P${i}`,
      photo: null,
    }));
    const { sim, outDir } = await setup(users);
    sim.setFaults({ emptyPageRate: 0.95 });
    const listed: number[] = [];
    const items = await run(
      options(sim, { outDir, onProgress: (e) => e.type === "users-listed" && listed.push(e.listed) }),
    );
    expect(items.size).toBe(30);
    expect(listed.at(-1)).toBe(30);
    // 30 users fit on one page: every other page was an empty one with a nextLink.
    expect(listed.length).toBeGreaterThan(1);
    expect(sim.stats().byOperation["graph:ListUsers"]).toBe(listed.length);
  });

  it("talks plain http to a loopback emulator, token and nextLinks included", async () => {
    const users: FixtureUser[] = Array.from({ length: 20 }, (_, i) => ({
      i,
      employeeId: `H${i}`,
      photo: photo(i),
    }));
    const { sim, outDir } = await setup(users);
    sim.setFaults({ emptyPageRate: 0.95 });
    const items = await run({ credential: fixedToken(), endpoint: sim.httpUrl, outDir });
    expect([...items.values()].filter((i) => i.status === "saved")).toHaveLength(20);
    const log = sim.requestLog;
    expect(log.every((r) => !r.secure && r.status === 200)).toBe(true);
    expect(log.filter((r) => r.operation === "ListUsers").length).toBeGreaterThan(1);
    expect(log.every((r) => r.principal !== undefined)).toBe(true);
  });

  it("keeps its state in blob metadata when writing only to a container", async () => {
    const users: FixtureUser[] = Array.from({ length: 5 }, (_, i) => ({
      i,
      employeeId: `B${i}`,
      photo: i < 4 ? photo(i) : null,
    }));
    const { sim, container } = await setup(users);
    const first = await run(options(sim, { container }));
    expect([...first.values()].filter((i) => i.status === "saved")).toHaveLength(4);
    expect(first.get(uid(0))).toMatchObject({ file: null, blobUrl: `${container.url}/B0.jpg` });
    sim.resetStats();
    const second = await run(options(sim, { container }));
    expect(second.get(uid(0))).toMatchObject({
      status: "unchanged",
      bytes: 600,
      contentType: "image/jpeg",
      etag: '"P0"',
    });
    expect(second.get(uid(4))?.status).toBe("no-photo");
    expect(sim.stats().events.photoBytes ?? 0).toBe(0);
    expect(photoOps(sim)).toHaveLength(5);
  });

  it("waits out throttling for what Retry-After says (injected timer) and still saves every photo", async () => {
    const users: FixtureUser[] = Array.from({ length: 12 }, (_, i) => ({
      i,
      employeeId: `T${i}`,
      photo: photo(i),
    }));
    const { sim, outDir } = await setup(users);
    // Photo downloads get 429 with Retry-After: 2. The four refused requests wait together; when the
    // fourth has started waiting, Graph stops throttling and every wait ends.
    sim.setFaults({ throttleRate: 1, operations: ["GetPhotoValue"] });
    const { timer, slept } = retryTimer(TIMEOUT_MS, (waits, wake) => {
      if (waits.length < 4) return;
      sim.setFaults({ throttleRate: 0 });
      wake();
    });
    const retries: number[] = [];
    const items = await run(
      options(sim, {
        outDir,
        timer,
        timeoutMs: TIMEOUT_MS,
        onProgress: (e) => e.type === "retry" && retries.push(e.status),
      }),
    );
    expect([...items.values()].every((i) => i.status === "saved")).toBe(true);
    // The four requests in flight were refused and waited 2 s each, as Graph asked; then succeeded.
    expect(sim.stats().throttled).toBe(4);
    expect(slept).toEqual([2000, 2000, 2000, 2000]);
    expect(retries).toEqual([429, 429, 429, 429]);
    expect(sim.stats().byOperation["graph:GetPhotoValue"]).toBe(16);
  });

  it("leaves a consistent manifest when interrupted, and resumes without downloading saved photos again", async () => {
    const users: FixtureUser[] = Array.from({ length: 40 }, (_, i) => ({
      i,
      employeeId: `R${i}`,
      photo: photo(i),
    }));
    const { sim, outDir } = await setup(users);
    sim.setFaults({ slowRate: 1, slowMs: 20 });
    const controller = new AbortController();
    let seen = 0;
    const first = syncUserPhotos(options(sim, { outDir, signal: controller.signal }));
    await expect(
      (async () => {
        for await (const item of first) {
          expect(item.status).toBe("saved");
          if (++seen === 10) controller.abort();
        }
      })(),
    ).rejects.toMatchObject({ code: "ERR_ABORTED" });
    const manifest = JSON.parse(await readFile(join(outDir, MANIFEST_NAME), "utf8"));
    const names = Object.keys(manifest.files);
    expect(names.length).toBeGreaterThanOrEqual(10);
    expect(names.length).toBeLessThan(40);
    for (const name of names) {
      expect((await readFile(join(outDir, name))).length).toBe(manifest.files[name].bytes);
    }
    // No temp files left behind.
    expect((await tree(outDir)).filter((f) => f.endsWith(".tmp"))).toEqual([]);
    sim.resetStats();
    sim.setFaults({ slowRate: 0, slowMs: 0 });
    const resumed = await run(options(sim, { outDir }));
    const unchanged = [...resumed.values()].filter((i) => i.status === "unchanged").length;
    expect(unchanged).toBe(names.length);
    expect(unchanged + [...resumed.values()].filter((i) => i.status === "saved").length).toBe(40);
    expect(sim.stats().events.photoBytes).toBe((40 - names.length) * 600);
  });

  it("reports a photo that keeps failing as failed, through onError, and goes on with the others", async () => {
    const users: FixtureUser[] = Array.from({ length: 6 }, (_, i) => ({
      i,
      employeeId: `F${i}`,
      photo: photo(i),
    }));
    const { sim, outDir } = await setup(users);
    sim.setFaults({ errorRate: 1, services: ["graph"], operations: ["GetPhotoValue"] });
    const errors: Array<{
      code: string;
      status: number | undefined;
      scope: string | undefined;
      message: string;
    }> = [];
    const { timer, slept } = retryTimer(TIMEOUT_MS);
    const items = await run(
      options(sim, {
        outDir,
        maxRetries: 1,
        timer,
        timeoutMs: TIMEOUT_MS,
        onError: (e) => errors.push({ code: e.code, status: e.status, scope: e.scope, message: e.message }),
      }),
    );
    // One wait per user, at least the second Graph's Retry-After: 1 asked for.
    expect(slept).toHaveLength(6);
    for (const ms of slept) expect(ms).toBeGreaterThanOrEqual(1000);
    expect([...items.values()].map((i) => i.status)).toEqual(Array(6).fill("failed"));
    expect(items.get(uid(0))?.reason).toBe("serviceNotAvailable");
    expect(errors).toHaveLength(6);
    expect(errors[0]).toMatchObject({ code: "ERR_REMOTE", status: 503 });
    expect(errors.every((e) => e.message.startsWith("gave up after 2 attempts"))).toBe(true);
    expect(errors.map((e) => e.scope).sort()).toEqual(users.map((u) => `u${u.i}@contoso.example`).sort());
    expect(errors[0]?.message).not.toContain("sim-graph-token");
    // One retry each (Retry-After: 1), then given up.
    expect(sim.stats().byOperation["graph:GetPhotoValue"]).toBe(12);
    expect(await tree(outDir)).toEqual([]);
  });

  it("reports every failure through onError as a CloudAdminError naming the user and the step", async () => {
    const { sim, outDir } = await setup([
      { i: 1, employeeId: "A1", photo: photo(1) },
      { i: 2, employeeId: "A2", photo: photo(2) },
    ]);
    // The listing gets a token that is about to expire; getting the next one fails.
    let calls = 0;
    const credential = {
      async getToken() {
        if (++calls > 1) throw new Error("AADSTS700024: client assertion is not within its valid time range");
        return { token: "sim-graph-token", expiresOnTimestamp: Date.now() + 60_000 };
      },
    };
    const errors: Array<{ code: string; scope: string | undefined; phase: string | undefined }> = [];
    const items = await run({
      credential,
      endpoint: sim.httpsUrl,
      ca: sim.ca,
      outDir,
      onError: (e) => errors.push({ code: e.code, scope: e.scope, phase: e.phase }),
    });
    expect([...items.values()].map((i) => [i.status, i.reason])).toEqual([
      ["failed", "ERR_AUTH"],
      ["failed", "ERR_AUTH"],
    ]);
    expect(errors.sort((a, b) => String(a.scope).localeCompare(String(b.scope)))).toEqual([
      { code: "ERR_AUTH", scope: "u1@contoso.example", phase: "auth" },
      { code: "ERR_AUTH", scope: "u2@contoso.example", phase: "auth" },
    ]);
  });

  it("gives up on a request that outlives timeoutMs, after its retries, as ERR_TIMEOUT", async () => {
    const { sim, outDir } = await setup([{ i: 1, employeeId: "Z1", photo: photo(1) }]);
    sim.setFaults({ slowRate: 1, slowMs: 1500, services: ["graph"], operations: ["GetPhotoValue"] });
    const codes: string[] = [];
    const controller = new AbortController();
    const items = await run(
      options(sim, {
        outDir,
        timeoutMs: 200,
        maxRetries: 1,
        signal: controller.signal,
        onError: (e) => codes.push(e.code),
      }),
    );
    expect(items.get(uid(1))).toMatchObject({ status: "failed", file: null, reason: "ERR_TIMEOUT" });
    expect(codes).toEqual(["ERR_TIMEOUT"]);
    expect(sim.requestLog.filter((r) => r.operation === "GetPhotoValue")).toHaveLength(2);
  });

  it("fetches a chosen size, and downloads again when the size changes", async () => {
    const small = { ...photo(2), width: 96, height: 96 };
    const users: FixtureUser[] = [
      { i: 1, employeeId: "S1", photo: photo(1) },
      { i: 2, employeeId: "S2", photo: small },
    ];
    const { sim, outDir } = await setup(users);
    const items = await run(options(sim, { outDir, size: "240x240" }));
    expect(items.get(uid(1))).toMatchObject({ status: "saved", bytes: 600 });
    expect(items.get(uid(2))).toMatchObject({ status: "no-photo", reason: "ImageNotFound" });
    expect(
      photoOps(sim)
        .map((r) => r.path)
        .sort(),
    ).toEqual(
      [
        `/v1.0/users/${uid(1)}/photos/240x240`,
        `/v1.0/users/${uid(1)}/photos/240x240/$value`,
        `/v1.0/users/${uid(2)}/photos/240x240`,
      ].sort(),
    );
    const manifest = JSON.parse(await readFile(join(outDir, MANIFEST_NAME), "utf8"));
    expect(manifest.files["S1.jpg"].size).toBe("240x240");
    const largest = await run(options(sim, { outDir }));
    expect(largest.get(uid(1))?.status).toBe("saved");
    expect(largest.get(uid(2))?.status).toBe("saved");
  });

  it("sends every Graph request through a caller's fetch", async () => {
    const { Agent, fetch: undiciFetch } = await import("undici");
    const users: FixtureUser[] = [{ i: 1, employeeId: "W1", photo: photo(1) }];
    const { sim, outDir } = await setup(users);
    const dispatcher = new Agent({ connect: { ca: sim.ca } });
    const seen: string[] = [];
    try {
      const items = await run({
        credential: fixedToken(),
        endpoint: sim.httpsUrl,
        outDir,
        fetch: async (url, init) => {
          seen.push(new URL(url).pathname);
          return (await undiciFetch(url, {
            ...(init as object),
            dispatcher,
          } as never)) as unknown as Response;
        },
      });
      expect(items.get(uid(1))?.status).toBe("saved");
      expect(seen).toEqual([
        "/v1.0/users",
        `/v1.0/users/${uid(1)}/photo`,
        `/v1.0/users/${uid(1)}/photo/$value`,
      ]);
    } finally {
      await dispatcher.close();
    }
  });

  it("refuses plain http to a non-loopback name before any token, even when that name leads to a listener", async () => {
    const { Agent, fetch: undiciFetch } = await import("undici");
    const { sim, outDir, container } = await setup([{ i: 1, employeeId: "X1", photo: photo(1) }]);
    // A test-only resolver: every name is 127.0.0.1, so graph.example.test reaches the simulator.
    const dispatcher = new Agent({
      connect: {
        lookup: ((_host: string, opts: { all?: boolean }, cb: (...args: unknown[]) => void) =>
          opts.all ? cb(null, [{ address: "127.0.0.1", family: 4 }]) : cb(null, "127.0.0.1", 4)) as never,
      },
    });
    const viaResolver = (url: string, init?: RequestInit) =>
      undiciFetch(url, { ...(init as object), dispatcher } as never) as unknown as Promise<Response>;
    const port = new URL(sim.httpUrl).port;
    try {
      // The name does lead to the listener...
      const reached = await viaResolver(`http://graph.example.test:${port}/v1.0/users`);
      expect(reached.status).toBe(401);
      sim.resetStats();
      // ...but the policy refuses it by what was written, before a token is asked for.
      const credential = fixedToken();
      expect(() =>
        syncUserPhotos({
          credential,
          endpoint: `http://graph.example.test:${port}`,
          outDir,
          fetch: viaResolver,
        }),
      ).toThrow(expect.objectContaining({ code: "ERR_CONFIG" }));
      // A container URL is checked the same way, by the library itself.
      const blob = new (await import("@azure/storage-blob")).ContainerClient(
        `http://blob.example.test:${port}/devstoreaccount1/photos`,
      );
      expect(() => syncUserPhotos({ credential, endpoint: sim.httpUrl, container: blob })).toThrow(
        expect.objectContaining({ code: "ERR_CONFIG" }),
      );
      expect(() => openContainer(`http://blob.example.test:${port}/photos?sv=1&sig=x`)).toThrow(
        expect.objectContaining({ code: "ERR_CONFIG" }),
      );
      expect(() => openContainer("not a url")).toThrow(expect.objectContaining({ code: "ERR_USAGE" }));
      expect(credential.calls).toBe(0);
      expect(sim.stats().total).toBe(0);
      // The loopback container of a run is accepted.
      expect(() => syncUserPhotos({ credential, endpoint: sim.httpUrl, container })).not.toThrow();
    } finally {
      await dispatcher.close();
    }
  });

  it("refuses an http endpoint, a bad key attribute and a run without destination before any request", async () => {
    const { sim, outDir } = await setup([]);
    const take = async (o: SyncUserPhotosOptions) => {
      for await (const _ of syncUserPhotos(o)) {
        // nothing
      }
    };
    await expect(take(options(sim, { outDir, endpoint: "http://graph.example.com" }))).rejects.toMatchObject({
      code: "ERR_CONFIG",
    });
    await expect(
      take(options(sim, { outDir, keyAttribute: "employeeId ne null or true" })),
    ).rejects.toMatchObject({
      code: "ERR_USAGE",
    });
    await expect(take(options(sim, {}))).rejects.toMatchObject({ code: "ERR_USAGE" });
    expect(sim.stats().total).toBe(0);
  });
});
