import type { TokenCredential } from "@azure/core-auth";
import { toCloudAdminError } from "@cloudadmin/errors";
import type { Timer } from "@cloudadmin/paging";
import { type FetchLike, type GraphConnection, answerError, connectGraph, isMailboxCode } from "./graph.js";
import { isPlaceholder } from "./photos.js";

/** One checked assumption, as `cloudadmin doctor --probe` lists them. */
export interface ProbeResult {
  provider: string;
  assumption: string;
  status: "holds" | "differs" | "unknown";
  /** What was seen; never a secret (no token, no user name). */
  detail: string;
}

export interface ProbeGraphPhotosOptions {
  /** The credential a run would use (app-only, User.Read.All). */
  credential: TokenCredential;
  /** Default `https://graph.microsoft.com`; passes the same endpoint policy as a run. */
  endpoint?: string;
  scopes?: string[];
  ca?: string | Buffer;
  fetch?: FetchLike;
  signal?: AbortSignal;
  /** Per-request timeout in ms (default `DEFAULT_TIMEOUT_MS`). */
  timeoutMs?: number;
  timer?: Timer;
  /** Users to look through for one with a photo (default 25). */
  maxUsers?: number;
}

const MEDIA_ETAG_ASSUMPTION =
  "Graph's @odata.mediaEtag matches across /photo and $value for one user (the job compares mediaEtag only)";
const NO_PHOTO_ASSUMPTION =
  "a user without a photo is answered 404 ImageNotFound, or 200 with the 1x1 placeholder on /photo";

/** An ETag without its weak prefix and quotes, so `W/"A1"`, `"A1"` and `A1` compare equal. */
function bareEtag(value: string): string {
  return value
    .trim()
    .replace(/^W\//i, "")
    .replace(/^"(.*)"$/, "$1");
}

/**
 * Checks, with a few harmless reads, what the job assumes about Graph's photos: lists up to
 * `maxUsers` users, reads `/photo` of each until one has a photo (noting how a user without one was
 * answered), then reads that photo's `$value` once and compares its `ETag` header with the
 * metadata's `@odata.mediaEtag`. `holds`, `differs` (with what was seen) or `unknown` (no user with
 * a photo, no ETag header, or a request failed). Photo requests go one at a time.
 *
 * @example
 * ```ts
 * for (const r of await probeGraphPhotos({ credential, endpoint })) console.log(r.status, r.assumption, r.detail);
 * ```
 */
export async function probeGraphPhotos(options: ProbeGraphPhotosOptions): Promise<ProbeResult[]> {
  const row = (assumption: string, status: ProbeResult["status"], detail: string): ProbeResult => ({
    provider: "graph",
    assumption,
    status,
    detail,
  });
  let graph: GraphConnection;
  try {
    graph = connectGraph({
      credential: options.credential,
      endpoint: options.endpoint ?? "https://graph.microsoft.com",
      scopes: options.scopes,
      ca: options.ca,
      fetch: options.fetch,
      signal: options.signal,
      timeoutMs: options.timeoutMs,
      timer: options.timer,
      maxRetries: 2,
    });
  } catch (error) {
    const detail = `the Graph endpoint was refused: ${toCloudAdminError(error, "ERR_CONFIG").message}`;
    return [row(MEDIA_ETAG_ASSUMPTION, "unknown", detail), row(NO_PHOTO_ASSUMPTION, "unknown", detail)];
  }
  try {
    const { etag, noPhoto } = await findPhoto(graph, options.maxUsers ?? 25);
    return [etag(row), noPhoto(row)];
  } catch (error) {
    const detail = `a Graph request failed: ${toCloudAdminError(error, "ERR_REMOTE").message}`;
    return [row(MEDIA_ETAG_ASSUMPTION, "unknown", detail), row(NO_PHOTO_ASSUMPTION, "unknown", detail)];
  } finally {
    await graph.close();
  }
}

type Row = (assumption: string, status: ProbeResult["status"], detail: string) => ProbeResult;

async function findPhoto(
  graph: GraphConnection,
  maxUsers: number,
): Promise<{ etag: (row: Row) => ProbeResult; noPhoto: (row: Row) => ProbeResult }> {
  const top = Math.max(1, Math.min(999, Math.floor(maxUsers)));
  const list = await graph.get(`/users?$top=${top}&$select=id`, { phase: "listing users", scope: "users" });
  if (list.status !== 200) {
    const detail = `listing users answered ${list.status}${list.code ? ` ${list.code}` : ""}`;
    return {
      etag: (row) => row(MEDIA_ETAG_ASSUMPTION, "unknown", detail),
      noPhoto: (row) => row(NO_PHOTO_ASSUMPTION, "unknown", detail),
    };
  }
  const ids = ((JSON.parse(list.body.toString("utf8")) as { value?: Array<{ id?: unknown }> }).value ?? [])
    .map((u) => u.id)
    .filter((id): id is string => typeof id === "string");
  let noPhotoForm: string | null = null;
  let otherForm: string | null = null;
  let etag: ((row: Row) => ProbeResult) | undefined;
  let read = 0;
  // Read users until one with a photo has answered the version question and one without has shown
  // which "no photo" form the tenant uses (metadata only after the first photo: one request each).
  for (const [n, id] of ids.entries()) {
    if (etag && (noPhotoForm !== null || otherForm !== null)) break;
    read = n + 1;
    const path = `/users/${encodeURIComponent(id)}/photo`;
    const meta = await graph.get(path, { phase: "reading photo metadata", scope: `user ${n + 1}` });
    if (meta.status === 401 || meta.status === 403) throw answerError(meta, "reading photo metadata");
    // An on-premises mailbox says nothing about photos in Exchange Online: look at the next user.
    if (isMailboxCode(meta.code)) continue;
    if (meta.status === 404 && meta.code === "ImageNotFound") {
      noPhotoForm ??= "404 ImageNotFound";
      continue;
    }
    if (meta.status !== 200) {
      otherForm ??= `${meta.status}${meta.code ? ` ${meta.code}` : ""}`;
      continue;
    }
    const body = JSON.parse(meta.body.toString("utf8")) as Record<string, unknown>;
    if (isPlaceholder(body)) {
      noPhotoForm ??= `200 with the placeholder (id ${JSON.stringify(String(body.id ?? ""))})`;
      continue;
    }
    if (etag) continue;
    etag = await compareVersions(graph, path, String(body["@odata.mediaEtag"] ?? ""), n + 1);
  }
  return {
    etag:
      etag ??
      ((row) => row(MEDIA_ETAG_ASSUMPTION, "unknown", `none of the ${ids.length} users listed has a photo`)),
    noPhoto: (row) => noPhotoRow(row, noPhotoForm, otherForm, read),
  };
}

/** Reads one photo's `$value` and compares its ETag header with the mediaEtag `/photo` gave. */
async function compareVersions(
  graph: GraphConnection,
  path: string,
  mediaEtag: string,
  user: number,
): Promise<(row: Row) => ProbeResult> {
  const value = await graph.get(`${path}/$value`, { phase: "downloading the photo", scope: `user ${user}` });
  const header = value.status === 200 ? value.headers.get("etag") : null;
  if (value.status !== 200) {
    const detail = `/photo had mediaEtag ${mediaEtag || "(empty)"} but $value answered ${value.status}${value.code ? ` ${value.code}` : ""}`;
    return (row) => row(MEDIA_ETAG_ASSUMPTION, "differs", detail);
  }
  if (header === null) {
    const detail = `$value sent no ETag header (mediaEtag ${mediaEtag || "(empty)"}); nothing to compare, and the job does not need it`;
    return (row) => row(MEDIA_ETAG_ASSUMPTION, "unknown", detail);
  }
  if (mediaEtag !== "" && bareEtag(header) === bareEtag(mediaEtag)) {
    const detail = `mediaEtag ${mediaEtag} equals $value's ETag ${header}`;
    return (row) => row(MEDIA_ETAG_ASSUMPTION, "holds", detail);
  }
  const detail = `/photo says mediaEtag ${mediaEtag || "(empty)"}, $value's ETag is ${header}`;
  return (row) => row(MEDIA_ETAG_ASSUMPTION, "differs", detail);
}

function noPhotoRow(row: Row, seen: string | null, other: string | null, read: number): ProbeResult {
  if (other !== null) {
    return row(
      NO_PHOTO_ASSUMPTION,
      "differs",
      `a user's /photo answered ${other}${seen ? `; also seen: ${seen}` : ""}`,
    );
  }
  if (seen !== null) return row(NO_PHOTO_ASSUMPTION, "holds", `seen: ${seen}`);
  return row(NO_PHOTO_ASSUMPTION, "unknown", `every one of the ${read} users read had a photo`);
}
