import { resolve } from "node:path";
import { type CloudAdminError, type ErrorRecord, UsageError, toErrorRecord } from "@cloudadmin/errors";
import type { UserPhotoItem, UserPhotoStatus } from "@cloudadmin/user-photos";
import type { CommandModule } from "../command-module.js";
import { exitCodeForScopes } from "../exit-codes.js";
import { azureCredential, trustedCa } from "../providers.js";

const FIELDS = [
  "userId",
  "userPrincipalName",
  "key",
  "status",
  "bytes",
  "contentType",
  "etag",
  "file",
  "blobUrl",
  "reason",
  "pruned",
];
const TABLE_COLUMNS = ["key", "userPrincipalName", "status", "bytes", "contentType", "reason"];
const DEFAULT_GRAPH = "https://graph.microsoft.com";

export const userPhotosCommand: CommandModule = {
  name: "user-photos",
  summary: "every enabled Entra ID user's photo from Microsoft Graph to a folder and/or a blob container",
  configure(command) {
    command
      .option("--out-dir <dir>", "folder for the photos (<key>.<ext>) and the manifest")
      .option(
        "--container-url <url>",
        "blob container URL for the photos (SAS in the URL, or see Auth below)",
      )
      .option(
        "--key <attribute>",
        "user attribute naming the files (e.g. extension_<appid>_employeeNumber)",
        "employeeId",
      )
      .option("--filter <odata>", "OData filter replacing 'accountEnabled eq true and <key> ne null'")
      .option(
        "--size <WxH>",
        "photo size: 48x48, 64x64, 96x96, 120x120, 240x240, 360x360, 432x432, 504x504 or 648x648 (default: the largest)",
      )
      .option("--full", "download and upload every photo again, ignoring the manifest")
      .option(
        "--prune",
        "remove files and blobs whose photo or user is gone from Graph (only regular files the manifest names)",
      )
      .option(
        "--graph-endpoint <url>",
        "Graph root (default $CLOUDADMIN_GRAPH_ENDPOINT or https://graph.microsoft.com)",
      )
      .addHelpText(
        "after",
        `
Users: accountEnabled eq true with the key attribute set (--filter replaces that). A key that could
escape the folder or is not a valid file name is reported as invalid-key, two users with one key as
duplicate-key; neither writes anything. Photos are fetched at most 4 at a time (Graph's limit per app).

Incremental: .cloudadmin-photos.json in the folder (and blob metadata in the container) records each
photo's version (Graph's @odata.mediaEtag); unchanged photos are neither downloaded nor uploaded.
--full forces everything. Users without a photo (404, or Graph's 1x1 placeholder) are no-photo.
The manifest is untrusted: names it holds that this job could not have written are ignored, --prune
deletes only regular files directly in the folder, and symlinks in the folder are replaced, never
written through.

Auth: CLOUDADMIN_GRAPH_TOKEN (a bearer token), else DefaultAzureCredential (app permission
User.Read.All). Blobs: SAS in --container-url, else AZURE_STORAGE_CONNECTION_STRING, else
DefaultAzureCredential (Storage Blob Data Contributor).

Examples:
  cloudadmin user-photos --out-dir ./photos
  cloudadmin user-photos --out-dir ./photos --key extension_0a1b2c3d4e5f60718293a4b5c6d7e8f9_employeeNumber
  cloudadmin user-photos --container-url "https://acct.blob.core.windows.net/photos?sv=...&sig=..." --prune
  cloudadmin user-photos --simulate --out-dir ./photos -o table
`,
      );
  },
  async run(ctx, options) {
    // An empty --out-dir names no folder (resolve would turn it into the current one): the library refuses it.
    const outDir =
      options.outDir === undefined
        ? undefined
        : String(options.outDir) === ""
          ? ""
          : resolve(ctx.io.cwd, String(options.outDir));
    const containerUrl = options.containerUrl === undefined ? undefined : String(options.containerUrl);
    if (outDir === undefined && !containerUrl)
      throw new UsageError("give --out-dir, --container-url, or both");
    if (containerUrl) ctx.endpoint(containerUrl, "--container-url");

    const sim = await ctx.simulate(["graph"]);
    const endpoint = ctx.endpoint(
      String(options.graphEndpoint ?? ctx.env.CLOUDADMIN_GRAPH_ENDPOINT ?? DEFAULT_GRAPH),
      "--graph-endpoint",
    );
    const auth = await import("@cloudadmin/auth");
    const { credential } = await azureCredential(ctx, "CLOUDADMIN_GRAPH_TOKEN");
    const lib = await import("@cloudadmin/user-photos");
    const container = containerUrl
      ? lib.openContainer(containerUrl, {
          ...(ctx.env.AZURE_STORAGE_CONNECTION_STRING
            ? { connectionString: ctx.env.AZURE_STORAGE_CONNECTION_STRING }
            : {}),
          credential: auth.createAzureCredential(),
        })
      : undefined;
    const ca = await trustedCa(ctx, sim);
    const concurrency = Math.min(
      ctx.globals.concurrency ?? lib.GRAPH_PHOTO_CONCURRENCY,
      lib.GRAPH_PHOTO_CONCURRENCY,
    );
    if ((ctx.globals.concurrency ?? 0) > lib.GRAPH_PHOTO_CONCURRENCY) {
      ctx.log.debug(`photo requests stay at ${lib.GRAPH_PHOTO_CONCURRENCY} in flight: Graph's limit per app`);
    }

    const progress = await ctx.progress("user-photos");
    const counts: Record<UserPhotoStatus, number> & { listed: number } = {
      listed: 0,
      saved: 0,
      unchanged: 0,
      "no-photo": 0,
      "no-key": 0,
      "invalid-key": 0,
      "duplicate-key": 0,
      failed: 0,
    };
    let bytes = 0;
    let retries = 0;
    let pruned = 0;
    let stale = 0;
    const errors: ErrorRecord[] = [];
    const show = () =>
      progress.update({
        listed: counts.listed,
        saved: counts.saved,
        unchanged: counts.unchanged,
        "no photo": counts["no-photo"],
        failed: counts.failed,
      });

    // Called before any output: a refused option (size, key attribute, empty folder name, endpoint) ends
    // the run before anything is written.
    const photos = lib.syncUserPhotos({
      credential,
      endpoint: endpoint.toString(),
      ...(options.key === undefined ? {} : { keyAttribute: String(options.key) }),
      ...(options.filter === undefined ? {} : { filter: String(options.filter) }),
      ...(outDir === undefined ? {} : { outDir }),
      ...(container ? { container } : {}),
      full: options.full === true,
      prune: options.prune === true,
      ...(options.size === undefined ? {} : { size: String(options.size) }),
      concurrency,
      ...(ctx.globals.maxRetries === undefined ? {} : { maxRetries: ctx.globals.maxRetries }),
      ...(ctx.globals.timeoutMs === undefined ? {} : { timeoutMs: ctx.globals.timeoutMs }),
      ...(ca ? { ca } : {}),
      signal: ctx.signal,
      onProgress: (e) => {
        if (e.type === "users-listed") counts.listed = e.listed;
        else if (e.type === "retry") {
          retries++;
          ctx.log.debug(`Graph answered ${e.status}; retry ${e.attempt} in ${Math.round(e.delayMs)} ms`);
        } else if (e.type === "pruned") {
          pruned++;
          ctx.log.info(`pruned ${e.file ?? e.blobName}`);
        } else if (e.type === "stale") stale++;
        else if (e.type === "manifest-entry-ignored") {
          ctx.log.warn(`ignored manifest entry ${JSON.stringify(e.name)}: not a file name this job writes`);
        }
        show();
      },
      onError: (e: CloudAdminError) => errors.push(toErrorRecord(e)),
    });
    const items = (async function* () {
      for await (const item of photos) {
        counts[item.status]++;
        bytes += item.status === "saved" ? item.bytes : 0;
        show();
        yield item as UserPhotoItem;
      }
    })();

    await ctx.emit({
      items,
      errors: () => errors,
      summary: () => ({
        listed: counts.listed,
        saved: counts.saved,
        unchanged: counts.unchanged,
        noPhoto: counts["no-photo"],
        noKey: counts["no-key"],
        invalidKey: counts["invalid-key"],
        duplicateKey: counts["duplicate-key"],
        failed: counts.failed,
        bytesDownloaded: bytes,
        pruned,
        staleKept: stale,
        retries,
      }),
      columns: ctx.format === "table" ? TABLE_COLUMNS : FIELDS,
    });
    progress.stop();
    const refused = counts["invalid-key"] + counts["duplicate-key"];
    if (refused > 0) {
      ctx.log.warn(
        `${refused} users have an invalid or shared key and were skipped (status invalid-key / duplicate-key)`,
      );
    }
    if (stale > 0)
      ctx.log.warn(
        `${stale} files or blobs of photos gone from Graph were kept; rerun with --prune to remove them`,
      );
    const ok = counts.saved + counts.unchanged + counts["no-photo"] + counts["no-key"] + refused;
    return exitCodeForScopes(ok, counts.failed);
  },
};
