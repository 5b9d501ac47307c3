import type { Rng } from "../../rng.js";
import type { Scale } from "../../scale.js";
import type { DatasetProblem } from "../definition.js";

/** A directory user as Graph stores it: any properties, including `extension_<appid>_<name>`. */
export interface GraphUser {
  id: string;
  userPrincipalName: string;
  accountEnabled: boolean;
  [property: string]: unknown;
}

/** A profile photo (the largest size; smaller sizes are derived from `width`/`height`). */
export interface GraphPhoto {
  contentType: string;
  /** The `@odata.mediaEtag`, quoted as Graph sends it (`"\"BA09D118\""`). */
  etag: string;
  base64: string;
  /** Pixels (default 648, the largest HD size). */
  width?: number;
  height?: number;
}

/**
 * Graph's "no photo" answer for a user (profilephoto-get, example 3): `/photo` answers 200 with a 1x1
 * `image/gif` entity whose `@odata.mediaEtag` is empty, and `/photo/$value` answers 404.
 */
export interface GraphPhotoPlaceholder {
  placeholder: true;
}

export type GraphPhotoEntry = GraphPhoto | GraphPhotoPlaceholder;

export function isPhotoPlaceholder(entry: GraphPhotoEntry | undefined): entry is GraphPhotoPlaceholder {
  return entry !== undefined && (entry as GraphPhotoPlaceholder).placeholder === true;
}

/** The `graph` section of a dataset (SPEC section 7). */
export interface GraphDataset {
  users?: GraphUser[];
  /** Photos by user id; `{ "placeholder": true }` is Graph's 1x1 "no photo" answer. */
  photos?: Record<string, GraphPhotoEntry>;
  /** Ids of users whose mailbox is on-premises: their photo routes answer MailboxNotHostedInExchangeOnline. */
  onPremisesMailboxes?: string[];
}

export const graphSchema: Record<string, unknown> = {
  type: "object",
  additionalProperties: false,
  properties: {
    users: {
      type: "array",
      items: {
        type: "object",
        required: ["id", "userPrincipalName", "accountEnabled"],
        properties: {
          id: { type: "string", minLength: 1 },
          userPrincipalName: { type: "string", minLength: 1 },
          accountEnabled: { type: "boolean" },
        },
        propertyNames: { pattern: "^[A-Za-z][A-Za-z0-9_]*$" },
      },
    },
    photos: {
      type: "object",
      additionalProperties: {
        type: "object",
        if: { required: ["placeholder"] },
        // biome-ignore lint/suspicious/noThenProperty: JSON Schema's if/then/else keywords
        then: {
          additionalProperties: false,
          required: ["placeholder"],
          properties: { placeholder: { const: true } },
        },
        else: {
          additionalProperties: false,
          required: ["contentType", "etag", "base64"],
          properties: {
            contentType: { type: "string", pattern: "^image/[a-z0-9.+-]+$" },
            etag: { type: "string", minLength: 1 },
            base64: { type: "string", pattern: "^[A-Za-z0-9+/]*={0,2}$" },
            width: { type: "integer", minimum: 1 },
            height: { type: "integer", minimum: 1 },
          },
        },
      },
    },
    onPremisesMailboxes: { type: "array", items: { type: "string", minLength: 1 } },
  },
};

export function checkGraphDataset(section: GraphDataset): DatasetProblem[] {
  const problems: DatasetProblem[] = [];
  const ids = new Map<string, number>();
  const upns = new Map<string, number>();
  (section.users ?? []).forEach((u, i) => {
    const id = u.id.toLowerCase();
    const upn = u.userPrincipalName.toLowerCase();
    const seen = ids.get(id);
    if (seen !== undefined)
      problems.push({ path: `$.graph.users[${i}].id`, message: `duplicates users[${seen}].id` });
    else ids.set(id, i);
    const seenUpn = upns.get(upn);
    if (seenUpn !== undefined) {
      problems.push({
        path: `$.graph.users[${i}].userPrincipalName`,
        message: `duplicates users[${seenUpn}].userPrincipalName`,
      });
    } else upns.set(upn, i);
  });
  for (const userId of Object.keys(section.photos ?? {})) {
    if (!ids.has(userId.toLowerCase())) {
      problems.push({
        path: `$.graph.photos[${JSON.stringify(userId)}]`,
        message: "is not the id of a user in graph.users",
      });
    }
  }
  (section.onPremisesMailboxes ?? []).forEach((userId, i) => {
    if (!ids.has(userId.toLowerCase())) {
      problems.push({
        path: `$.graph.onPremisesMailboxes[${i}]`,
        message: "is not the id of a user in graph.users",
      });
    }
  });
  return problems;
}

const JFIF_HEADER = Buffer.from([
  0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 0x4a, 0x46, 0x49, 0x46, 0x00, 0x01, 0x01, 0x00, 0x00, 0x01, 0x00, 0x01,
  0x00, 0x00,
]);
const PNG_HEADER = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** Bytes that start and end like a JPEG (or PNG) file; the middle is seeded noise. */
function photoBytes(rng: Rng, size: number, png: boolean): Buffer {
  const header = png ? PNG_HEADER : JFIF_HEADER;
  const trailer = png
    ? Buffer.from([0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82])
    : Buffer.from([0xff, 0xd9]);
  const buf = Buffer.alloc(Math.max(size, header.length + trailer.length));
  header.copy(buf, 0);
  let i = header.length;
  const end = buf.length - trailer.length;
  for (; i + 4 <= end; i += 4) buf.writeUInt32LE(Math.floor(rng.next() * 0x100000000), i);
  for (; i < end; i++) buf[i] = Math.floor(rng.next() * 256);
  trailer.copy(buf, end);
  return buf;
}

function makePhoto(rng: Rng, minBytes: number, maxBytes: number, png = false): GraphPhoto {
  const size = rng.int(minBytes, maxBytes);
  const side = rng.pick([240, 360, 432, 504, 648, 648, 648]);
  return {
    contentType: png ? "image/png" : "image/jpeg",
    etag: `"${rng.hex(8).toUpperCase()}"`,
    base64: photoBytes(rng, size, png).toString("base64"),
    width: side,
    height: side,
  };
}

const GIVEN = [
  "Ana",
  "Bogdan",
  "Chen",
  "Dana",
  "Emil",
  "Fatima",
  "Goran",
  "Hana",
  "Ioana",
  "Jonas",
  "Kenji",
  "Lina",
];
const SURNAMES = [
  "Albert",
  "Brown",
  "Costa",
  "Dumitru",
  "Evans",
  "Fischer",
  "Garcia",
  "Horvat",
  "Ionescu",
  "Jensen",
];

function makeUser(rng: Rng, i: number, domain: string): GraphUser {
  const given = rng.pick(GIVEN);
  const surname = rng.pick(SURNAMES);
  const upn = `${given}.${surname}.${i}@${domain}`.toLowerCase();
  return {
    id: rng.uuid(),
    userPrincipalName: upn,
    accountEnabled: true,
    displayName: `${given} ${surname}`,
    givenName: given,
    surname,
    mail: upn,
    department: rng.pick(["Sales", "Engineering", "Finance", "Support", "HR"]),
    jobTitle: rng.pick(["Engineer", "Manager", "Analyst", "Consultant"]),
  };
}

/** Directory extension app id (no dashes) used by generated datasets. */
export function extensionName(appId: string, name: string): string {
  return `extension_${appId}_${name}`;
}

/**
 * A seeded `graph` section. `small`: about 150 users with every case the job must handle (disabled
 * users, users without the key, without a photo, with an on-premises mailbox, PNG photos, unsafe and
 * duplicate keys, an extension attribute, 1x1 placeholders). `large`: the graph-photos benchmark (SPEC
 * section 8): 2,000 users of which 1,200 are eligible (enabled, employeeId set), 70% of those with a
 * 5-50 KB photo and 10% answered with the 1x1 placeholder.
 */
export function generateGraphDataset(rng: Rng, scale: Scale): GraphDataset {
  const appId = rng.hex(32);
  const ext = extensionName(appId, "employeeNumber");
  const domain = "contoso.example";
  const users: GraphUser[] = [];
  const photos: Record<string, GraphPhotoEntry> = {};
  const onPremisesMailboxes: string[] = [];
  if (scale === "large") {
    const kinds: Array<"eligible" | "disabled" | "nokey"> = [
      ...Array<"eligible">(1200).fill("eligible"),
      ...Array<"disabled">(400).fill("disabled"),
      ...Array<"nokey">(400).fill("nokey"),
    ];
    for (let i = kinds.length - 1; i > 0; i--) {
      const j = rng.int(0, i);
      [kinds[i], kinds[j]] = [kinds[j] as "eligible", kinds[i] as "eligible"];
    }
    let eligible = 0;
    kinds.forEach((kind, i) => {
      const user = makeUser(rng, i, domain);
      if (kind === "disabled") user.accountEnabled = false;
      if (kind !== "nokey") {
        user.employeeId = String(100000 + i);
        user[ext] = `EN${100000 + i}`;
      }
      users.push(user);
      if (kind === "eligible") {
        // Exactly 70% of the eligible users have a photo: every user whose rank mod 10 is below 7.
        // A third of the others (rank mod 10 = 9) get Graph's 1x1 placeholder instead of a 404.
        if (eligible % 10 < 7) photos[user.id] = makePhoto(rng, 5 * 1024, 50 * 1024);
        else if (eligible % 10 === 9) photos[user.id] = { placeholder: true };
        eligible++;
      } else if (rng.chance(0.5)) photos[user.id] = makePhoto(rng, 5 * 1024, 50 * 1024);
    });
    return { users, photos, onPremisesMailboxes };
  }
  for (let i = 0; i < 150; i++) {
    const user = makeUser(rng, i, domain);
    if (i % 10 === 9) user.accountEnabled = false;
    if (i % 7 !== 3) user.employeeId = String(1000 + i);
    if (i % 5 !== 4) user[ext] = `EN${5000 + i}`;
    users.push(user);
    if (i % 4 !== 1) photos[user.id] = makePhoto(rng, 2 * 1024, 6 * 1024, i % 13 === 0);
  }
  // Keys an attacker (or a typo) could put in the directory: none of them may name a file.
  const unsafe = ["../../etc/evil", "a/b", "CON", "bad\u0007key", "end.", "dup-1", "DUP-1"];
  unsafe.forEach((key, n) => {
    const user = users[20 + n * 3] as GraphUser;
    user.accountEnabled = true;
    user.employeeId = key;
    photos[user.id] = makePhoto(rng, 2 * 1024, 4 * 1024);
  });
  // Two eligible users without a photo whom Graph answers with its 1x1 placeholder instead of a 404.
  for (const idx of [45, 49]) {
    const user = users[idx] as GraphUser;
    user.accountEnabled = true;
    user.employeeId = String(1000 + idx);
    photos[user.id] = { placeholder: true };
  }
  // Two eligible users whose mailbox is on-premises.
  for (const idx of [40, 41]) {
    const user = users[idx] as GraphUser;
    user.accountEnabled = true;
    user.employeeId = String(1000 + idx);
    onPremisesMailboxes.push(user.id);
  }
  return { users, photos, onPremisesMailboxes };
}
