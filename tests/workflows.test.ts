import { readFile, readdir } from "node:fs/promises";
import { join } from "node:path";
import { NoOperationTraceWriter, parseWorkflow } from "@actions/workflow-parser";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";

const root = new URL("..", import.meta.url).pathname;

async function workflowFiles(): Promise<string[]> {
  const dirs = [".github/workflows", "examples/ci"];
  const files: string[] = [];
  for (const dir of dirs) {
    for (const f of await readdir(join(root, dir))) if (/\.ya?ml$/.test(f)) files.push(join(dir, f));
  }
  return files;
}

/** GitHub's own workflow schema (the parser the Actions service uses), errors as messages. */
function schemaErrors(name: string, content: string): string[] {
  const result = parseWorkflow({ name, content }, new NoOperationTraceWriter());
  return result.context.errors.getErrors().map((e) => e.message);
}

describe("GitHub workflows", () => {
  it("the schema check catches a broken workflow (so the checks below mean something)", () => {
    const broken = "on: push\njobs:\n  a:\n    runs-onn: ubuntu-latest\n    steps:\n      - run: echo\n";
    expect(schemaErrors("broken.yml", broken).join("\n")).toMatch(/runs-onn/);
  });

  it("every workflow and example validates against GitHub's workflow schema", async () => {
    const files = await workflowFiles();
    expect(files.length).toBeGreaterThanOrEqual(5);
    for (const file of files) {
      expect(schemaErrors(file, await readFile(join(root, file), "utf8")), file).toEqual([]);
    }
  });

  it("the example jobs sign in with OIDC federation, not stored cloud keys", async () => {
    for (const name of ["ec2-ips.yml", "azure-vm-ips.yml", "user-photos.yml"]) {
      const text = await readFile(join(root, "examples/ci", name), "utf8");
      const wf = parse(text) as { permissions: Record<string, string> };
      expect(wf.permissions["id-token"], name).toBe("write");
      expect(text, name).not.toMatch(/AWS_SECRET_ACCESS_KEY|client-secret|AZURE_CLIENT_SECRET/);
    }
  });

  it("the project CI runs the same steps as .ci/run", async () => {
    const ci = parse(await readFile(join(root, ".github/workflows/ci.yml"), "utf8")) as {
      jobs: Record<string, { steps: Array<{ run?: string }> }>;
    };
    const runs = Object.values(ci.jobs).flatMap((j) => j.steps.map((s) => s.run ?? ""));
    const script = await readFile(join(root, ".ci/run"), "utf8");
    for (const step of ["npm run build", "npm run lint", "npm run typecheck"]) {
      expect(script).toContain(step);
      expect(runs).toContain(step);
    }
  });

  it("the sharded inventory runs a matrix of every shard index, then merges them even when one failed", async () => {
    const wf = parse(await readFile(join(root, ".github/workflows/ec2-ips-sharded.yml"), "utf8")) as {
      jobs: Record<
        string,
        {
          needs?: string | string[];
          if?: string;
          strategy?: { "fail-fast": boolean; matrix: { index: number[] } };
          steps: Array<{ run?: string }>;
        }
      >;
    };
    const shard = wf.jobs.shard;
    const indexes = shard?.strategy?.matrix.index ?? [];
    expect(indexes).toEqual([...indexes.keys()]);
    expect(shard?.strategy?.["fail-fast"]).toBe(false);
    const run = shard?.steps.map((s) => s.run ?? "").join("\n") ?? "";
    expect(run).toContain(`--shard "\${{ matrix.index }}/${indexes.length}"`);
    expect(wf.jobs.merge?.needs).toBe("shard");
    expect(wf.jobs.merge?.if).toBe("always()");
    expect(wf.jobs.merge?.steps.map((s) => s.run ?? "").join("\n")).toMatch(
      /cloudadmin merge shards\/ec2-ips-shard-\*\.json/,
    );
  });
});
