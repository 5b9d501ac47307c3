import { resolve } from "node:path";
import { UsageError } from "@cloudadmin/errors";
import type { CommandModule } from "../command-module.js";
import { ExitCode, exitCodeForScopes } from "../exit-codes.js";

export const mergeCommand: CommandModule = {
  name: "merge",
  summary: "combine the shard documents of a sharded azure-vm-ips or ec2-ips run into one",
  configure(command) {
    command.argument("[documents...]", "the shard documents (json files or blob URLs)").addHelpText(
      "after",
      `
Each shard of a sharded run (--shard <index>/<count>) writes a json document with shard: { index, count }
and the scopes it covered. merge checks the set and writes one document with every item. Documents of
different commands or shard counts, or one shard given twice, are refused (exit 2). A missing shard or a
scope covered by no shard is an entry in errors[] (exit 5), as are the shards' own errors.

Examples:
  cloudadmin merge ec2-0.json ec2-1.json ec2-2.json --out ec2.json
  cloudadmin merge https://acct.blob.core.windows.net/inv/ec2/2026-12-04T00-00-00Z/shard-{0,1,2}.json
`,
    );
  },
  async run(ctx, _options, args) {
    if (args.length === 0) throw new UsageError("give the shard documents to merge");
    const { looksLikeUrl } = await import("@cloudadmin/output");
    const sources = args.map((v) => (looksLikeUrl(v) ? v : resolve(ctx.io.cwd, v)));
    const lib = await import("@cloudadmin/ip-inventory");
    const merged = await lib.mergeInventories(sources, {
      signal: ctx.signal,
      ...(await ctx.blobAuth(sources)),
    });
    ctx.log.info(
      `${merged.command}: shards ${merged.indexes.join(", ")} of ${merged.count}, ${merged.scopes.length} scopes`,
    );
    await ctx.emit({
      items: merged.items(),
      errors: () => merged.errors,
      summary: () => ({ ...merged.summary, shardsMerged: merged.indexes.length, shardCount: merged.count }),
      // The merged document is the job's own inventory, readable wherever one unsharded run is.
      command: merged.command,
      extra: () => ({
        shards: { count: merged.count, indexes: merged.indexes },
        scopes: merged.scopes,
      }),
    });
    if (merged.errors.length === 0) return ExitCode.ok;
    ctx.log.error(
      `${merged.errors[0]?.message}${merged.errors.length > 1 ? ` (and ${merged.errors.length - 1} more)` : ""}; see errors[]`,
    );
    return exitCodeForScopes(merged.indexes.length, merged.errors.length);
  },
};
