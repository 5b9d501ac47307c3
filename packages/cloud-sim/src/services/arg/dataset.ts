import type { DatasetProblem } from "../definition.js";

/** A subscription the tenant holds, with the management groups above it (any depth). */
export interface AzureSubscription {
  subscriptionId: string;
  displayName: string;
  /** Names (IDs) of every management group the subscription sits under, nearest first. */
  managementGroups?: string[];
  /** `Enabled` unless said otherwise. */
  state?: "Enabled" | "Disabled" | "Warned" | "PastDue" | "Deleted";
}

/**
 * One raw row of Resource Graph's `Resources` table, as ARG stores it: `type` and `resourceGroup`
 * lower-cased, `id` in the casing the resource provider reported, `properties` as the provider's
 * GET returns them (ARG adds `properties.extended.instanceView` for VMs).
 */
export interface ArgResource {
  id: string;
  name: string;
  type: string;
  tenantId?: string;
  kind?: string;
  location: string;
  resourceGroup: string;
  subscriptionId: string;
  managedBy?: string;
  sku?: Record<string, unknown> | null;
  plan?: Record<string, unknown> | null;
  properties: Record<string, unknown>;
  tags?: Record<string, string> | null;
  identity?: Record<string, unknown> | null;
  zones?: string[] | null;
  extendedLocation?: Record<string, unknown> | null;
}

/** The per-principal query quota the simulator enforces (ARG's documented example by default). */
export interface ArgQuotaSettings {
  /** Queries per window (default 15). */
  limit?: number;
  /** Window length in seconds (default 5). */
  windowSeconds?: number;
  /** Whether a 429 for a spent quota carries `Retry-After` (default false, as ARG's quota 429s are reported). */
  retryAfter?: boolean;
}

/**
 * How the simulated Resource Graph behaves where the documentation leaves it open (README: "ARG
 * switches"). The default of each is the behaviour the project's queries were written for.
 */
export interface ArgServiceSettings {
  /**
   * A `summarize` nested inside a `join` (not at the top level, which ARG documents as "first page
   * only"): `pages` pages it like any query (default); `first-page` answers only the first page
   * (`$skip` and `$skipToken` ignored, no `$skipToken`, `resultTruncated: "false"`, `totalRecords`
   * counting every row); `truncated` answers the first page with `resultTruncated: "true"` and no
   * `$skipToken`, as ARG documents for results it will not page.
   */
  nestedSummarize?: "pages" | "first-page" | "truncated";
  /** Whether answers carry `x-ms-user-quota-remaining` / `-resets-after` (default true). */
  quotaHeaders?: boolean;
  /** Functions this Resource Graph does not know: a query calling one gets 400 InvalidQuery naming it. */
  unsupportedFunctions?: string[];
}

/** The `azure` section of a dataset (SPEC section 7). */
export interface AzureDataset {
  tenantId?: string;
  subscriptions: AzureSubscription[];
  resources: ArgResource[];
  /**
   * Raw rows of ARG's `ComputeResources` table: Uniform scale-set instances
   * (`microsoft.compute/virtualmachinescalesets/virtualmachines`), their NICs
   * (`.../virtualmachines/networkinterfaces`) and public IPs
   * (`.../networkinterfaces/ipconfigurations/publicipaddresses`).
   */
  computeResources?: ArgResource[];
  quota?: ArgQuotaSettings;
  service?: ArgServiceSettings;
}

const GUID = "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$";
const nullableObject = { type: ["object", "null"] };

/** Raw rows of one ARG table, as ARG stores them. */
const ROWS_SCHEMA: Record<string, unknown> = {
  type: "array",
  items: {
    type: "object",
    additionalProperties: false,
    required: ["id", "name", "type", "location", "resourceGroup", "subscriptionId", "properties"],
    properties: {
      id: {
        type: "string",
        pattern: "^/subscriptions/[^/]+/resourceGroups/[^/]+/providers/[^/]+/[^/]+/[^/]+",
        minLength: 1,
      },
      name: { type: "string", minLength: 1 },
      type: { type: "string", pattern: "^[a-z0-9.]+/[a-z0-9./]+$" },
      tenantId: { type: "string" },
      kind: { type: "string" },
      location: { type: "string" },
      resourceGroup: { type: "string", pattern: "^[^A-Z]+$" },
      subscriptionId: { type: "string", pattern: GUID },
      managedBy: { type: "string" },
      sku: nullableObject,
      plan: nullableObject,
      properties: { type: "object" },
      tags: { type: ["object", "null"], additionalProperties: { type: "string" } },
      identity: nullableObject,
      zones: { type: ["array", "null"], items: { type: "string" } },
      extendedLocation: nullableObject,
    },
  },
};

export const AZURE_SCHEMA: Record<string, unknown> = {
  type: "object",
  additionalProperties: false,
  required: ["subscriptions", "resources"],
  properties: {
    tenantId: { type: "string", pattern: GUID },
    subscriptions: {
      type: "array",
      items: {
        type: "object",
        additionalProperties: false,
        required: ["subscriptionId", "displayName"],
        properties: {
          subscriptionId: { type: "string", pattern: GUID },
          displayName: { type: "string", minLength: 1 },
          managementGroups: { type: "array", items: { type: "string", minLength: 1 } },
          state: { enum: ["Enabled", "Disabled", "Warned", "PastDue", "Deleted"] },
        },
      },
    },
    resources: ROWS_SCHEMA,
    computeResources: ROWS_SCHEMA,
    service: {
      type: "object",
      additionalProperties: false,
      properties: {
        nestedSummarize: { enum: ["pages", "first-page", "truncated"] },
        quotaHeaders: { type: "boolean" },
        unsupportedFunctions: { type: "array", items: { type: "string", pattern: "^[a-z_]+$" } },
      },
    },
    quota: {
      type: "object",
      additionalProperties: false,
      properties: {
        limit: { type: "integer", minimum: 1 },
        windowSeconds: { type: "integer", minimum: 1 },
        retryAfter: { type: "boolean" },
      },
    },
  },
};

/** Checks the schema cannot express: duplicates, and rows that name a subscription or id the dataset lacks. */
export function checkAzure(section: AzureDataset): DatasetProblem[] {
  const problems: DatasetProblem[] = [];
  const subs = new Set<string>();
  section.subscriptions.forEach((s, i) => {
    const key = s.subscriptionId.toLowerCase();
    if (subs.has(key))
      problems.push({ path: `$.azure.subscriptions[${i}].subscriptionId`, message: "is a duplicate" });
    subs.add(key);
  });
  const ids = new Set<string>();
  const rows = [
    ...section.resources.map((r, i) => ({ r, path: `$.azure.resources[${i}]` })),
    ...(section.computeResources ?? []).map((r, i) => ({ r, path: `$.azure.computeResources[${i}]` })),
  ];
  for (const { r, path } of rows) {
    const key = r.id.toLowerCase();
    if (ids.has(key))
      problems.push({ path: `${path}.id`, message: "is a duplicate (resource IDs are case-insensitive)" });
    ids.add(key);
    if (!subs.has(r.subscriptionId.toLowerCase())) {
      problems.push({
        path: `${path}.subscriptionId`,
        message: "names no subscription in $.azure.subscriptions",
      });
    }
    const idSub = r.id.split("/")[2] ?? "";
    if (idSub.toLowerCase() !== r.subscriptionId.toLowerCase()) {
      problems.push({ path: `${path}.id`, message: "is not in the row's subscriptionId" });
    }
    const idGroup = r.id.split("/")[4] ?? "";
    if (idGroup.toLowerCase() !== r.resourceGroup) {
      problems.push({
        path: `${path}.resourceGroup`,
        message: "must be the id's resource group, lower-cased",
      });
    }
    if (r.type !== r.type.toLowerCase())
      problems.push({ path: `${path}.type`, message: "must be lower-case (as ARG stores it)" });
    const compute = path.startsWith("$.azure.computeResources");
    if (compute && !r.type.startsWith("microsoft.compute/virtualmachinescalesets/virtualmachines")) {
      problems.push({
        path: `${path}.type`,
        message: "is not a ComputeResources type (a Uniform scale-set instance, its NIC or its public IP)",
      });
    }
  }
  return problems;
}
