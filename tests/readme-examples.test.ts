import { execFile } from "node:child_process";
import { mkdtemp, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import {
  type AzuriteHandle,
  type Simulator,
  generateDataset,
  startAzurite,
  startSimulator,
} from "@cloudadmin/cloud-sim";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

/**
 * Every package README has runnable examples: fenced blocks with the info string `js example`.
 * They are extracted and run with node against the simulator and Azurite, with the environment a
 * user would have (endpoints and sim credentials from `cloudadmin sim serve`), so they cannot rot.
 */
const root = new URL("..", import.meta.url).pathname;
const exec = promisify(execFile);

interface Example {
  pkg: string;
  index: number;
  code: string;
  prints: string[];
}

async function examples(): Promise<Example[]> {
  const out: Example[] = [];
  for (const pkg of await readdir(join(root, "packages"))) {
    const text = await readFile(join(root, "packages", pkg, "README.md"), "utf8").catch(() => "");
    // An example is followed by a `text prints` block: lines its output must hold, so a README
    // example that runs but computes the wrong thing fails.
    const blocks = [...text.matchAll(/```js example\n([\s\S]*?)```(?:\s*```text prints\n([\s\S]*?)```)?/g)];
    blocks.forEach((m, index) => {
      const prints = (m[2] ?? "")
        .split("\n")
        .map((l) => l.trim())
        .filter(Boolean);
      out.push({ pkg, index, code: m[1] as string, prints });
    });
  }
  return out;
}

let sim: Simulator;
let azurite: AzuriteHandle;
let work: string;
let env: Record<string, string>;

beforeAll(async () => {
  sim = await startSimulator({ dataset: generateDataset({ scale: "small", seed: 1 }) });
  azurite = await startAzurite();
  work = await mkdtemp(join(tmpdir(), "readme-examples-"));
  const caFile = join(work, "sim-ca.pem");
  await writeFile(caFile, sim.ca);
  env = {
    PATH: process.env.PATH ?? "",
    HOME: work,
    ...sim.environment(),
    NODE_EXTRA_CA_CERTS: caFile,
    AZURE_STORAGE_CONNECTION_STRING: azurite.connectionString,
    BLOB_ENDPOINT: azurite.blobEndpoint,
    WORK_DIR: work,
  };
});

afterAll(async () => {
  await sim?.close();
  await azurite?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

describe("README examples", async () => {
  const all = await examples();

  it("every library README has at least one runnable example", async () => {
    const libraries = (await readdir(join(root, "packages"))).filter((p) => p !== "cloud-sim");
    for (const pkg of libraries)
      expect(
        all.some((e) => e.pkg === pkg),
        `packages/${pkg}/README.md`,
      ).toBe(true);
  });

  for (const example of all) {
    it(`packages/${example.pkg}/README.md example ${example.index + 1} runs`, async () => {
      const file = join(root, "tests", `.example-${example.pkg}-${example.index}.mjs`);
      await writeFile(file, example.code);
      try {
        const { stdout } = await exec(process.execPath, [file], { env, cwd: work, timeout: 60_000 });
        if (process.env.SHOW_EXAMPLE_OUTPUT)
          console.log(`--- ${example.pkg} ${example.index + 1}\n${stdout}`);
        expect(example.prints.length, "the example is followed by a `text prints` block").toBeGreaterThan(0);
        const lines = stdout.split("\n").map((l) => l.trim());
        for (const line of example.prints) {
          // A line written /like this/ is a pattern (for times, ports and temp paths); else exact.
          const pattern = /^\/(.+)\/$/.exec(line)?.[1];
          if (pattern === undefined) expect(lines, "what the README says it prints").toContain(line);
          else
            expect(
              lines.some((l) => new RegExp(pattern).test(l)),
              `a line matching ${line}`,
            ).toBe(true);
        }
      } finally {
        await rm(file, { force: true });
      }
    });
  }
});
