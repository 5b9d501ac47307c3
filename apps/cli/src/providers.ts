import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import type { TokenCredential } from "@cloudadmin/auth";
import type { CommandContext } from "./context.js";
import type { SimulatorSession } from "./simulate.js";

/**
 * The extra CA in-process clients should trust: the embedded simulator's certificate under
 * --simulate, else the file in NODE_EXTRA_CA_CERTS (clients that take a `ca` option replace the
 * default trust with it, so they get it explicitly; Node adds it to the defaults only at start-up).
 */
export async function trustedCa(
  ctx: CommandContext,
  sim: SimulatorSession | undefined,
): Promise<string | undefined> {
  if (sim) return sim.ca;
  const file = ctx.env.NODE_EXTRA_CA_CERTS;
  if (!file) return undefined;
  return readFile(resolve(ctx.io.cwd, file), "utf8").catch(() => {
    ctx.log.warn(`NODE_EXTRA_CA_CERTS names ${file}, which cannot be read; using the default CAs`);
    return undefined;
  });
}

export interface AzureAuth {
  credential: TokenCredential;
  /** Where the token comes from, for messages (never the token). */
  source: string;
}

/** `CLOUDADMIN_<ARM|GRAPH>_TOKEN` when set (CI, emulators), else DefaultAzureCredential for the cloud. */
export async function azureCredential(
  ctx: CommandContext,
  tokenVariable: "CLOUDADMIN_ARM_TOKEN" | "CLOUDADMIN_GRAPH_TOKEN",
  cloud?: "AzurePublicCloud" | "AzureUSGovernment" | "AzureChinaCloud",
): Promise<AzureAuth> {
  const auth = await import("@cloudadmin/auth");
  const token = ctx.env[tokenVariable];
  if (token)
    return { credential: new auth.StaticTokenCredential(token), source: `${tokenVariable} (bearer token)` };
  return {
    credential: auth.createAzureCredential(cloud ? { cloud } : {}),
    source: `DefaultAzureCredential${cloud && cloud !== "AzurePublicCloud" ? ` (${cloud})` : ""}`,
  };
}
