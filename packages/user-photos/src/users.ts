import { AbortedError, RemoteError, isCloudAdminError } from "@cloudadmin/errors";
import { type GraphAnswer, type GraphConnection, answerError } from "./graph.js";
import { checkKey, keyIdentity } from "./keys.js";

export interface DirectoryUser {
  id: string;
  userPrincipalName: string;
  /** The key attribute's raw value (untrusted). */
  keyValue: unknown;
}

/**
 * Every user the filter selects, all pages. `ne null` is an advanced query, so the request carries
 * `$count=true` and `ConsistencyLevel: eventual`; `$top=999` is Graph's largest page.
 */
export async function listUsers(
  graph: GraphConnection,
  options: {
    keyAttribute: string;
    filter: string;
    signal?: AbortSignal | undefined;
    onPage(listed: number, done: boolean): void;
  },
): Promise<DirectoryUser[]> {
  const { keyAttribute, signal } = options;
  const select = [...new Set(["id", "userPrincipalName", keyAttribute])].join(",");
  const query = new URLSearchParams({
    $select: select,
    $filter: options.filter,
    $count: "true",
    $top: "999",
  });
  const users: DirectoryUser[] = [];
  const seen = new Set<string>();
  let next: string | undefined = `/users?${query.toString().replace(/\+/g, "%20")}`;
  for (let pages = 0; next; pages++) {
    if (signal?.aborted) throw new AbortedError();
    if (pages > 100_000)
      throw new RemoteError("Microsoft Graph kept returning more pages of users; giving up");
    let answer: GraphAnswer;
    try {
      answer = await graph.get(next, {
        phase: "listing users",
        scope: "users",
        headers: { ConsistencyLevel: "eventual" },
      });
    } catch (error) {
      if (signal?.aborted) throw new AbortedError();
      if (isCloudAdminError(error)) throw error;
      throw new RemoteError(`listing users failed: ${(error as Error).message}`, {
        cause: error,
        scope: "users",
        phase: "list users",
      });
    }
    if (answer.status !== 200) throw answerError(answer, "listing users", "users");
    const page = JSON.parse(answer.body.toString("utf8")) as {
      value?: Array<Record<string, unknown>>;
      "@odata.nextLink"?: string;
    };
    for (const u of page.value ?? []) {
      const id = String(u.id ?? "");
      // Eventual consistency can repeat a user across pages: keep the first.
      if (!id || seen.has(id)) continue;
      seen.add(id);
      users.push({ id, userPrincipalName: String(u.userPrincipalName ?? ""), keyValue: u[keyAttribute] });
    }
    next = relativeTo(page["@odata.nextLink"], graph.baseUrl);
    options.onPage(users.length, !next);
  }
  return users;
}

/**
 * The SDK only parses `https://` links (an `http://` nextLink from a loopback emulator would be
 * appended to the path): a link on the client's own origin is handed back relative to the version.
 */
function relativeTo(link: string | undefined, baseUrl: string): string | undefined {
  if (!link) return undefined;
  const base = baseUrl.replace(/\/+$/, "");
  if (!link.startsWith(`${base}/`)) return link;
  return link.slice(base.length).replace(/^\/(v1\.0|beta)(?=\/)/, "");
}

export interface Rejected {
  user: DirectoryUser;
  status: "no-key" | "invalid-key" | "duplicate-key";
  reason: string;
}

/** Splits users into those whose key can name a file and those whose key is absent, unsafe or shared. */
export function sortByKey(users: DirectoryUser[]): {
  ready: Array<{ user: DirectoryUser; key: string }>;
  rejected: Rejected[];
} {
  const rejected: Rejected[] = [];
  const byIdentity = new Map<string, Array<{ user: DirectoryUser; key: string }>>();
  for (const user of users) {
    // The longest extension a photo can get, so a key that fits now fits whatever the type.
    const check = checkKey(user.keyValue, "webp");
    if (!check.ok) {
      rejected.push({ user, status: check.status, reason: check.reason });
      continue;
    }
    const id = keyIdentity(check.key);
    byIdentity.set(id, [...(byIdentity.get(id) ?? []), { user, key: check.key }]);
  }
  const ready: Array<{ user: DirectoryUser; key: string }> = [];
  for (const list of byIdentity.values()) {
    if (list.length === 1) {
      ready.push(list[0] as { user: DirectoryUser; key: string });
      continue;
    }
    for (const { user } of list) {
      const others = list.filter((x) => x.user !== user).map((x) => x.user.userPrincipalName);
      rejected.push({ user, status: "duplicate-key", reason: `key shared with ${others.join(", ")}` });
    }
  }
  return { ready, rejected };
}
