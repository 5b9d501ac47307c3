import { type ChildProcess, spawn } from "node:child_process";
import { createRequire } from "node:module";
import { createServer } from "node:net";
import { dirname, join } from "node:path";
import { AZURITE_ACCOUNT, AZURITE_KEY, type AzuriteHandle, startAzurite } from "@cloudadmin/cloud-sim";

/**
 * Starts Azurite through @cloudadmin/cloud-sim. Azurite 3.37 refuses `--inMemoryPersistence` together
 * with `--location`, which cloud-sim's startAzurite passes at the time of writing; until that is fixed
 * there, start the same emulator here without `--location` (in-memory mode writes no files).
 */
export async function startTestAzurite(): Promise<AzuriteHandle> {
  try {
    return await startAzurite();
  } catch (error) {
    if (!String(error).includes("inMemoryPersistence")) throw error;
    return startInMemoryAzurite();
  }
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

async function startInMemoryAzurite(): Promise<AzuriteHandle> {
  // Resolve azurite the way cloud-sim does: it is cloud-sim's dependency, not ours.
  const fromCloudSim = createRequire(createRequire(import.meta.url).resolve("@cloudadmin/cloud-sim"));
  const main = join(dirname(fromCloudSim.resolve("azurite/package.json")), "dist", "src", "blob", "main.js");
  const port = await freePort();
  const args = ["--blobHost", "127.0.0.1", "--blobPort", String(port), "--inMemoryPersistence", "--silent"];
  const child: ChildProcess = spawn(
    process.execPath,
    [main, ...args, "--disableTelemetry", "--skipApiVersionCheck", "--loose"],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  let output = "";
  child.stdout?.on("data", (d: Buffer) => {
    output += d.toString();
  });
  child.stderr?.on("data", (d: Buffer) => {
    output += d.toString();
  });
  const blobEndpoint = `http://127.0.0.1:${port}/${AZURITE_ACCOUNT}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`azurite exited with ${child.exitCode}: ${output.trim()}`);
    try {
      await fetch(`${blobEndpoint}?comp=list`);
      break;
    } catch {
      if (Date.now() > deadline) {
        child.kill();
        throw new Error(`azurite did not start on port ${port}: ${output.trim()}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  return {
    blobEndpoint,
    port,
    connectionString: `DefaultEndpointsProtocol=http;AccountName=${AZURITE_ACCOUNT};AccountKey=${AZURITE_KEY};BlobEndpoint=${blobEndpoint};`,
    stop: async () => {
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.once("exit", resolve));
        child.kill("SIGTERM");
        await exited;
      }
    },
  };
}
