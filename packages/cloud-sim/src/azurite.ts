import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";

/** Azurite's well-known development account (public, documented; not a secret). */
export const AZURITE_ACCOUNT = "devstoreaccount1";
export const AZURITE_KEY =
  "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

export interface AzuriteHandle {
  /** `http://127.0.0.1:<port>/devstoreaccount1` */
  blobEndpoint: string;
  /** A connection string for the emulator's account. */
  connectionString: string;
  port: number;
  stop(): Promise<void>;
}

/**
 * Azurite is an optional peer of cloud-sim: tests, benchmarks and development checkouts have it, an
 * installed CLI does not pull it in (it is most of the production dependency tree and the CLI never
 * starts it).
 */
function azuritePackageDir(): string {
  try {
    return dirname(createRequire(import.meta.url).resolve("azurite/package.json"));
  } catch (error) {
    throw new Error("the Azurite blob emulator is not installed: npm install --no-save azurite@3.37.0", {
      cause: error,
    });
  }
}

/**
 * Starts Azurite's Blob service from the npm package, in memory, on a loopback port (the kernel's
 * pick unless `port` is given), and resolves once Azurite reports that it listens. Used by tests and benchmarks.
 */
export async function startAzurite(
  options: { port?: number; timeoutMs?: number } = {},
): Promise<AzuriteHandle> {
  const main = join(azuritePackageDir(), "dist", "src", "blob", "main.js");
  // Port 0 lets the kernel pick the port inside Azurite's own listen(): probing for a free port first
  // and handing it over leaves a window in which another server (or a client socket) takes it, and
  // the readiness check then talks to that server instead.
  const requested = options.port ?? 0;
  // In memory mode Azurite refuses --location; run it in a temp folder so nothing lands in ours.
  const location = await mkdtemp(join(tmpdir(), "cloudadmin-azurite-"));
  const child: ChildProcess = spawn(
    process.execPath,
    [
      main,
      "--blobHost",
      "127.0.0.1",
      "--blobPort",
      String(requested),
      "--inMemoryPersistence",
      "--silent",
      "--disableTelemetry",
      "--skipApiVersionCheck",
      "--loose",
    ],
    { stdio: ["ignore", "pipe", "pipe"], cwd: location },
  );
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      // Azurite waits for keep-alive connections on SIGTERM: give it a moment, then kill it.
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 2000);
      await exited;
      clearTimeout(timer);
    }
    await rm(location, { recursive: true, force: true });
  };
  let port: number;
  try {
    port = await listeningPort(child, options.timeoutMs ?? 30_000);
  } catch (error) {
    await stop();
    throw error;
  }
  const blobEndpoint = `http://127.0.0.1:${port}/${AZURITE_ACCOUNT}`;
  return {
    blobEndpoint,
    port,
    connectionString: `DefaultEndpointsProtocol=http;AccountName=${AZURITE_ACCOUNT};AccountKey=${AZURITE_KEY};BlobEndpoint=${blobEndpoint};`,
    stop,
  };
}

/**
 * The port Azurite reports once its server listens ("... successfully listens on http://host:port"),
 * or an error with its output when it exits first or stays silent past the deadline.
 */
function listeningPort(child: ChildProcess, timeoutMs: number): Promise<number> {
  return new Promise((resolve, reject) => {
    let output = "";
    const done = (error: Error | null, port?: number) => {
      clearTimeout(timer);
      child.stdout?.off("data", onData);
      child.stderr?.off("data", onData);
      child.off("exit", onExit);
      // Keep draining the pipes so a chatty Azurite never blocks on a full pipe.
      child.stdout?.resume();
      child.stderr?.resume();
      if (error) reject(error);
      else resolve(port as number);
    };
    const onData = (d: Buffer) => {
      output += d.toString();
      const m = /successfully listens on https?:\/\/[^\s]*:(\d+)/.exec(output);
      if (m) done(null, Number(m[1]));
    };
    const onExit = (code: number | null) =>
      done(new Error(`azurite exited with ${code ?? "a signal"} before listening: ${output.trim()}`));
    const timer = setTimeout(
      () => done(new Error(`azurite did not start within ${timeoutMs} ms: ${output.trim()}`)),
      timeoutMs,
    );
    child.stdout?.on("data", onData);
    child.stderr?.on("data", onData);
    child.once("exit", onExit);
  });
}
