import {
  type AzureCloudName,
  AZURE_CLOUDS,
  StaticTokenCredential,
  checkEndpoint,
  createAzureCredential,
  scopeFor,
} from "@cloudadmin/auth";
import type { TokenCredential } from "@azure/core-auth";
import { BlobServiceClient, type ContainerClient } from "@azure/storage-blob";
import { type VmIpRecord, type VmIpScope, listVmIps } from "@cloudadmin/azure-vm-ips";
import {
  type CloudAdminError,
  type ErrorRecord,
  ConfigError,
  RemoteError,
  toErrorRecord,
} from "@cloudadmin/errors";
import { type Sink, writeResults } from "@cloudadmin/output";

/** Every 6 hours, on the hour (NCRONTAB: second minute hour day month day-of-week). */
export const DEFAULT_SCHEDULE = "0 0 */6 * * *";
const CLOUDS = Object.keys(AZURE_CLOUDS) as AzureCloudName[];

/** The app settings the function reads (README: "App settings"). */
export interface InventorySettings {
  /** Blob container for `vm-ips/<UTC timestamp>.json` and `vm-ips/latest.json` (VM_IPS_CONTAINER). */
  container: string;
  /** `https://<account>.blob.core.windows.net` (VM_IPS_STORAGE_URL), written with the managed identity. */
  storageUrl?: string;
  /** A connection string instead (VM_IPS_STORAGE_CONNECTION_STRING): Azurite, or key-based accounts. */
  storageConnectionString?: string;
  scope: VmIpScope;
  includeClassic: boolean;
  cloud: AzureCloudName;
  /** ARM endpoint override (CLOUDADMIN_ARM_ENDPOINT), for emulators. */
  armEndpoint?: string;
  /** A bearer token instead of the managed identity (CLOUDADMIN_ARM_TOKEN), for emulators and tests. */
  armToken?: string;
  /** Client ID of a user-assigned managed identity (AZURE_CLIENT_ID). */
  managedIdentityClientId?: string;
}

type Env = Record<string, string | undefined>;
const setting = (env: Env, name: string): string | undefined => {
  const v = env[name]?.trim();
  return v ? v : undefined;
};

/** The timer's NCRONTAB schedule: VM_IPS_SCHEDULE, else every 6 hours. */
export function scheduleFromEnv(env: Env): string {
  const schedule = setting(env, "VM_IPS_SCHEDULE") ?? DEFAULT_SCHEDULE;
  if (schedule.split(/\s+/).length !== 6) {
    throw new ConfigError(
      `VM_IPS_SCHEDULE must be an NCRONTAB expression with 6 fields (e.g. '${DEFAULT_SCHEDULE}'), not '${schedule}'`,
    );
  }
  return schedule;
}

/** Reads and checks the app settings; throws ConfigError naming the setting to fix. */
export function settingsFromEnv(env: Env): InventorySettings {
  const container = setting(env, "VM_IPS_CONTAINER");
  if (!container)
    throw new ConfigError("set VM_IPS_CONTAINER to the blob container that receives the inventory");
  if (!/^[a-z0-9](?!.*--)[a-z0-9-]{1,61}[a-z0-9]$/.test(container)) {
    throw new ConfigError(
      `VM_IPS_CONTAINER '${container}' is not a valid container name (3-63 lower-case letters, digits and single hyphens)`,
    );
  }
  const storageUrl = setting(env, "VM_IPS_STORAGE_URL");
  const storageConnectionString = setting(env, "VM_IPS_STORAGE_CONNECTION_STRING");
  if (!storageUrl && !storageConnectionString) {
    throw new ConfigError(
      "set VM_IPS_STORAGE_URL (https://<account>.blob.core.windows.net) or VM_IPS_STORAGE_CONNECTION_STRING",
    );
  }
  const cloud = (setting(env, "AZURE_CLOUD") ?? "AzurePublicCloud") as AzureCloudName;
  if (!CLOUDS.includes(cloud))
    throw new ConfigError(`AZURE_CLOUD must be one of ${CLOUDS.join(", ")}, not '${cloud}'`);
  const subscriptions = setting(env, "VM_IPS_SUBSCRIPTIONS");
  const managementGroup = setting(env, "VM_IPS_MANAGEMENT_GROUP");
  if (subscriptions && managementGroup)
    throw new ConfigError("set VM_IPS_SUBSCRIPTIONS or VM_IPS_MANAGEMENT_GROUP, not both");
  const scope: VmIpScope = subscriptions
    ? {
        subscriptions: subscriptions
          .split(",")
          .map((s) => s.trim())
          .filter(Boolean),
      }
    : managementGroup
      ? { managementGroup }
      : { tenant: true };
  const classic = setting(env, "VM_IPS_INCLUDE_CLASSIC") ?? "true";
  if (!/^(true|false)$/i.test(classic))
    throw new ConfigError(`VM_IPS_INCLUDE_CLASSIC must be true or false, not '${classic}'`);
  const out: InventorySettings = {
    container,
    scope,
    includeClassic: classic.toLowerCase() === "true",
    cloud,
  };
  if (storageUrl) out.storageUrl = storageUrl;
  if (storageConnectionString) out.storageConnectionString = storageConnectionString;
  const armEndpoint = setting(env, "CLOUDADMIN_ARM_ENDPOINT");
  if (armEndpoint) {
    // The policy of every cloudadmin front end: https, or plain http only on loopback (emulators).
    try {
      checkEndpoint(armEndpoint, "CLOUDADMIN_ARM_ENDPOINT");
    } catch (error) {
      throw new ConfigError((error as Error).message, { cause: error });
    }
    out.armEndpoint = armEndpoint;
  }
  const armToken = setting(env, "CLOUDADMIN_ARM_TOKEN");
  if (armToken) out.armToken = armToken;
  const clientId = setting(env, "AZURE_CLIENT_ID");
  if (clientId) out.managedIdentityClientId = clientId;
  return out;
}

export interface InventoryLog {
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

export interface InventoryDeps {
  /** Credential for ARM and Blob (default: CLOUDADMIN_ARM_TOKEN for ARM, else the managed identity). */
  credential?: TokenCredential;
  /** A PEM CA to trust for the ARM endpoint (the simulator's, in tests). */
  ca?: string;
  now?: () => Date;
  log?: InventoryLog;
  signal?: AbortSignal;
}

/** What one run wrote. */
export interface InventoryResult {
  blobName: string;
  latestBlobName: string;
  vms: number;
  errors: ErrorRecord[];
  warnings: number;
}

/** `2026-11-28T06:00:00.123Z` -> `2026-11-28T060000Z` (sortable, no colons in blob names). */
export function timestampName(date: Date): string {
  return `${date.toISOString().slice(0, 19).replace(/:/g, "")}Z`;
}

function openContainer(settings: InventorySettings, credential: TokenCredential): ContainerClient {
  const service = settings.storageConnectionString
    ? BlobServiceClient.fromConnectionString(settings.storageConnectionString)
    : new BlobServiceClient(settings.storageUrl as string, credential);
  return service.getContainerClient(settings.container);
}

/**
 * One inventory run, as the original C# function did it: every VM with its IPs from Resource Graph,
 * as one JSON document (the CLI's `-o json` envelope) written to `vm-ips/<UTC timestamp>.json` and
 * `vm-ips/latest.json`. When no scope could be read, nothing is written and the run fails (so the
 * Functions host records a failure); when some could, the document lists them in `errors`.
 */
export async function runInventory(
  settings: InventorySettings,
  deps: InventoryDeps = {},
): Promise<InventoryResult> {
  const log = deps.log ?? { info: () => {}, warn: () => {}, error: () => {} };
  const managed = createAzureCredential({
    cloud: settings.cloud,
    ...(settings.managedIdentityClientId
      ? { managedIdentityClientId: settings.managedIdentityClientId }
      : {}),
  });
  const armCredential =
    deps.credential ?? (settings.armToken ? new StaticTokenCredential(settings.armToken) : managed);
  const endpoint = settings.armEndpoint ?? AZURE_CLOUDS[settings.cloud].armEndpoint;
  const started = deps.now?.() ?? new Date();
  const errors: ErrorRecord[] = [];
  const failures: CloudAdminError[] = [];
  const counts = { vms: 0, arm: 0, classic: 0, scaleSet: 0 };
  let warnings = 0;
  let scopes = 0;
  let pages = 0;
  let throttled = 0;
  const items = async function* (): AsyncGenerator<VmIpRecord> {
    for await (const vm of listVmIps({
      credential: armCredential,
      endpoint,
      tokenScope: scopeFor(endpoint),
      scope: settings.scope,
      includeClassic: settings.includeClassic,
      ...(deps.ca ? { ca: deps.ca } : {}),
      ...(deps.signal ? { signal: deps.signal } : {}),
      onWarning: (w) => {
        warnings++;
        log.warn(w.message);
      },
      onError: (e) => {
        failures.push(e);
        errors.push(toErrorRecord(e, e.scope ?? "tenant", "resources-query"));
        log.error(`${e.scope ?? "tenant"}: ${e.message}`);
      },
      onProgress: (p) => {
        scopes = p.scopesTotal;
        pages = p.pagesDone;
        throttled = p.throttled;
      },
    })) {
      counts.vms++;
      counts[vm.deploymentModel]++;
      if (vm.scaleSet !== null) counts.scaleSet++;
      yield vm;
    }
  };
  // The document is the CLI's `-o json` envelope, written by the same code (@cloudadmin/output).
  const document = memorySink();
  await writeResults({
    format: "json",
    command: "azure-vm-ips",
    items: items(),
    errors: () => errors,
    summary: () => ({
      vms: counts.vms,
      armVms: counts.arm,
      classicVms: counts.classic,
      scaleSetVms: counts.scaleSet,
      scopes,
      failedScopes: errors.length,
      pages,
      throttled,
      warnings,
    }),
    sink: document,
    now: () => started,
    jsonIndent: 0,
    ...(deps.signal ? { signal: deps.signal } : {}),
  });
  if (failures.length > 0 && failures.length >= scopes) {
    throw new RemoteError(
      `Resource Graph could not be read for any scope (${errors[0]?.message}); nothing was written`,
    );
  }
  const body = Buffer.from(document.text());
  const container = openContainer(settings, deps.credential ?? managed);
  await container.createIfNotExists();
  const blobName = `vm-ips/${timestampName(started)}.json`;
  const latestBlobName = "vm-ips/latest.json";
  const headers = { blobHTTPHeaders: { blobContentType: "application/json" } };
  // The timestamped copy first: latest.json never points past a document that was not written.
  await container.getBlockBlobClient(blobName).upload(body, body.length, headers);
  await container.getBlockBlobClient(latestBlobName).upload(body, body.length, headers);
  // The same run as a self-contained HTML page beside it (issue 16): open latest.html in a browser.
  const { renderReport } = await import("@cloudadmin/report");
  const html = Buffer.from(await renderReport(JSON.parse(body.toString("utf8"))));
  await container
    .getBlockBlobClient("vm-ips/latest.html")
    .upload(html, html.length, { blobHTTPHeaders: { blobContentType: "text/html; charset=utf-8" } });
  log.info(`wrote ${counts.vms} VMs to ${settings.container}/${blobName} and ${latestBlobName}`);
  return { blobName, latestBlobName, vms: counts.vms, errors, warnings };
}

/** A sink that keeps the document in memory: it is uploaded twice (timestamped, then latest). */
function memorySink(): Sink & { text(): string } {
  let parts: string[] = [];
  return {
    async write(chunk) {
      parts.push(chunk);
    },
    async commit() {},
    async abort() {
      parts = [];
    },
    describe: () => "the inventory document",
    text: () => parts.join(""),
  };
}
