import type { TokenCredential } from "@azure/core-auth";
import type { JobOptions, Shard } from "@cloudadmin/paging";

/** One network interface of an ARM VM and the addresses on all its IP configurations. */
export interface NetworkInterfaceIps {
  /** The NIC's ARM resource ID. */
  id: string;
  /** Private IPv4 and IPv6 addresses, primary IP configuration first. */
  privateIps: string[];
  /** Public addresses of the public IP resources attached to this NIC's IP configurations. */
  publicIps: string[];
}

/** One VM (ARM or classic) with every private and public IP it holds (SPEC section 4). */
export interface VmIpRecord {
  subscriptionId: string;
  /** The subscription's display name, or null when Resource Graph did not say. */
  subscriptionName: string | null;
  resourceGroup: string;
  location: string;
  /** The VM's ARM resource ID. */
  vmId: string;
  vmName: string;
  vmSize: string | null;
  /** `running`, `deallocated`, `stopped`... (from `PowerState/<state>`), or null where ARG has none. */
  powerState: string | null;
  deploymentModel: "arm" | "classic";
  /** The scale set's ARM resource ID for a scale-set instance (Uniform or Flexible), else null. */
  scaleSet: string | null;
  /** A Uniform scale-set instance's ID (`"3"`), else null. */
  instanceId: string | null;
  /** Every private IP of every NIC (primary NIC first), IPv4 and IPv6; never null or empty strings. */
  privateIps: string[];
  publicIps: string[];
  /** Empty for classic VMs, whose addresses are inline. */
  networkInterfaces: NetworkInterfaceIps[];
}

/** Something odd in the data that did not stop the run (SPEC: a warning on stderr, not an error). */
export interface VmIpWarning {
  kind: "missing-nic" | "subscription-limit" | "query-shape";
  message: string;
  vmId?: string;
  nicId?: string;
}

/** Progress as data; the CLI decides how to draw it. */
export interface VmIpProgress {
  /**
   * Scopes read: each subscription batch (or the one tenant or management-group scope) once for
   * `Resources` and, with `scaleSets`, once more for `ComputeResources`; each is one `onError` at most.
   */
  scopesTotal: number;
  scopesDone: number;
  /** Scopes reported through `onError`. */
  scopesFailed: number;
  /** Pages fetched, and pages known to be needed so far. */
  pagesDone: number;
  pagesTotal: number;
  records: number;
  /** Last `x-ms-user-quota-remaining` seen. */
  quotaRemaining: number | undefined;
  /** Milliseconds spent waiting for the quota to reset. */
  quotaWaitMs: number;
  /** 429 answers received, and retries made (429s, 5xx, dropped connections). */
  throttled: number;
  retries: number;
}

/** The scope a run reads: a subscription list (batched), one management group, or the whole tenant. */
export type VmIpScope = { subscriptions: string[] } | { managementGroup: string } | { tenant: true };

/**
 * Options of {@link listVmIps}. The shared job options (`signal`, `timeoutMs`, `concurrency`,
 * `maxRetries`, `timer`, `random`, `onError`) mean what they mean for every cloudadmin job.
 */
export interface ListVmIpsOptions extends JobOptions {
  /** Any `@azure/core-auth` TokenCredential (DefaultAzureCredential, a static bearer token...). */
  credential: TokenCredential;
  /**
   * ARM endpoint (default `https://management.azure.com`); a sovereign cloud's or an emulator's.
   * https, or plain http only on loopback (emulators): anything else is refused before a token is
   * requested.
   */
  endpoint?: string;
  /** Token scope (default: the endpoint's origin + `/.default`). */
  tokenScope?: string;
  /** A PEM CA certificate to trust for the endpoint (a private CA, the simulator's). */
  ca?: string | Buffer;
  /** Scope (default: tenant, every subscription the principal can see). */
  scope?: VmIpScope;
  /** Include classic (ASM) VMs (default true). */
  includeClassic?: boolean;
  /** Include scale-set instances, Uniform (from `ComputeResources`) and Flexible (default true). */
  scaleSets?: boolean;
  /**
   * Read only this shard's share of the subscriptions (`shardOf(subscriptionId, count) === index`).
   * The scope's subscriptions are listed first (one cheap query), then only the shard's are read.
   */
  shard?: Shard;
  /** Subscriptions per request when a list is given (default and maximum 300, ARG's guidance). */
  batchSize?: number;
  /** Rows per page (default and maximum 1000). */
  pageSize?: number;
  onWarning?: (warning: VmIpWarning) => void;
  onProgress?: (progress: VmIpProgress) => void;
  /**
   * The subscriptions this run reads, once they are known (before the first VM): with `shard`, the
   * shard's share of the scope; without it, the subscription list given, or undefined for a tenant
   * or management-group scope read whole.
   */
  onScopes?: (subscriptionIds: string[] | undefined) => void;
  /** User-Agent prefix (default `cloudadmin`). */
  userAgent?: string;
}
