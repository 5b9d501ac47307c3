import { AbortedError } from "@cloudadmin/errors";
import { Slots } from "@cloudadmin/paging";
import type { Client } from "@microsoft/microsoft-graph-client";
import { type GraphAnswer, answerError, getRaw } from "./graph.js";

export type GraphVersion = "v1.0" | "beta";

/** A downloaded photo and the ETag it was downloaded at. */
export interface Photo {
  bytes: Buffer;
  contentType: string;
  etag: string;
  version: GraphVersion;
}

/** What a photo request found when there was no photo: the 404 answer (its code says why). */
export interface Miss {
  miss: GraphAnswer;
}

/** Codes v1.0 gives for mailboxes outside Exchange Online; beta falls back to the photo in Entra ID. */
const MAILBOX_CODES = new Set(["MailboxNotHostedInExchangeOnline", "MailboxNotEnabledForRESTAPI"]);

export function isMailboxCode(code: string | null): boolean {
  return code !== null && MAILBOX_CODES.has(code);
}

/**
 * Profile photo requests for one run: at most `concurrency` in flight across all users (Graph allows
 * 4 per app), the chosen size or the largest, and v1.0 first with beta for on-premises mailboxes.
 */
export class PhotoSource {
  /** Graph's photo limit is per app across every request kind (downloads, metadata, retries). */
  private readonly gate: Slots;
  constructor(
    private readonly client: Client,
    private readonly options: { size: string | null; concurrency: number; signal?: AbortSignal | undefined },
  ) {
    this.gate = new Slots(options.concurrency);
  }

  private async request(userId: string, version: GraphVersion, value: boolean): Promise<GraphAnswer> {
    const { size, signal } = this.options;
    const path = `/users/${encodeURIComponent(userId)}/${size ? `photos/${size}` : "photo"}${value ? "/$value" : ""}`;
    await this.gate.acquire();
    try {
      if (signal?.aborted) throw new AbortedError();
      return await getRaw(this.client, path, {}, version);
    } finally {
      this.gate.release();
    }
  }

  /** v1.0, then beta when v1.0 says the mailbox is not in Exchange Online. */
  private async ask(userId: string, version: GraphVersion, value: boolean) {
    let answer = await this.request(userId, version, value);
    if (answer.status === 404 && version === "v1.0" && isMailboxCode(answer.code)) {
      version = "beta";
      answer = await this.request(userId, version, value);
    }
    return { answer, version };
  }

  /** The photo's current ETag (one request), or the 404 that says there is none. */
  async etag(
    userId: string,
    version: GraphVersion,
    scope: string,
  ): Promise<{ etag: string; version: GraphVersion } | Miss> {
    const { answer, version: v } = await this.ask(userId, version, false);
    if (answer.status === 404) return { miss: answer };
    if (answer.status !== 200) throw answerError(answer, "reading photo metadata", scope);
    const meta = JSON.parse(answer.body.toString("utf8")) as Record<string, unknown>;
    return { etag: String(meta["@odata.mediaEtag"] ?? ""), version: v };
  }

  /** The photo (one request when the answer carries its ETag, as Graph's does), or the 404. */
  async download(userId: string, version: GraphVersion, scope: string): Promise<Photo | Miss> {
    const { answer, version: v } = await this.ask(userId, version, true);
    if (answer.status === 404) return { miss: answer };
    if (answer.status !== 200) throw answerError(answer, "downloading the photo", scope);
    const contentType = answer.headers.get("content-type")?.split(";")[0]?.trim() || "image/jpeg";
    let etag = answer.headers.get("etag");
    if (!etag) {
      // No ETag on the bytes: the metadata has it (a photo changed in between is caught next run).
      const meta = await this.etag(userId, v, scope);
      etag = "etag" in meta ? meta.etag : "";
    }
    return { bytes: answer.body, contentType, etag, version: v };
  }
}
