import { resolve } from "node:path";
import { type CloudAdminError, type ErrorRecord, UsageError, toErrorRecord } from "@cloudadmin/errors";
import type { InventorySource, IpChange, IpRecord, ReadInventoryOptions } from "@cloudadmin/ip-inventory";
import type { CommandModule } from "../command-module.js";
import type { CommandContext } from "../context.js";
import { ExitCode, exitCodeForScopes } from "../exit-codes.js";
import { azureCredential, trustedCa } from "../providers.js";

const FIND_TABLE = [
  "ip",
  "cloud",
  "accountName",
  "region",
  "resourceName",
  "state",
  "visibility",
  "publicIpKind",
  "anomaly",
];
/** A diff side for people: its resource's name, with the ID when the name alone cannot tell the two apart. */
function holderLabel(side: IpRecord | null, other: IpRecord | null): string {
  if (!side) return "";
  const name = side.resourceName ?? side.resourceId;
  return other && other.resourceName === side.resourceName && other.resourceId !== side.resourceId
    ? `${name} (${side.resourceId.slice(side.resourceId.lastIndexOf("/") + 1)})`
    : name;
}
const DIFF_COLUMNS = [
  "change",
  "ip",
  { name: "cloud", value: (c: IpChange) => (c.after ?? c.before)?.cloud },
  { name: "before", value: (c: IpChange) => holderLabel(c.before, c.after) },
  { name: "after", value: (c: IpChange) => holderLabel(c.after, c.before) },
  { name: "before.state", header: "beforeState" },
  { name: "after.state", header: "afterState" },
  { name: "before.networkInterfaceId", header: "beforeInterface" },
  { name: "after.networkInterfaceId", header: "afterInterface" },
];
const LIVE = ["azure", "aws"] as const;
type Live = (typeof LIVE)[number];

/** `30m`, `24h`, `7d`, `2w` (a bare number is hours). */
function parseAge(value: string): number {
  const match = /^(\d+(?:\.\d+)?)(s|m|h|d|w)?$/.exec(value.trim());
  if (!match?.[1]) throw new UsageError(`--since must be an age such as 30m, 24h or 7d, not '${value}'`);
  const unit =
    { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 }[match[2] ?? "h"] ?? 3_600_000;
  return Math.round(Number(match[1]) * unit);
}

/** A `--from` value or a diff side: a file or URL, or several joined by commas (a shard set). */
async function sourcesOf(ctx: CommandContext, values: readonly string[]): Promise<string[]> {
  const { looksLikeUrl } = await import("@cloudadmin/output");
  return values
    .flatMap((v) => v.split(","))
    .map((v) => v.trim())
    .filter(Boolean)
    .map((v) => (looksLikeUrl(v) ? v : resolve(ctx.io.cwd, v)));
}

/** Blob auth as for --out: a SAS in the URL, else AZURE_STORAGE_CONNECTION_STRING, else DefaultAzureCredential. */
async function readOptions(ctx: CommandContext, urls: readonly string[]): Promise<ReadInventoryOptions> {
  return { signal: ctx.signal, ...(await ctx.blobAuth(urls)) };
}

export const ipsCommand: CommandModule = {
  name: "ips",
  summary: "who holds an IP (address, CIDR or name) across Azure and AWS, and what changed",
  configure(command) {
    command
      .command("find")
      .description("every holder of an IP address, CIDR or name glob, across both clouds")
      .argument("<query...>", "IPv4/IPv6 address, CIDR (10.20.0.0/16, 2001:db8::/32) or name glob (web-*)")
      .option(
        "--from <file|url...>",
        "saved inventories: json, ndjson or csv, files or blob URLs; a,b,c for a shard set",
      )
      .option("--live <clouds>", "run the inventory jobs now: azure, aws or azure,aws")
      .addHelpText(
        "after",
        `
Reads azure-vm-ips and ec2-ips outputs (this tool's json, ndjson or csv, the Functions app's
vm-ips/<timestamp>.json and latest.json, shard sets) or runs the jobs (--live), and prints one item per
IP and holder. anomaly flags a public IP held by two resources (public-ip-shared) and a private IP held
twice in one account or subscription and region (private-ip-duplicate). No match: exit 0, no items.

Examples:
  cloudadmin ips find 10.20.3.7 --from vms.json --from instances.ndjson
  cloudadmin ips find 10.20.0.0/16 2001:db8::/32 --from https://acct.blob.core.windows.net/inv/vm-ips/latest.json
  cloudadmin ips find 'web-*' --live azure,aws -o table
  cloudadmin ips find 10.0.0.0/8 --live azure,aws --simulate
`,
      );
    command
      .command("diff")
      .description("what changed between two inventories: added, removed, moved and changed IPs")
      .argument("[old]", "the older inventory (file or URL; a,b,c for a shard set)")
      .argument("[new]", "the newer inventory")
      .option("--container-url <url>", "a blob container of snapshots (CronJob or Functions app output)")
      .option(
        "--since <age>",
        "with --container-url: compare the newest snapshot with the one closest to this age (24h, 7d)",
      )
      .option("--prefix <prefix>", "with --container-url: only blobs under this prefix (vm-ips/)")
      .addHelpText(
        "after",
        `
Items are { change, ip, before, after }: added (a new holder), removed, moved (now held by another
resource) and changed (same holder, different state or interface).

Examples:
  cloudadmin ips diff yesterday.json today.json
  cloudadmin ips diff old-0.json,old-1.json,old-2.json new-0.json,new-1.json,new-2.json -o table
  cloudadmin ips diff --container-url https://acct.blob.core.windows.net/inventory --prefix vm-ips/ --since 24h
`,
      );
  },
  async run(ctx, options, args) {
    if (args[0] === "find") return find(ctx, options, args.slice(1));
    if (args[0] === "diff") return diff(ctx, options, args.slice(1));
    throw new UsageError("give a subcommand: ips find <query>... or ips diff <old> <new>");
  },
};

async function find(
  ctx: CommandContext,
  options: Record<string, unknown>,
  queries: string[],
): Promise<number> {
  const lib = await import("@cloudadmin/ip-inventory");
  // Malformed queries are refused before anything is read or run.
  const parsed = queries.map((q) => lib.parseQuery(q));
  const from = await sourcesOf(ctx, (options.from as string[] | undefined) ?? []);
  const live = liveClouds(options.live);
  if (from.length === 0 && live.length === 0)
    throw new UsageError("give --from <file|url>... or --live azure,aws");
  const errors: ErrorRecord[] = [];
  const onError = (e: CloudAdminError) => errors.push(toErrorRecord(e));
  const read = await readOptions(ctx, from);
  // A name query reads the sources twice (its IPs' other holders): count and warn once per source.
  const documents = new Set<string>();
  const saved = () =>
    lib.readInventory(from, {
      ...read,
      onError,
      onDocument: (info) => {
        if (documents.has(info.source)) return;
        documents.add(info.source);
        if (info.errors.length > 0)
          ctx.log.warn(`${info.source} lists ${info.errors.length} scope(s) its run could not read`);
      },
    });
  const scopes = { ok: 0, failed: 0 };
  let input: Parameters<typeof lib.findIps>[0];
  if (live.length === 0) input = saved;
  else {
    const liveRecords = await liveInventory(ctx, live, errors, scopes);
    input = (async function* () {
      if (from.length > 0) yield* saved();
      yield* liveRecords;
    })();
  }
  let matches = 0;
  const anomalies = { publicIpShared: 0, privateIpDuplicate: 0 };
  const items = (async function* () {
    for await (const hit of lib.findIps(input, parsed, { signal: ctx.signal })) {
      matches++;
      if (hit.anomaly === "public-ip-shared") anomalies.publicIpShared++;
      else if (hit.anomaly === "private-ip-duplicate") anomalies.privateIpDuplicate++;
      yield hit;
    }
    if (matches === 0) ctx.log.warn(`no IP matches ${queries.join(", ")}`);
  })();
  await ctx.emit({
    items,
    errors: () => errors,
    summary: () => ({ queries, matches, ...anomalies, sources: documents.size, live }),
    ...(ctx.format === "table" ? { columns: FIND_TABLE } : {}),
  });
  if (errors.length === 0) return ExitCode.ok;
  ctx.log.error(
    `${errors.length} scope(s) could not be read (${errors[0]?.code}); see errors[] or rerun with -v`,
  );
  return exitCodeForScopes(scopes.ok + documents.size, errors.length);
}

function liveClouds(value: unknown): Live[] {
  if (value === undefined) return [];
  const clouds = String(value)
    .split(",")
    .map((s) => s.trim().toLowerCase())
    .filter(Boolean);
  const bad = clouds.find((c) => !LIVE.includes(c as Live));
  if (bad !== undefined || clouds.length === 0)
    throw new UsageError(`--live takes azure, aws or azure,aws, not '${String(value)}'`);
  return [...new Set(clouds)] as Live[];
}

/** Runs the inventory jobs and turns their records into IP records as they arrive. */
async function liveInventory(
  ctx: CommandContext,
  clouds: Live[],
  errors: ErrorRecord[],
  scopes: { ok: number; failed: number },
): Promise<AsyncIterable<IpRecord>> {
  const lib = await import("@cloudadmin/ip-inventory");
  const sim = await ctx.simulate(clouds.map((c) => (c === "azure" ? "arg" : "aws")));
  const ca = await trustedCa(ctx, sim);
  const common = {
    signal: ctx.signal,
    ...(ca ? { ca } : {}),
    ...(ctx.globals.concurrency === undefined ? {} : { concurrency: ctx.globals.concurrency }),
    ...(ctx.globals.timeoutMs === undefined ? {} : { timeoutMs: ctx.globals.timeoutMs }),
    ...(ctx.globals.maxRetries === undefined ? {} : { maxRetries: ctx.globals.maxRetries }),
  };
  const parts: Array<() => AsyncIterable<IpRecord>> = [];
  if (clouds.includes("azure")) {
    const auth = await import("@cloudadmin/auth");
    const endpoint = ctx.endpoint(
      ctx.env.CLOUDADMIN_ARM_ENDPOINT ?? auth.AZURE_CLOUDS.AzurePublicCloud.armEndpoint,
      "CLOUDADMIN_ARM_ENDPOINT",
    );
    const { credential } = await azureCredential(ctx, "CLOUDADMIN_ARM_TOKEN");
    const azure = await import("@cloudadmin/azure-vm-ips");
    parts.push(async function* () {
      const observedAt = new Date().toISOString();
      let failed = 0;
      for await (const vm of azure.listVmIps({
        ...common,
        credential,
        endpoint: endpoint.toString().replace(/\/$/, ""),
        tokenScope: auth.scopeFor(endpoint.toString()),
        onWarning: (w) => ctx.log.warn(w.message),
        onError: (e) => {
          failed++;
          errors.push(toErrorRecord(e, e.scope ?? "tenant", e.phase ?? "resources-query"));
        },
      })) {
        yield* lib.fromAzureItem(vm, observedAt);
      }
      scopes.failed += failed;
      scopes.ok += 1;
    });
  }
  if (clouds.includes("aws")) {
    const ec2 = await import("@cloudadmin/ec2-ips");
    const settings = await ec2.resolveAwsSettings({ env: ctx.env, mode: "org" });
    parts.push(async function* () {
      const observedAt = new Date().toISOString();
      for await (const instance of ec2.listEc2Ips({
        ...common,
        mode: "org",
        region: settings.region,
        endpoints: settings.endpoints,
        ...(settings.credentials ? { credentials: settings.credentials } : {}),
        roleName: "OrganizationAccountAccessRole",
        onError: (e) => {
          scopes.failed++;
          errors.push(toErrorRecord(e));
        },
      })) {
        yield* lib.fromEc2Item(instance, observedAt);
      }
      scopes.ok += 1;
    });
  }
  return (async function* () {
    for (const part of parts) yield* part();
  })();
}

async function diff(ctx: CommandContext, options: Record<string, unknown>, args: string[]): Promise<number> {
  const lib = await import("@cloudadmin/ip-inventory");
  let older: InventorySource[];
  let newer: InventorySource[];
  let picked: Record<string, unknown> = {};
  if (options.containerUrl !== undefined) {
    if (args.length > 0) throw new UsageError("give <old> <new> or --container-url, not both");
    if (options.since === undefined) throw new UsageError("--container-url needs --since <age> (24h, 7d)");
    const sinceMs = parseAge(String(options.since));
    const containerUrl = String(options.containerUrl);
    const read = await readOptions(ctx, [containerUrl]);
    const snapshots = await lib.listSnapshots(containerUrl, {
      ...read,
      ...(options.prefix === undefined ? {} : { prefix: String(options.prefix) }),
    });
    const pair = lib.pickSnapshots(snapshots, sinceMs, new Date());
    older = pair.older.urls;
    newer = pair.newer.urls;
    picked = {
      older: { takenAt: pair.older.takenAt.toISOString(), blobs: pair.older.names },
      newer: { takenAt: pair.newer.takenAt.toISOString(), blobs: pair.newer.names },
    };
    ctx.log.info(
      `comparing ${pair.older.names.join(",")} (${pair.older.takenAt.toISOString()}) with ${pair.newer.names.join(",")} (${pair.newer.takenAt.toISOString()})`,
    );
  } else {
    if (options.since !== undefined || options.prefix !== undefined)
      throw new UsageError("--since and --prefix go with --container-url");
    if (args.length !== 2)
      throw new UsageError("ips diff needs <old> <new>, or --container-url <url> --since <age>");
    older = await sourcesOf(ctx, [args[0] as string]);
    newer = await sourcesOf(ctx, [args[1] as string]);
  }
  const errors: ErrorRecord[] = [];
  const onError = (e: CloudAdminError) => errors.push(toErrorRecord(e));
  const read = await readOptions(
    ctx,
    [...older, ...newer].filter((s): s is string => typeof s === "string"),
  );
  const counts = { added: 0, removed: 0, moved: 0, changed: 0 };
  const items = (async function* () {
    for await (const change of lib.diffInventories(
      () => lib.readInventory(older, { ...read, onError }),
      () => lib.readInventory(newer, { ...read, onError }),
      { signal: ctx.signal },
    )) {
      counts[change.change]++;
      yield change;
    }
  })();
  await ctx.emit({
    items,
    errors: () => errors,
    summary: () => ({ ...counts, ...picked }),
    ...(ctx.format === "json" || ctx.format === "ndjson" ? {} : { columns: DIFF_COLUMNS }),
  });
  if (errors.length === 0) return ExitCode.ok;
  ctx.log.error(`${errors.map((e) => e.message).join("; ")}`);
  return exitCodeForScopes(1, errors.length);
}
