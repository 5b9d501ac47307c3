import { type CloudAdminError, type ErrorRecord, UsageError, toErrorRecord } from "@cloudadmin/errors";
import type { VmIpProgress, VmIpRecord, VmIpScope } from "@cloudadmin/azure-vm-ips";
import { type Shard, parseShard } from "@cloudadmin/paging";
import type { CommandModule } from "../command-module.js";
import { exitCodeForScopeErrors, isUsefulOutcome } from "../exit-codes.js";
import { azureCredential, trustedCa } from "../providers.js";

const CLOUDS = ["AzurePublicCloud", "AzureUSGovernment", "AzureChinaCloud"] as const;
type CloudName = (typeof CLOUDS)[number];

const FIELDS = [
  "subscriptionId",
  "subscriptionName",
  "resourceGroup",
  "location",
  "vmId",
  "vmName",
  "vmSize",
  "powerState",
  "deploymentModel",
  "scaleSet",
  "instanceId",
  "privateIps",
  "publicIps",
];
const TABLE_COLUMNS = [
  "subscriptionName",
  "resourceGroup",
  "vmName",
  "powerState",
  "deploymentModel",
  "privateIps",
  "publicIps",
];

export const azureVmIpsCommand: CommandModule = {
  name: "azure-vm-ips",
  summary: "every Azure VM (ARM and classic) with all its private and public IPs, via Resource Graph",
  configure(command) {
    command
      .option("--subscriptions <ids>", "comma-separated subscription IDs (batched, at most 300 per request)")
      .option("--management-group <id>", "every subscription under this management group")
      .option("--no-classic", "leave out classic (ASM) VMs")
      .option("--no-scale-sets", "leave out scale-set instances (Uniform and Flexible)")
      .option(
        "--shard <index/count>",
        "read only this shard's share of the subscriptions (stable hash of the subscription ID; index from 0)",
      )
      .option(
        "--cloud <name>",
        `Azure cloud for the endpoint and sign-in defaults: ${CLOUDS.join(", ")}`,
        "AzurePublicCloud",
      )
      .option("--arm-endpoint <url>", "ARM endpoint (default $CLOUDADMIN_ARM_ENDPOINT or the cloud's)")
      .addHelpText(
        "after",
        `
Scope: --subscriptions, or --management-group, or (default) every subscription the principal can see.
One Resource Graph query returns every ARM VM with every NIC and IP configuration (public IPs joined
by resource ID, whatever its casing) and every classic VM with its inline addresses; a second one the
Uniform scale-set instances (ComputeResources). Flexible scale-set instances are ordinary VMs; both
kinds carry scaleSet (and Uniform ones instanceId). Public IPs on a NAT gateway or load balancer
belong to no VM. A VM whose NIC record is missing is listed with the IPs that can be found, and a
warning. The job never returns fewer VMs than Resource Graph counts without saying so: when a scope
is not paged, it is read again one row per IP configuration (with a warning).

--shard i/n reads only the subscriptions whose ID hashes to shard i of n (each shard lists the whole
scope's subscriptions first); the document records shard and scopes, and \`cloudadmin merge\`
combines the shards.

Quota: Resource Graph allows about 15 queries per 5 s per principal. The job paces itself from the
x-ms-user-quota-* headers, fetches pages of different batches in parallel within it, and retries a
429 with or without Retry-After.

Auth: CLOUDADMIN_ARM_TOKEN (a bearer token), else DefaultAzureCredential (environment, workload or
managed identity, Azure CLI...). The principal needs Reader on the scope.

Examples:
  cloudadmin azure-vm-ips -o csv --out vms.csv
  cloudadmin azure-vm-ips --management-group corp -o table
  cloudadmin azure-vm-ips --subscriptions 11111111-1111-1111-1111-111111111111,22222222-2222-2222-2222-222222222222
  cloudadmin azure-vm-ips --cloud AzureUSGovernment --no-classic
  cloudadmin azure-vm-ips --shard 0/3 --out shard-0.json
  cloudadmin azure-vm-ips --simulate -o table
`,
      );
  },
  async run(ctx, options) {
    const cloud = String(options.cloud ?? "AzurePublicCloud") as CloudName;
    if (!CLOUDS.includes(cloud))
      throw new UsageError(`--cloud must be one of ${CLOUDS.join(", ")}, not '${cloud}'`);
    if (options.subscriptions !== undefined && options.managementGroup !== undefined) {
      throw new UsageError("give --subscriptions or --management-group, not both");
    }
    let scope: VmIpScope = { tenant: true };
    if (options.subscriptions !== undefined) {
      const ids = String(options.subscriptions)
        .split(",")
        .map((s) => s.trim())
        .filter(Boolean);
      if (ids.length === 0) throw new UsageError("--subscriptions needs at least one subscription ID");
      scope = { subscriptions: ids };
    } else if (options.managementGroup !== undefined) {
      scope = { managementGroup: String(options.managementGroup) };
    }
    const shard: Shard | undefined =
      options.shard === undefined ? undefined : parseShard(String(options.shard));

    const sim = await ctx.simulate(["arg"]);
    const auth = await import("@cloudadmin/auth");
    const defaults = auth.AZURE_CLOUDS[cloud];
    const endpoint = ctx.endpoint(
      String(options.armEndpoint ?? ctx.env.CLOUDADMIN_ARM_ENDPOINT ?? defaults.armEndpoint),
      "--arm-endpoint",
    );
    const { credential } = await azureCredential(ctx, "CLOUDADMIN_ARM_TOKEN", cloud);
    const ca = await trustedCa(ctx, sim);
    const lib = await import("@cloudadmin/azure-vm-ips");
    // The library's own checks of the scope (subscription IDs...), before any output starts.
    lib.checkVmIpScope(scope);

    const progress = await ctx.progress("azure-vm-ips");
    const errors: ErrorRecord[] = [];
    const failures: CloudAdminError[] = [];
    let scopes: string[] | undefined;
    let last: VmIpProgress | undefined;
    let warnings = 0;
    const counts = { arm: 0, classic: 0, scaleSet: 0, privateIps: 0, publicIps: 0 };
    const subscriptions = new Set<string>();
    const items = (async function* () {
      for await (const vm of lib.listVmIps({
        credential,
        endpoint: endpoint.toString().replace(/\/$/, ""),
        tokenScope: auth.scopeFor(endpoint.toString()),
        scope,
        includeClassic: options.classic !== false,
        scaleSets: options.scaleSets !== false,
        ...(shard ? { shard } : {}),
        onScopes: (s) => {
          scopes = s;
        },
        ...(ca ? { ca } : {}),
        ...(ctx.globals.concurrency === undefined ? {} : { concurrency: ctx.globals.concurrency }),
        ...(ctx.globals.maxRetries === undefined ? {} : { maxRetries: ctx.globals.maxRetries }),
        ...(ctx.globals.timeoutMs === undefined ? {} : { timeoutMs: ctx.globals.timeoutMs }),
        signal: ctx.signal,
        onProgress: (p) => {
          if (last && p.throttled > last.throttled)
            ctx.log.debug("Resource Graph answered 429; waiting for the quota window");
          last = p;
          progress.update({
            pages: `${p.pagesDone}/${p.pagesTotal}`,
            vms: p.records,
            "quota left": p.quotaRemaining ?? "?",
            "quota waits": `${(p.quotaWaitMs / 1000).toFixed(1)}s`,
            throttled: p.throttled,
          });
        },
        onWarning: (w) => {
          warnings++;
          progress.log(`cloudadmin: azure-vm-ips: warning: ${w.message}`);
        },
        onError: (e: CloudAdminError) => {
          failures.push(e);
          errors.push(toErrorRecord(e, e.scope ?? "tenant", "resources-query"));
        },
      })) {
        counts[vm.deploymentModel]++;
        if (vm.scaleSet !== null) counts.scaleSet++;
        counts.privateIps += vm.privateIps.length;
        counts.publicIps += vm.publicIps.length;
        subscriptions.add(vm.subscriptionId.toLowerCase());
        yield vm as VmIpRecord;
      }
    })();

    try {
      await ctx.emit({
        items,
        errors: () => errors,
        summary: () => ({
          vms: counts.arm + counts.classic,
          armVms: counts.arm,
          classicVms: counts.classic,
          scaleSetVms: counts.scaleSet,
          subscriptions: subscriptions.size,
          privateIps: counts.privateIps,
          publicIps: counts.publicIps,
          scopes: last?.scopesTotal ?? 0,
          failedScopes: errors.length,
          pages: last?.pagesDone ?? 0,
          throttled: last?.throttled ?? 0,
          retries: last?.retries ?? 0,
          quotaWaitMs: Math.round(last?.quotaWaitMs ?? 0),
          warnings,
        }),
        ...(shard ? { extra: () => ({ shard, scopes: [...(scopes ?? [])].sort() }) } : {}),
        // Every scope failed: nothing useful, so an earlier run's output stays as it was.
        commitIf: () =>
          isUsefulOutcome(exitCodeForScopeErrors((last?.scopesTotal ?? 0) - failures.length, failures)),
        columns:
          ctx.format === "table"
            ? TABLE_COLUMNS
            : ctx.format === "csv"
              ? [
                  ...FIELDS,
                  {
                    name: "networkInterfaces",
                    value: (vm: VmIpRecord) => vm.networkInterfaces.map((n) => n.id),
                  },
                ]
              : undefined,
      });
    } finally {
      progress.stop();
    }
    const total = last?.scopesTotal ?? 0;
    if (errors.length > 0) {
      ctx.log.error(
        `Resource Graph could not be read for ${errors.length} of ${total} scope${total === 1 ? "" : "s"} (${errors[0]?.code}); see errors[] or rerun with -v`,
      );
    }
    return exitCodeForScopeErrors(total - failures.length, failures);
  },
};
