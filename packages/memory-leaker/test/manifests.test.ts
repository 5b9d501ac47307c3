import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Deployment } from "kubernetes-models/apps/v1";
import { Namespace, Pod, Service } from "kubernetes-models/v1";
import { describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";

const DIR = fileURLToPath(new URL("../../../deploy/kubernetes/leak-memory/", import.meta.url));
const files = readdirSync(DIR)
  .filter((f) => f.endsWith(".yaml"))
  .sort();

type Doc = Record<string, unknown> & {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string };
};
interface Container {
  name: string;
  image: string;
  args: string[];
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  securityContext?: Record<string, unknown>;
}
interface PodSpec {
  restartPolicy?: string;
  nodeSelector?: Record<string, string>;
  securityContext?: Record<string, unknown>;
  containers: Container[];
}

const MODELS: Record<string, new (data: never) => { validate(): void }> = {
  "v1/Namespace": Namespace,
  "v1/Pod": Pod,
  "v1/Service": Service,
  "apps/v1/Deployment": Deployment,
};

function load(file: string): Doc[] {
  return parseAllDocuments(readFileSync(`${DIR}${file}`, "utf8")).map((doc) => {
    expect(doc.errors, file).toEqual([]);
    return doc.toJS() as Doc;
  });
}

function podSpec(doc: Doc): PodSpec {
  if (doc.kind === "Pod") return doc.spec as PodSpec;
  return (doc.spec as { template: { spec: PodSpec } }).template.spec;
}

/** The flag values of a leak-memory container's args. */
function flag(args: string[], ...names: string[]): string | undefined {
  const i = args.findIndex((a) => names.includes(a));
  return i < 0 ? undefined : args[i + 1];
}

const KNOWN_FLAGS = new Set([
  "-m",
  "--block-mb",
  "-f",
  "--fill",
  "-x",
  "--max-mb",
  "-e",
  "--delay-ms",
  "-b",
  "--pause",
  "-p",
  "--print-every",
  "--target",
  "--ramp",
  "--hold",
  "--after-hold",
  "--on-alloc-failure",
  "--oom-score-adj",
  "--metrics-port",
  "--sample-interval",
  "--touch",
  "--json",
  "--no-huge-pages",
]);

describe("deploy/kubernetes/leak-memory manifests", () => {
  it("holds the namespace and the four scenarios", () => {
    expect(files).toEqual([
      "00-namespace.yaml",
      "01-oom-killed.yaml",
      "02-evicted.yaml",
      "03-kernel-oom.yaml",
      "04-target-90.yaml",
    ]);
  });

  it("the validator rejects a broken pod (so the checks below mean something)", () => {
    const broken = {
      metadata: { name: "x" },
      spec: { restartPolicy: "Sometimes", containers: [{ image: "i" }] },
    };
    expect(() => new Pod(broken as never).validate()).toThrow(/restartPolicy|name/);
  });

  for (const file of files) {
    it(`${file} validates against the Kubernetes schemas (kubernetes-models)`, () => {
      const docs = load(file);
      expect(docs.length).toBeGreaterThan(0);
      for (const doc of docs) {
        const Model = MODELS[`${doc.apiVersion}/${doc.kind}`];
        expect(Model, `${doc.apiVersion} ${doc.kind}`).toBeDefined();
        expect(() => new Model!(doc as never).validate()).not.toThrow();
        if (doc.kind !== "Namespace") expect(doc.metadata.namespace).toBe("leak-demo");
        if (doc.kind !== "Pod" && doc.kind !== "Deployment") continue;
        const spec = podSpec(doc);
        // Non-root, as the image is built (uid 65532), and locked down.
        expect(spec.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 65532 });
        for (const container of spec.containers) {
          expect(container.image).toBe("cloudadmin:dev");
          expect(container.args[0]).toBe("leak-memory");
          for (const arg of container.args.slice(1)) {
            if (arg.startsWith("-") && !/^-\d/.test(arg))
              expect(KNOWN_FLAGS, `${file}: ${arg}`).toContain(arg);
          }
          expect(container.securityContext).toMatchObject({
            allowPrivilegeEscalation: false,
            readOnlyRootFilesystem: true,
            capabilities: { drop: ["ALL"] },
          });
          for (const quantity of Object.values({
            ...container.resources?.requests,
            ...container.resources?.limits,
          })) {
            expect(quantity).toMatch(/^\d+(m|Mi|Gi)?$/);
          }
        }
      }
    });
  }

  it("scenario 1 grows without a cap past a 200Mi limit and is restarted", () => {
    const [pod] = load("01-oom-killed.yaml");
    const spec = podSpec(pod!);
    const c = spec.containers[0]!;
    expect(spec.restartPolicy).toBe("Always");
    expect(c.resources?.limits?.memory).toBe("200Mi");
    expect(flag(c.args, "-x", "--max-mb")).toBe("0");
    expect(flag(c.args, "-f", "--fill")).toBe("1");
  });

  it("scenario 2 ramps slowly above its request with no limit, on the labelled node", () => {
    const [deployment] = load("02-evicted.yaml");
    const spec = podSpec(deployment!);
    const c = spec.containers[0]!;
    expect(spec.nodeSelector).toEqual({ "cloudadmin.io/leak-demo": "true" });
    expect(c.resources?.limits).toBeUndefined();
    expect(c.resources?.requests?.memory).toBe("64Mi");
    expect(Number(flag(c.args, "-e", "--delay-ms"))).toBeGreaterThanOrEqual(1000);
  });

  it("scenario 3 is BestEffort, fast, the OOM victim, never restarted", () => {
    const [pod] = load("03-kernel-oom.yaml");
    const spec = podSpec(pod!);
    const c = spec.containers[0]!;
    expect(spec.restartPolicy).toBe("Never");
    expect(c.resources).toBeUndefined();
    expect(flag(c.args, "-e", "--delay-ms")).toBe("0");
    expect(flag(c.args, "--oom-score-adj")).toBe("1000");
  });

  it("scenario 4 is Guaranteed, targets 90% of its limit and serves metrics on the probed port", () => {
    const [deployment, service] = load("04-target-90.yaml");
    const c = podSpec(deployment!).containers[0]! as Container & {
      ports: Array<{ containerPort: number }>;
      readinessProbe: { httpGet: { path: string } };
    };
    expect(c.resources?.requests).toEqual(c.resources?.limits);
    expect(flag(c.args, "--target")).toBe("90%");
    expect(flag(c.args, "--metrics-port")).toBe(String(c.ports[0]!.containerPort));
    expect(c.readinessProbe.httpGet.path).toBe("/metrics");
    expect(service?.kind).toBe("Service");
  });

  it("the README has a section for each scenario, naming its file", () => {
    const readme = readFileSync(`${DIR}README.md`, "utf8");
    for (const file of files.slice(1)) {
      expect(readme).toMatch(new RegExp(`^## \\d\\. .*\\(\`${file.replace(".", "\\.")}\`\\)$`, "m"));
      expect(readme).toContain(`kubectl apply -f deploy/kubernetes/leak-memory/${file}`);
    }
  });
});
