import { readdir } from "node:fs/promises";
import { join } from "node:path";
import type { AccessToken, TokenCredential } from "@azure/core-auth";
import type { GraphDataset } from "@cloudadmin/cloud-sim";
import { AbortedError } from "@cloudadmin/errors";
import type { Timer } from "@cloudadmin/paging";

export type GraphPhotoEntry = NonNullable<GraphDataset["photos"]>[string];
export type GraphPhoto = Exclude<GraphPhotoEntry, { placeholder: true }>;
/** Graph's 1x1 "no photo" answer (200 on /photo with an empty mediaEtag, 404 on $value). */
export const PLACEHOLDER: GraphPhotoEntry = { placeholder: true };
type GraphUser = NonNullable<GraphDataset["users"]>[number];

/** A credential over a fixed token (StaticTokenCredential from @cloudadmin/auth does the same). */
export function fixedToken(token = "sim-graph-token"): TokenCredential & { calls: number } {
  const cred = {
    calls: 0,
    async getToken(): Promise<AccessToken> {
      cred.calls++;
      return { token, expiresOnTimestamp: Date.now() + 3_600_000 };
    },
  };
  return cred;
}

export const APP = "5f3c1d9e8b7a46c2a1b0c9d8e7f6a5b4";
export const EXT = `extension_${APP}_employeeNumber`;

export function photo(seed: number, contentType = "image/jpeg", size = 600): GraphPhoto {
  const bytes = Buffer.alloc(size, seed % 251);
  bytes.writeUInt32BE(0xffd8ffe0, 0);
  bytes.writeUInt32BE(seed, 4);
  return { contentType, etag: `"P${seed.toString(16).toUpperCase()}"`, base64: bytes.toString("base64") };
}

export const uid = (i: number) => `10000000-0000-4000-8000-${String(i).padStart(12, "0")}`;

export interface FixtureUser {
  i: number;
  employeeId?: unknown;
  ext?: unknown;
  enabled?: boolean;
  photo?: GraphPhotoEntry | null;
}

/** A graph dataset from a compact list; users get ids uid(i) and UPNs u<i>@contoso.example. */
export function dataset(users: FixtureUser[], onPrem: number[] = []): GraphDataset {
  const photos: Record<string, GraphPhotoEntry> = {};
  const list = users.map((u) => {
    const user: Record<string, unknown> = {
      id: uid(u.i),
      userPrincipalName: `u${u.i}@contoso.example`,
      accountEnabled: u.enabled ?? true,
      displayName: `User ${u.i}`,
    };
    if (u.employeeId !== undefined) user.employeeId = u.employeeId;
    if (u.ext !== undefined) user[EXT] = u.ext;
    if (u.photo) photos[uid(u.i)] = u.photo;
    return user as GraphUser;
  });
  return { users: list, photos, onPremisesMailboxes: onPrem.map(uid) };
}

/** Every path under `dir`, relative, sorted (to prove nothing was written elsewhere). */
export async function tree(dir: string): Promise<string[]> {
  const out: string[] = [];
  async function walk(d: string, prefix: string) {
    for (const e of await readdir(d, { withFileTypes: true })) {
      const rel = prefix ? `${prefix}/${e.name}` : e.name;
      out.push(e.isDirectory() ? `${rel}/` : rel);
      if (e.isDirectory()) await walk(join(d, e.name), rel);
    }
  }
  await walk(dir, "");
  return out.sort();
}

/** Azurite's Blob service in memory on a free port (stopped by the returned handle). */
export async function startBlobEmulator(): Promise<{ connectionString: string; stop(): Promise<void> }> {
  const { startAzurite } = await import("@cloudadmin/cloud-sim");
  return startAzurite();
}

/**
 * A timer for retry tests: backoff and Retry-After waits are recorded in `slept` and end when
 * `release` says (at once by default), so a test asserts what the code decided without sleeping
 * through real seconds. The per-request deadline (a sleep of exactly `timeoutMs`) never fires.
 */
export function retryTimer(
  timeoutMs: number,
  release: (slept: number[], wake: () => void) => void = (_s, wake) => wake(),
): { timer: Timer; slept: number[] } {
  const slept: number[] = [];
  const waiting: Array<() => void> = [];
  const timer: Timer = {
    now: () => Date.now(),
    sleep(ms, signal) {
      if (ms === timeoutMs) {
        return new Promise((_, reject) =>
          signal?.addEventListener("abort", () => reject(new AbortedError()), { once: true }),
        );
      }
      slept.push(ms);
      return new Promise((resolve) => {
        waiting.push(resolve);
        release(slept, () => {
          for (const wake of waiting.splice(0)) wake();
        });
      });
    },
  };
  return { timer, slept };
}
