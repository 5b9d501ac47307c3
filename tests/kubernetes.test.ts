import { readFile, readdir } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { CronJob } from "kubernetes-models/batch/v1/CronJob";
import { Job } from "kubernetes-models/batch/v1/Job";
import { ConfigMap } from "kubernetes-models/v1/ConfigMap";
import { Namespace } from "kubernetes-models/v1/Namespace";
import { ServiceAccount } from "kubernetes-models/v1/ServiceAccount";

const dir = new URL("../deploy/kubernetes/jobs/", import.meta.url).pathname;
const MODELS: Record<string, new (data: never) => { validate(): void }> = {
  CronJob: CronJob as never,
  Job: Job as never,
  ConfigMap: ConfigMap as never,
  Namespace: Namespace as never,
  ServiceAccount: ServiceAccount as never,
};

type Doc = { kind: string; metadata: { name: string }; spec?: Record<string, never> };

async function documents(): Promise<Array<{ file: string; doc: Doc }>> {
  const out: Array<{ file: string; doc: Doc }> = [];
  for (const file of (await readdir(dir)).filter((f) => f.endsWith(".yaml"))) {
    for (const d of parseAllDocuments(await readFile(join(dir, file), "utf8"))) {
      expect(d.errors, file).toEqual([]);
      out.push({ file, doc: d.toJS() as Doc });
    }
  }
  return out;
}

interface PodSpec {
  securityContext: { runAsNonRoot: boolean };
  containers: Array<{
    securityContext: { readOnlyRootFilesystem: boolean; allowPrivilegeEscalation: boolean };
  }>;
}
type PodTemplate = { template: { spec: PodSpec } };

function podSpec(doc: Doc): PodSpec {
  const spec = doc.spec as unknown as PodTemplate & { jobTemplate: { spec: PodTemplate } };
  return doc.kind === "CronJob" ? spec.jobTemplate.spec.template.spec : spec.template.spec;
}

describe("Kubernetes job manifests", () => {
  it("the validator rejects a broken CronJob (so the check below means something)", () => {
    const broken = new CronJob({ metadata: { name: "x" }, spec: { schedule: 5 } } as never);
    expect(() => broken.validate()).toThrow();
  });

  it("every document validates against the Kubernetes API schema", async () => {
    const docs = await documents();
    expect(docs.map((d) => d.doc.kind).sort()).toEqual(
      [
        "ConfigMap",
        "CronJob",
        "CronJob",
        "Job",
        "Job",
        "Job",
        "Namespace",
        "ServiceAccount",
        "ServiceAccount",
      ].sort(),
    );
    for (const { file, doc } of docs) {
      const Model = MODELS[doc.kind];
      expect(Model, `${file}: ${doc.kind}`).toBeDefined();
      expect(
        () => new Model!(doc as never).validate(),
        `${file}: ${doc.kind}/${doc.metadata.name}`,
      ).not.toThrow();
    }
  });

  it("the jobs run non-root, read-only, without stored cloud secrets", async () => {
    for (const { file, doc } of await documents()) {
      if (doc.kind !== "CronJob" && doc.kind !== "Job") continue;
      const pod = podSpec(doc);
      expect(pod.securityContext.runAsNonRoot, file).toBe(true);
      for (const c of pod.containers) {
        expect(c.securityContext.readOnlyRootFilesystem, file).toBe(true);
        expect(c.securityContext.allowPrivilegeEscalation, file).toBe(false);
        const text = JSON.stringify(c);
        expect(text, file).not.toMatch(/AWS_SECRET_ACCESS_KEY|AZURE_CLIENT_SECRET|secretKeyRef/);
      }
    }
  });

  it("the sharded inventories are Indexed Jobs whose completion index reaches --shard without a shell", async () => {
    const indexed = (await documents()).filter((d) => d.file.endsWith("-indexed-job.yaml"));
    expect(indexed.map((d) => d.file).sort()).toEqual([
      "azure-vm-ips-indexed-job.yaml",
      "ec2-ips-indexed-job.yaml",
    ]);
    for (const { file, doc } of indexed) {
      const spec = doc?.spec as unknown as {
        completionMode: string;
        completions: number;
        parallelism: number;
        template: {
          spec: {
            containers: Array<{
              command?: string[];
              args: string[];
              env: Array<{ name: string; valueFrom?: { fieldRef?: { fieldPath: string } } }>;
            }>;
          };
        };
      };
      expect(spec.completionMode).toBe("Indexed");
      expect(spec.parallelism).toBe(spec.completions);
      const [container] = spec.template.spec.containers;
      expect(container?.command).toBeUndefined();
      const args = container?.args ?? [];
      expect(args[0], file).toBe(file.replace("-indexed-job.yaml", ""));
      expect(args).toContain(`--shard=$(JOB_COMPLETION_INDEX)/${spec.completions}`);
      expect(args.find((a) => a.startsWith("--out="))).toMatch(
        /^--out=\$\(STORAGE_URL\)\/.*\$\(RUN_ID\).*\$\(JOB_COMPLETION_INDEX\).*\.json$/,
      );
      // $(VAR) expands only from variables the container declares (or the controller adds).
      const env = new Map(container?.env.map((e) => [e.name, e.valueFrom?.fieldRef?.fieldPath]));
      expect(env.get("JOB_COMPLETION_INDEX")).toBe(
        "metadata.annotations['batch.kubernetes.io/job-completion-index']",
      );
      expect(env.get("RUN_ID")).toBe("metadata.labels['batch.kubernetes.io/controller-uid']");
    }
  });
});
