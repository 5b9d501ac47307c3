import { AbortedError } from "@cloudadmin/errors";
import { Slots } from "@cloudadmin/paging";
import {
  type GraphAnswer,
  type GraphConnection,
  type GraphVersion,
  answerError,
  isMailboxCode,
} from "./graph.js";

export type { GraphVersion } from "./graph.js";

/**
 * The HD sizes Graph serves from Exchange Online (profilephoto-get: "48x48, 64x64, 96x96, 120x120,
 * 240x240, 360x360, 432x432, 504x504, and 648x648"). Any other size is answered 404 for every user.
 */
export const GRAPH_PHOTO_SIZES = [
  "48x48",
  "64x64",
  "96x96",
  "120x120",
  "240x240",
  "360x360",
  "432x432",
  "504x504",
  "648x648",
] as const;

/** The photo's version and type, from the metadata (`/photo`), as Microsoft Graph Toolkit reads them. */
export interface PhotoVersion {
  /** `@odata.mediaEtag` of `/photo`: the only version compared (never `$value`'s ETag header). */
  etag: string;
  contentType: string | null;
  version: GraphVersion;
}

/** A downloaded photo and the version (`@odata.mediaEtag`) it was downloaded at. */
export interface Photo {
  bytes: Buffer;
  contentType: string;
  etag: string;
  version: GraphVersion;
}

/** There is no photo to save; `reason` says which form Graph used to say so. */
export interface NoPhoto {
  none: string;
}

/** Graph codes that mean "this user has no photo to give". */
const NO_PHOTO_CODES = new Set([
  "ImageNotFound",
  "ErrorItemNotFound",
  "ErrorEntityNotFound",
  "ResourceNotFound",
]);

/** The reason a photo request found nothing: its code, or the code with Graph's words when unexpected. */
function missing(answer: GraphAnswer): NoPhoto {
  if (!answer.code) return { none: `HTTP ${answer.status}` };
  if (NO_PHOTO_CODES.has(answer.code) || isMailboxCode(answer.code)) return { none: answer.code };
  return { none: `${answer.code}: ${answer.message ?? ""}`.trim() };
}

/**
 * Graph's "no photo" placeholder (profilephoto-get, example 3): 200 on `/photo` with `id` "1x1"
 * (older tenants "1X1"), `image/gif` and an empty `@odata.mediaEtag`, while `$value` answers 404.
 */
export function isPlaceholder(meta: Record<string, unknown>): boolean {
  const id = String(meta.id ?? "");
  const etag = String(meta["@odata.mediaEtag"] ?? "");
  const type = String(meta["@odata.mediaContentType"] ?? "").toLowerCase();
  return id.toLowerCase() === "1x1" || (etag === "" && type === "image/gif");
}

/**
 * Profile photo requests for one run: at most `concurrency` in flight across all users (Graph allows
 * 4 per app), the chosen size or the largest, and v1.0 first with beta for on-premises mailboxes.
 */
export class PhotoSource {
  /** Graph's photo limit is per app across every request kind (downloads, metadata, retries). */
  private readonly gate: Slots;
  constructor(
    private readonly graph: GraphConnection,
    private readonly options: { size: string | null; concurrency: number; signal?: AbortSignal | undefined },
  ) {
    this.gate = new Slots(options.concurrency);
  }

  private async request(
    userId: string,
    version: GraphVersion,
    value: boolean,
    scope: string,
  ): Promise<GraphAnswer> {
    const { size, signal } = this.options;
    const path = `/users/${encodeURIComponent(userId)}/${size ? `photos/${size}` : "photo"}${value ? "/$value" : ""}`;
    await this.gate.acquire();
    try {
      if (signal?.aborted) throw new AbortedError();
      const phase = value ? "downloading the photo" : "reading photo metadata";
      return await this.graph.get(path, { phase, scope, version });
    } finally {
      this.gate.release();
    }
  }

  /**
   * v1.0, then beta when v1.0 says the mailbox is not in Exchange Online (beta may fall back to the
   * photo in Entra ID). Decided by the error code: the status of that answer is undocumented.
   */
  private async ask(userId: string, version: GraphVersion, value: boolean, scope: string) {
    let answer = await this.request(userId, version, value, scope);
    if (version === "v1.0" && isMailboxCode(answer.code)) {
      version = "beta";
      answer = await this.request(userId, version, value, scope);
    }
    return { answer, version };
  }

  /** The photo's current version from `/photo` (one request), or why there is none. */
  async current(userId: string, version: GraphVersion, scope: string): Promise<PhotoVersion | NoPhoto> {
    const { answer, version: v } = await this.ask(userId, version, false, scope);
    if (answer.status === 404 || isMailboxCode(answer.code)) return missing(answer);
    if (answer.status !== 200) throw answerError(answer, "reading photo metadata", scope);
    const meta = JSON.parse(answer.body.toString("utf8")) as Record<string, unknown>;
    if (isPlaceholder(meta)) return { none: "placeholder" };
    const type = meta["@odata.mediaContentType"];
    return {
      etag: String(meta["@odata.mediaEtag"] ?? ""),
      contentType: typeof type === "string" && type ? type : null,
      version: v,
    };
  }

  /** The photo's bytes at `at` (one request), labelled with `at`'s mediaEtag; or why there are none. */
  async download(userId: string, at: PhotoVersion, scope: string): Promise<Photo | NoPhoto> {
    const { answer, version } = await this.ask(userId, at.version, true, scope);
    if (answer.status === 404 || isMailboxCode(answer.code)) return missing(answer);
    if (answer.status !== 200) throw answerError(answer, "downloading the photo", scope);
    const contentType =
      answer.headers.get("content-type")?.split(";")[0]?.trim() || at.contentType || "image/jpeg";
    // A photo replaced between the two requests is recorded under the older mediaEtag, so the next
    // run sees a newer version and downloads it again: a change is never missed.
    return { bytes: answer.body, contentType, etag: at.etag, version };
  }
}
