import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BlobServiceClient, type ContainerClient } from "@azure/storage-blob";
import {
  type GraphDataset,
  type Simulator,
  generateDataset,
  startAzurite,
  startSimulator,
} from "@cloudadmin/cloud-sim";
import { type UserPhotoItem, syncUserPhotos } from "@cloudadmin/user-photos";
import { Client, type FetchOptions, ResponseType } from "@microsoft/microsoft-graph-client";
import { Agent } from "undici";
import { benchResult, measureRequestRate, timed } from "../measure.js";
import type { BenchContext, BenchResult, Scenario } from "../scenario.js";

const LATENCY_MS = 80;
/** Graph's documented limit for the photo API: 4 concurrent requests per app (SPEC section 8). */
const PHOTO_CONCURRENCY = 4;
/** Users the baseline actually runs (all 1,200 one at a time would take about 100 s); the rest is per user. */
const BASELINE_USERS = 300;
const PAGE_SIZE = 999;
const TOKEN = "sim-graph-token";
const credential = { getToken: async () => ({ token: TOKEN, expiresOnTimestamp: Date.now() + 3_600_000 }) };
const PHOTO_OPS = new Set(["GetPhoto", "GetPhotoValue", "GetPhotoSize", "GetPhotoSizeValue", "ListPhotos"]);

interface Eligible {
  id: string;
  key: string;
  photo: Buffer | null;
  contentType: string | null;
  etag: string | null;
}

/** The dataset's ground truth: enabled users with employeeId, in directory order, and their photos. */
function groundTruth(graph: GraphDataset): Eligible[] {
  return (graph.users ?? [])
    .filter((u) => u.accountEnabled && typeof u.employeeId === "string")
    .map((u) => {
      // Graph's 1x1 placeholder is no photo: no file, no blob.
      const entry = graph.photos?.[u.id];
      const p = entry && !("placeholder" in entry) ? entry : undefined;
      return {
        id: u.id,
        key: u.employeeId as string,
        photo: p ? Buffer.from(p.base64, "base64") : null,
        contentType: p?.contentType ?? null,
        etag: p?.etag ?? null,
      };
    });
}

/**
 * The model's lower bound for a client that keeps versions the way Graph documents them: the first
 * page of users (one round trip) must arrive before the first photo request; every eligible user
 * needs one metadata request (`/photo`: its `@odata.mediaEtag` is the only documented version, and it
 * tells a 404 or the 1x1 placeholder from a photo), every photo to download one more (`$value`), and
 * at most 4 photo requests run at once, each a round trip. An incremental run downloads nothing.
 */
function modelBoundMs(eligible: number, downloads: number): number {
  return LATENCY_MS + Math.ceil((eligible + downloads) / PHOTO_CONCURRENCY) * LATENCY_MS;
}

/** Azurite's Blob service in memory on a free port. */
async function startBlobEmulator() {
  const azurite = await startAzurite();
  return { service: BlobServiceClient.fromConnectionString(azurite.connectionString), stop: azurite.stop };
}

function graphClient(sim: Simulator, dispatcher: Agent): Client {
  return Client.initWithMiddleware({
    authProvider: { getAccessToken: async () => TOKEN },
    baseUrl: `${sim.httpsUrl}/`,
    customHosts: new Set([new URL(sim.httpsUrl).hostname]),
    defaultVersion: "v1.0",
    // Node's fetch takes an undici dispatcher; the DOM's RequestInit type (pulled in with playwright-core's
    // types in this package) does not name it.
    fetchOptions: { dispatcher } as FetchOptions,
  });
}

/** Requests per second the Graph SDK client reaches on a trivial request against a zero-latency simulator. */
async function calibrate(graph: GraphDataset): Promise<number> {
  const sim = await startSimulator({ dataset: { graph }, services: ["graph"] });
  const dispatcher = new Agent({ connect: { ca: sim.ca } });
  try {
    const client = graphClient(sim, dispatcher);
    const id = graph.users?.[0]?.id as string;
    return await measureRequestRate(() => client.api(`/users/${id}`).select(["id"]).get());
  } finally {
    await dispatcher.close();
    await sim.close();
  }
}

async function blobState(
  container: ContainerClient,
): Promise<Map<string, { etag: string; contentType: string; graphetag: string }>> {
  const out = new Map<string, { etag: string; contentType: string; graphetag: string }>();
  for await (const b of container.listBlobsFlat({ includeMetadata: true })) {
    out.set(b.name, {
      etag: b.properties.etag ?? "",
      contentType: b.properties.contentType ?? "",
      graphetag: b.metadata?.graphetag ?? "",
    });
  }
  return out;
}

interface RunOutcome {
  ms: number;
  items: UserPhotoItem[];
  requests: number;
  throttled: number;
  retries: number;
  photoRequests: number;
  photoBytes: number;
}

async function runSync(
  sim: Simulator,
  outDir: string,
  container: ContainerClient,
  signal: AbortSignal,
): Promise<RunOutcome> {
  sim.resetStats();
  let retries = 0;
  const { ms, value: items } = await timed(async () => {
    const items: UserPhotoItem[] = [];
    for await (const item of syncUserPhotos({
      credential,
      endpoint: sim.httpsUrl,
      ca: sim.ca,
      outDir,
      container,
      signal,
      onProgress: (e) => {
        if (e.type === "retry") retries++;
      },
    })) {
      items.push(item);
    }
    return items;
  });
  const stats = sim.stats();
  const photoRequests = Object.entries(stats.byOperation)
    .filter(([op]) => PHOTO_OPS.has(op.replace(/^graph:/, "")))
    .reduce((n, [, c]) => n + c, 0);
  return {
    ms,
    items,
    requests: stats.total,
    throttled: stats.throttled,
    retries,
    photoRequests,
    photoBytes: stats.events.photoBytes ?? 0,
  };
}

/**
 * What RetrieveO365PhotosAndStoreToDiskAndAzureBlobs did, with the same SDKs: list the users, then one
 * user at a time download the photo (a 404 is skipped), write it to disk, upload it to the container.
 * Runs the listing and the first BASELINE_USERS users; the photo phase is extrapolated per user.
 */
async function baseline(
  sim: Simulator,
  eligible: Eligible[],
  container: ContainerClient,
  signal: AbortSignal,
) {
  const dir = await mkdtemp(join(tmpdir(), "bench-photos-baseline-"));
  const dispatcher = new Agent({ connect: { ca: sim.ca } });
  try {
    const client = graphClient(sim, dispatcher);
    const started = performance.now();
    const users: Array<{ id: string; employeeId: string }> = [];
    let page = await client
      .api("/users")
      .header("ConsistencyLevel", "eventual")
      .count(true)
      .select(["id", "employeeId"])
      .filter("accountEnabled eq true and employeeId ne null")
      .top(PAGE_SIZE)
      .get();
    for (;;) {
      users.push(...page.value);
      const next = page["@odata.nextLink"];
      if (!next) break;
      page = await client.api(next).header("ConsistencyLevel", "eventual").get();
    }
    const listMs = performance.now() - started;
    if (users.length !== eligible.length)
      throw new Error(`baseline listed ${users.length} users, not ${eligible.length}`);
    const photosStart = performance.now();
    let saved = 0;
    for (const u of users.slice(0, BASELINE_USERS)) {
      if (signal.aborted) throw new Error("aborted");
      let bytes: ArrayBuffer;
      try {
        bytes = await client.api(`/users/${u.id}/photo/$value`).responseType(ResponseType.ARRAYBUFFER).get();
      } catch (error) {
        if ((error as { statusCode?: number }).statusCode === 404) continue;
        throw error;
      }
      const data = Buffer.from(bytes);
      await writeFile(join(dir, `${u.employeeId}.jpg`), data);
      await container.getBlockBlobClient(`${u.employeeId}.jpg`).uploadData(data);
      saved++;
    }
    const photosMs = performance.now() - photosStart;
    return { listMs, photosMs, saved, ms: listMs + (photosMs / BASELINE_USERS) * eligible.length };
  } finally {
    await dispatcher.close();
    await rm(dir, { recursive: true, force: true });
  }
}

async function checkFirstRun(
  items: UserPhotoItem[],
  eligible: Eligible[],
  outDir: string,
  blobs: Map<string, { contentType: string; graphetag: string }>,
) {
  const problems: string[] = [];
  const byId = new Map(items.map((i) => [i.userId, i]));
  if (items.length !== eligible.length)
    problems.push(`${items.length} items for ${eligible.length} eligible users`);
  let withPhoto = 0;
  for (const e of eligible) {
    const item = byId.get(e.id);
    if (!item) {
      problems.push(`no item for ${e.id}`);
      continue;
    }
    if (e.photo) {
      withPhoto++;
      const name = `${e.key}.${e.contentType === "image/png" ? "png" : "jpg"}`;
      if (item.status !== "saved" || item.etag !== e.etag || item.file !== join(outDir, name)) {
        problems.push(`${e.key}: ${item.status} ${item.etag}`);
        continue;
      }
      const onDisk = await readFile(join(outDir, name));
      if (!onDisk.equals(e.photo)) problems.push(`${name}: bytes differ`);
      const blob = blobs.get(name);
      if (!blob || blob.contentType !== e.contentType || blob.graphetag !== e.etag)
        problems.push(`${name}: blob ${JSON.stringify(blob)}`);
    } else if (item.status !== "no-photo") problems.push(`${e.key}: ${item.status}, expected no-photo`);
  }
  if (blobs.size !== withPhoto) problems.push(`${blobs.size} blobs for ${withPhoto} photos`);
  return problems;
}

async function run(ctx: BenchContext): Promise<BenchResult> {
  const graph = generateDataset({ scale: "large", seed: 1, services: ["graph"] }).graph as GraphDataset;
  const eligible = groundTruth(graph);
  ctx.log(
    `${graph.users?.length} users, ${eligible.length} eligible, ${eligible.filter((e) => e.photo).length} with a photo`,
  );
  const requestRate = await calibrate(graph);
  ctx.log(`calibrated: ${Math.round(requestRate)} requests/s`);
  const azurite = await startBlobEmulator();
  const sim = await startSimulator({ dataset: { graph }, services: ["graph"], latency: LATENCY_MS });
  const outDir = await mkdtemp(join(tmpdir(), "bench-photos-"));
  try {
    const container = azurite.service.getContainerClient("photos");
    const first = await runSync(sim, outDir, container, ctx.signal);
    const blobsAfterFirst = await blobState(container);
    const problems = await checkFirstRun(first.items, eligible, outDir, blobsAfterFirst);
    ctx.log(
      `first run: ${Math.round(first.ms)} ms, ${first.photoRequests} photo requests${problems.length ? `; problems: ${problems.slice(0, 5).join("; ")}` : ""}`,
    );

    const second = await runSync(sim, outDir, container, ctx.signal);
    const blobsAfterSecond = await blobState(container);
    const reuploaded = [...blobsAfterSecond].filter(
      ([n, b]) => blobsAfterFirst.get(n)?.etag !== b.etag,
    ).length;
    const unchanged = second.items.filter((i) => i.status === "unchanged").length;
    const noPhoto = second.items.filter((i) => i.status === "no-photo").length;
    const withPhoto = eligible.filter((e) => e.photo).length;
    const incrementalCorrect =
      second.photoBytes === 0 &&
      reuploaded === 0 &&
      second.photoRequests <= eligible.length &&
      unchanged === withPhoto &&
      noPhoto === eligible.length - withPhoto;
    const bound = modelBoundMs(eligible.length, withPhoto);
    const incrementalBound = modelBoundMs(eligible.length, 0);
    ctx.log(
      `incremental run: ${Math.round(second.ms)} ms, ${second.photoRequests} photo requests, ${second.photoBytes} photo bytes, ${reuploaded} uploads`,
    );

    const baselineContainer = azurite.service.getContainerClient("photos-baseline");
    await baselineContainer.createIfNotExists();
    const base = await baseline(sim, eligible, baselineContainer, ctx.signal);
    ctx.log(
      `baseline: listing ${Math.round(base.listMs)} ms, ${BASELINE_USERS} users in ${Math.round(base.photosMs)} ms`,
    );

    const boundCpuSecond = requestRate > 0 ? (second.requests / requestRate) * 1000 : 0;
    const secondBound = Math.max(incrementalBound, boundCpuSecond);
    return benchResult({
      scenario: "graph-photos",
      wallMs: first.ms,
      boundModelMs: bound,
      requests: first.requests,
      requestRate,
      baselineMs: base.ms,
      throttled: first.throttled,
      retries: first.retries,
      correct: problems.length === 0 && incrementalCorrect,
      extra: {
        users: graph.users?.length ?? 0,
        eligible: eligible.length,
        photos: withPhoto,
        photoRequests: first.photoRequests,
        photoBytes: first.photoBytes,
        baselineMeasuredMs: Math.round(base.listMs + base.photosMs),
        baselineSubsetUsers: BASELINE_USERS,
        incremental: {
          wallMs: Math.round(second.ms),
          lowerBoundMs: Math.round(secondBound),
          ratioToBound: Math.round((second.ms / secondBound) * 1000) / 1000,
          requests: second.requests,
          photoRequests: second.photoRequests,
          photoBytes: second.photoBytes,
          blobUploads: reuploaded,
          unchanged,
          throttled: second.throttled,
          correct: incrementalCorrect,
        },
      },
    });
  } finally {
    await sim.close();
    await azurite.stop();
    await rm(outDir, { recursive: true, force: true });
  }
}

/** Benchmark `graph-photos` (SPEC section 8): a first run and an incremental run of syncUserPhotos. */
export const scenarios: Scenario[] = [
  {
    name: "graph-photos",
    description:
      "2,000 users, 1,200 eligible, 70% with a 5-50 KB photo; 80 ms per call; 4 concurrent photo requests per app; first and incremental run to a folder and Azurite",
    run,
  },
];
