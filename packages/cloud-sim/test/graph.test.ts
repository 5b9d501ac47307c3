import { Client, type GraphError, PageIterator, ResponseType } from "@microsoft/microsoft-graph-client";
import { Agent } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type Dataset,
  type Simulator,
  findDatasetProblems,
  generateDataset,
  startSimulator,
} from "../src/index.js";
import {
  type GraphDataset,
  type GraphPhoto,
  type GraphSimService,
  extensionName,
} from "../src/services/graph/index.js";

const APP = "0a1b2c3d4e5f60718293a4b5c6d7e8f9";
const EXT = extensionName(APP, "employeeNumber");
const JPEG = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3, 4, 0xff, 0xd9]);

/** 250 users: 0..199 enabled with employeeId, 200..229 disabled, 230..249 enabled without employeeId. */
function fixture(): GraphDataset {
  const users = Array.from({ length: 250 }, (_, i) => ({
    id: `00000000-0000-4000-8000-${String(i).padStart(12, "0")}`,
    userPrincipalName: `user${i}@contoso.example`,
    accountEnabled: i < 200 || i >= 230,
    displayName: `User ${i}`,
    ...(i < 230 ? { employeeId: String(1000 + i) } : {}),
    ...(i % 2 === 0 ? { [EXT]: `EN${i}` } : {}),
  }));
  const photos: GraphDataset["photos"] = {};
  for (let i = 0; i < 250; i += 3) {
    photos[users[i]?.id as string] = {
      contentType: "image/jpeg",
      etag: `"E${i}"`,
      base64: JPEG.toString("base64"),
      width: 360,
      height: 360,
    };
  }
  return { users, photos, onPremisesMailboxes: [users[1]?.id as string, users[30]?.id as string] };
}

// biome-ignore lint/suspicious/noExplicitAny: parsed JSON answers, asserted field by field
type Json = any;

let sim: Simulator;
let dispatcher: Agent;
let client: Client;

function graphClient(token = "token-a"): Client {
  return Client.initWithMiddleware({
    authProvider: { getAccessToken: async () => token },
    baseUrl: `${sim.httpsUrl}/`,
    customHosts: new Set(["127.0.0.1"]),
    defaultVersion: "v1.0",
    fetchOptions: { dispatcher },
  });
}

async function raw(
  path: string,
  init: { method?: string; headers?: Record<string, string>; body?: string } = {},
) {
  const res = await fetch(`${sim.httpsUrl}${path}`, {
    method: init.method ?? "GET",
    headers: { authorization: "Bearer token-a", ...init.headers },
    ...(init.body === undefined ? {} : { body: init.body }),
    dispatcher,
  } as RequestInit);
  const text = await res.text();
  let json: unknown = null;
  try {
    json = JSON.parse(text);
  } catch {
    json = null;
  }
  return { status: res.status, headers: res.headers, text, json: json as Record<string, Json> };
}

beforeAll(async () => {
  const dataset: Dataset = { graph: fixture() };
  sim = await startSimulator({ dataset, services: ["graph"], latency: 0 });
  dispatcher = new Agent({ connect: { ca: sim.ca } });
  client = graphClient();
});
afterAll(async () => {
  await sim.close();
  await dispatcher.close();
});

describe("graph dataset", () => {
  it("rejects unknown keys, bad photos and dangling references with their JSON paths", () => {
    const problems = findDatasetProblems({
      graph: {
        users: [{ id: "u1", userPrincipalName: "a@x", accountEnabled: true }],
        photos: { u2: { contentType: "image/jpeg", etag: '"1"', base64: "AAAA" } },
        onPremisesMailboxes: ["u3"],
      },
    });
    expect(problems.map((p) => p.path)).toEqual(['$.graph.photos["u2"]', "$.graph.onPremisesMailboxes[0]"]);
    expect(findDatasetProblems({ graph: { users: [], extra: 1 } })[0]).toEqual({
      path: "$.graph.extra",
      message: "is not a known key",
    });
    expect(
      findDatasetProblems({
        graph: { photos: { u: { contentType: "text/plain", etag: "1", base64: "A" } } },
      })[0]?.path,
    ).toBe("$.graph.photos.u.contentType");
    const dup = findDatasetProblems({
      graph: {
        users: [
          { id: "u1", userPrincipalName: "a@x", accountEnabled: true },
          { id: "U1", userPrincipalName: "b@x", accountEnabled: true },
        ],
      },
    });
    expect(dup).toEqual([{ path: "$.graph.users[1].id", message: "duplicates users[0].id" }]);
  });

  it("generates the graph-photos benchmark population at large scale", () => {
    const g = generateDataset({ scale: "large", seed: 7, services: ["graph"] }).graph as GraphDataset;
    const users = g.users ?? [];
    expect(users).toHaveLength(2000);
    const eligible = users.filter((u) => u.accountEnabled && typeof u.employeeId === "string");
    expect(eligible).toHaveLength(1200);
    const withPhoto = eligible.filter(
      (u) => g.photos?.[u.id] && !("placeholder" in (g.photos[u.id] as object)),
    );
    expect(withPhoto).toHaveLength(840);
    expect(
      eligible.filter((u) => g.photos?.[u.id] && "placeholder" in (g.photos[u.id] as object)),
    ).toHaveLength(120);
    for (const u of withPhoto) {
      const bytes = Buffer.from((g.photos?.[u.id] as GraphPhoto | undefined)?.base64 ?? "", "base64").length;
      expect(bytes).toBeGreaterThanOrEqual(5 * 1024);
      expect(bytes).toBeLessThanOrEqual(50 * 1024);
    }
    expect(new Set(eligible.map((u) => u.employeeId)).size).toBe(1200);
    expect(findDatasetProblems({ graph: g })).toEqual([]);
  });

  it("is reproducible from its seed and valid at small scale", () => {
    const a = generateDataset({ scale: "small", seed: 3, services: ["graph"] });
    const b = generateDataset({ scale: "small", seed: 3, services: ["graph"] });
    expect(a).toEqual(b);
    expect(findDatasetProblems(a)).toEqual([]);
    expect(a.graph?.onPremisesMailboxes).toHaveLength(2);
  });
});

describe("graph /users", () => {
  it("refuses ne, not and endsWith without the advanced query parameters", async () => {
    const err = (await client
      .api("/users")
      .filter("accountEnabled eq true and employeeId ne null")
      .get()
      .catch((e: unknown) => e)) as GraphError;
    expect(err.statusCode).toBe(400);
    expect(err.code).toBe("Request_UnsupportedQuery");
    expect(err.message).toMatch(
      /^Operator 'ne' is not supported because the required parameters might be missing/,
    );
    // $count=true alone is not enough: the header is needed too.
    const noHeader = await raw("/v1.0/users?$filter=endsWith(mail,'@contoso.example')&$count=true");
    expect(noHeader.status).toBe(400);
    expect(noHeader.json.error.message).toMatch(/^Operator 'endsWith' is not supported/);
    const notOp = await raw("/v1.0/users?$filter=not(accountEnabled eq true)", {
      headers: { consistencylevel: "eventual" },
    });
    expect(notOp.json.error.code).toBe("Request_UnsupportedQuery");
  });

  it("answers $top outside 1..999, unknown properties and $count without the header like Graph", async () => {
    const top = await raw("/v1.0/users?$top=1000");
    expect(top.status).toBe(400);
    expect(top.json.error).toMatchObject({
      code: "Request_UnsupportedQuery",
      message: "Invalid page size specified: '1000'. Must be between 1 and 999 inclusive.",
    });
    const unknown = await raw("/v1.0/users?$filter=employeeNumber eq '1'");
    expect(unknown.json.error).toMatchObject({
      code: "Request_BadRequest",
      message: "Could not find a property named 'employeeNumber' on type 'microsoft.graph.user'.",
    });
    const count = await raw("/v1.0/users/$count");
    expect(count.json.error).toMatchObject({
      code: "Request_BadRequest",
      message: "$count is not currently supported.",
    });
    const counted = await raw("/v1.0/users/$count?$filter=accountEnabled eq false", {
      headers: { consistencylevel: "eventual" },
    });
    expect(counted.text).toBe("30");
    // ?$count=true without the header is silently ignored.
    const ignored = await raw("/v1.0/users?$count=true&$top=5");
    expect(ignored.status).toBe(200);
    expect(ignored.json["@odata.count"]).toBeUndefined();
  });

  it("pages with absolute https nextLinks and the PageIterator, with the advanced filter and $select", async () => {
    const first = await client
      .api("/users")
      .header("ConsistencyLevel", "eventual")
      .count(true)
      .select(["id", "userPrincipalName", "employeeId", EXT])
      .filter("accountEnabled eq true and employeeId ne null")
      .top(60)
      .get();
    expect(first["@odata.count"]).toBe(200);
    expect(first["@odata.nextLink"]).toMatch(new RegExp(`^${sim.httpsUrl}/v1\\.0/users\\?.*\\$skiptoken=`));
    const seen: Array<Record<string, unknown>> = [];
    await new PageIterator(
      client,
      first,
      (u: Record<string, unknown>) => {
        seen.push(u);
        return true;
      },
      { headers: { ConsistencyLevel: "eventual" } },
    ).iterate();
    expect(seen).toHaveLength(200);
    expect(seen.map((u) => u.employeeId)).toEqual(Array.from({ length: 200 }, (_, i) => String(1000 + i)));
    expect(Object.keys(seen[0] ?? {})).toEqual(["id", "userPrincipalName", "employeeId", EXT]);
    expect(seen[1]?.[EXT]).toBeUndefined();
    expect(seen[2]?.[EXT]).toBe("EN2");
    expect(seen[0]?.accountEnabled).toBeUndefined();
  });

  it("serves empty pages with a nextLink when asked, never twice in a row", async () => {
    sim.setFaults({ emptyPageRate: 1 });
    try {
      const first = await client.api("/users").top(100).get();
      expect(first.value).toEqual([]);
      const seen: unknown[] = [];
      await new PageIterator(client, first, (u: unknown) => {
        seen.push(u);
        return true;
      }).iterate();
      expect(seen).toHaveLength(250);
    } finally {
      sim.setFaults({ emptyPageRate: 0 });
    }
  });

  it("filters on a directory extension attribute and returns the default property set without $select", async () => {
    const res = await raw(`/v1.0/users?$filter=${EXT} eq 'EN4'`);
    expect(res.json.value).toHaveLength(1);
    expect(Object.keys(res.json.value[0]).sort()).toEqual(
      [
        "businessPhones",
        "displayName",
        "givenName",
        "id",
        "jobTitle",
        "mail",
        "mobilePhone",
        "officeLocation",
        "preferredLanguage",
        "surname",
        "userPrincipalName",
      ].sort(),
    );
    expect(res.json.value[0].userPrincipalName).toBe("user4@contoso.example");
    const page = await raw("/v1.0/users");
    expect(page.json.value).toHaveLength(100);
  });
});

describe("graph photos", () => {
  const id = (i: number) => `00000000-0000-4000-8000-${String(i).padStart(12, "0")}`;

  it("serves metadata, the largest photo and smaller sizes, and counts bytes", async () => {
    const before = sim.stats().events.photoBytes ?? 0;
    const meta = await client.api(`/users/${id(0)}/photo`).get();
    expect(meta).toMatchObject({
      "@odata.mediaContentType": "image/jpeg",
      "@odata.mediaEtag": '"E0"',
      id: "360x360",
      width: 360,
    });
    const value = await client
      .api(`/users/${id(0)}/photo/$value`)
      .responseType(ResponseType.ARRAYBUFFER)
      .get();
    expect(Buffer.from(value as ArrayBuffer)).toEqual(JPEG);
    const sized = await raw(`/v1.0/users/${id(0)}/photos/240x240/$value`);
    expect(sized.status).toBe(200);
    expect(sized.headers.get("content-type")).toBe("image/jpeg");
    const tooBig = await raw(`/v1.0/users/${id(0)}/photos/648x648/$value`);
    expect(tooBig.json.error.code).toBe("ImageNotFound");
    expect((sim.stats().events.photoBytes ?? 0) - before).toBe(JPEG.length * 2);
  });

  it("answers 404 ImageNotFound without a photo and MailboxNotHostedInExchangeOnline on-premises", async () => {
    const none = (await client
      .api(`/users/${id(2)}/photo/$value`)
      .get()
      .catch((e: unknown) => e)) as GraphError;
    expect(none.statusCode).toBe(404);
    expect(none.code).toBe("ImageNotFound");
    const onPrem = await raw(`/v1.0/users/${id(1)}/photo/$value`);
    expect(onPrem.status).toBe(404);
    expect(onPrem.json.error).toMatchObject({
      code: "MailboxNotHostedInExchangeOnline",
      message: "Mailbox is hosted by an on-premise or non-Exchange server, which is not supported.",
    });
    // Beta falls back to the photo in Entra ID for an on-premises mailbox.
    const v1 = await raw(`/v1.0/users/${id(30)}/photo/$value`);
    expect(v1.json.error.code).toBe("MailboxNotHostedInExchangeOnline");
    const beta = await raw(`/beta/users/${id(30)}/photo/$value`);
    expect(beta.status).toBe(200);
    expect(beta.headers.get("etag")).toBe('"E30"');
    const betaNone = await raw(`/beta/users/${id(1)}/photo/$value`);
    expect(betaNone.json.error.code).toBe("ImageNotFound");
    const noToken = await fetch(`${sim.httpsUrl}/v1.0/users/${id(0)}/photo`, { dispatcher } as RequestInit);
    expect(noToken.status).toBe(401);
  });

  it("allows 4 concurrent photo requests per app and refuses more with 429 and Retry-After", async () => {
    sim.setFaults({ slowRate: 1, slowMs: 1500, services: ["graph"], operations: ["GetPhotoValue"] });
    try {
      const results = await Promise.all(
        Array.from({ length: 6 }, () => raw(`/v1.0/users/${id(0)}/photo/$value`)),
      );
      // Another app has its own 4 slots.
      const other = await raw(`/v1.0/users/${id(0)}/photo`, { headers: { authorization: "Bearer token-b" } });
      expect(other.status).toBe(200);
      const statuses = results.map((r) => r.status).sort();
      expect(statuses).toEqual([200, 200, 200, 200, 429, 429]);
      const refused = results.find((r) => r.status === 429);
      expect(refused?.headers.get("retry-after")).toBe("1");
      expect(refused?.json.error).toEqual({
        code: "ApplicationThrottled",
        message: "Application is over its MailboxConcurrency limit.",
      });
    } finally {
      sim.setFaults({ slowRate: 0, slowMs: 0, services: undefined, operations: undefined });
    }
    // Slots are released when the answers end.
    const again = await Promise.all(Array.from({ length: 4 }, () => raw(`/v1.0/users/${id(0)}/photo`)));
    expect(again.map((r) => r.status)).toEqual([200, 200, 200, 200]);
  });

  it("answers $batch with base64 photo bodies, per-item 404 and 429 beyond 4 photo items", async () => {
    const requests = Array.from({ length: 6 }, (_, n) => ({
      id: String(n + 1),
      method: "GET",
      url: n % 2 === 0 ? `/users/${id(n * 3)}/photo/$value` : `/v1.0/users/${id(n * 3)}/photo/$value`,
    }));
    requests.push({
      id: "7",
      method: "GET",
      url: "/users?$filter=employeeId eq '1003'&$select=id,employeeId",
    });
    const res = await raw("/v1.0/$batch", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ requests }),
    });
    expect(res.status).toBe(200);
    const byId = new Map((res.json.responses as Array<Record<string, Json>>).map((r) => [r.id, r]));
    expect(byId.size).toBe(7);
    expect(byId.get("1")).toMatchObject({
      status: 200,
      headers: { "Content-Type": "image/jpeg", ETag: '"E0"' },
      body: JPEG.toString("base64"),
    });
    expect([1, 2, 3, 4].map((n) => byId.get(String(n))?.status)).toEqual([200, 200, 200, 200]);
    expect(byId.get("5")).toMatchObject({
      status: 429,
      headers: { "Retry-After": "1" },
      body: { error: { code: "ApplicationThrottled" } },
    });
    expect(byId.get("7")).toMatchObject({
      status: 200,
      body: { value: [{ id: id(3), employeeId: "1003" }] },
    });
    const tooMany = await raw("/v1.0/$batch", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        requests: Array.from({ length: 21 }, (_, n) => ({ id: String(n), method: "GET", url: "/users" })),
      }),
    });
    expect(tooMany.status).toBe(400);
  });

  it("lets tests change a photo and points clients at itself through environment()", async () => {
    const svc = sim.service("graph") as GraphSimService;
    svc.setPhoto(id(2), { contentType: "image/png", etag: '"NEW"', base64: "iVBORw0KGgo=" });
    const meta = await client.api(`/users/${id(2)}/photo`).get();
    expect(meta["@odata.mediaEtag"]).toBe('"NEW"');
    svc.setPhoto(id(2), null);
    expect(sim.environment()).toEqual({
      CLOUDADMIN_GRAPH_ENDPOINT: sim.httpsUrl,
      CLOUDADMIN_GRAPH_TOKEN: "sim-graph-token",
    });
  });
});

describe("graph photo behaviours the documentation leaves open", () => {
  const id = (i: number) => `00000000-0000-4000-8000-${String(i).padStart(12, "0")}`;
  const svc = () => sim.service("graph") as GraphSimService;

  it("accepts placeholder entries in a dataset and nothing else beside a photo's fields", () => {
    const users = [{ id: "u1", userPrincipalName: "a@x", accountEnabled: true }];
    expect(findDatasetProblems({ graph: { users, photos: { u1: { placeholder: true } } } })).toEqual([]);
    expect(findDatasetProblems({ graph: { users, photos: { u1: { placeholder: false } } } })[0]?.path).toBe(
      "$.graph.photos.u1.placeholder",
    );
    expect(
      findDatasetProblems({ graph: { users, photos: { u1: { placeholder: true, etag: '"1"' } } } })[0],
    ).toEqual({ path: "$.graph.photos.u1.etag", message: "is not a known key" });
    const small = generateDataset({ scale: "small", seed: 1, services: ["graph"] }).graph as GraphDataset;
    expect(Object.values(small.photos ?? {}).filter((p) => "placeholder" in p)).toHaveLength(2);
  });

  it("answers a placeholder with the 1x1 GIF metadata (id 1x1 or 1X1) and 404 on $value", async () => {
    svc().setPhoto(id(5), { placeholder: true });
    try {
      for (const placeholderId of ["1x1", "1X1"] as const) {
        svc().setPhotoBehaviour({ placeholderId });
        const meta = await raw(`/v1.0/users/${id(5)}/photo`);
        expect(meta.status).toBe(200);
        expect(meta.json).toMatchObject({
          "@odata.mediaContentType": "image/gif",
          "@odata.mediaEtag": "",
          id: placeholderId,
          width: 1,
          height: 1,
        });
      }
      const value = await raw(`/v1.0/users/${id(5)}/photo/$value`);
      expect(value.status).toBe(404);
      expect(value.json.error.code).toBe("ImageNotFound");
      expect((await raw(`/v1.0/users/${id(5)}/photos/48x48/$value`)).status).toBe(404);
    } finally {
      svc().setPhoto(id(5), null);
      svc().setPhotoBehaviour({ placeholderId: "1x1" });
    }
  });

  it("sends $value's ETag header as the mediaEtag, not at all, or as another value", async () => {
    try {
      const seen: Record<string, string | null> = {};
      for (const valueEtag of ["media", "absent", "different"] as const) {
        svc().setPhotoBehaviour({ valueEtag });
        const value = await raw(`/v1.0/users/${id(0)}/photo/$value`);
        expect(value.status).toBe(200);
        seen[valueEtag] = value.headers.get("etag");
        // The metadata's mediaEtag never changes with the switch.
        expect((await raw(`/v1.0/users/${id(0)}/photo`)).json["@odata.mediaEtag"]).toBe('"E0"');
      }
      expect(seen.media).toBe('"E0"');
      expect(seen.absent).toBeNull();
      expect(seen.different).toMatch(/^"[0-9A-F]{8}"$/);
      expect(seen.different).not.toBe('"E0"');
    } finally {
      svc().setPhotoBehaviour({ valueEtag: "media" });
    }
  });

  it("answers an on-premises mailbox with a configurable status, and beta either falls back or fails too", async () => {
    try {
      svc().setPhotoBehaviour({ onPremisesStatus: 500, onPremisesBeta: "same-error" });
      const v1 = await raw(`/v1.0/users/${id(30)}/photo`);
      expect(v1.status).toBe(500);
      expect(v1.json.error.code).toBe("MailboxNotHostedInExchangeOnline");
      const beta = await raw(`/beta/users/${id(30)}/photo/$value`);
      expect(beta.status).toBe(500);
      expect(beta.json.error.code).toBe("MailboxNotHostedInExchangeOnline");
      svc().setPhotoBehaviour({ onPremisesStatus: 404, onPremisesBeta: "entra-id" });
      expect((await raw(`/v1.0/users/${id(30)}/photo`)).status).toBe(404);
      const fallback = await raw(`/beta/users/${id(30)}/photo`);
      expect(fallback.status).toBe(200);
      expect(fallback.json["@odata.mediaEtag"]).toBe('"E30"');
    } finally {
      svc().setPhotoBehaviour({ onPremisesStatus: 404, onPremisesBeta: "entra-id" });
    }
  });
});
