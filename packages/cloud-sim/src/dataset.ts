import { readFile } from "node:fs/promises";
import { InvalidInputError } from "@cloudadmin/errors";
import { Ajv, type ErrorObject } from "ajv";
import { createRng } from "./rng.js";
import type { Scale } from "./scale.js";
import type { AzureDataset } from "./services/arg/index.js";
import type { AwsDataset } from "./services/aws/index.js";
import type { DatasetProblem } from "./services/definition.js";
import type { GraphDataset } from "./services/graph/index.js";
import { SERVICE_DEFINITIONS } from "./services/registry.js";
import type { ZoomDataset } from "./services/zoom/index.js";
import { SERVICE_NAMES, type ServiceName } from "./types.js";

/** A simulator dataset (SPEC section 7): every key optional, unknown keys an error. */
export interface Dataset {
  aws?: AwsDataset;
  azure?: AzureDataset;
  graph?: GraphDataset;
  zoom?: ZoomDataset;
}

type DatasetKey = keyof Dataset;

function datasetSchema(): Record<string, unknown> {
  const properties: Record<string, unknown> = {};
  for (const def of Object.values(SERVICE_DEFINITIONS)) properties[def.datasetKey] = def.schema;
  return { type: "object", properties, additionalProperties: false };
}

let compiled: ReturnType<Ajv["compile"]> | undefined;

/** `/aws/accounts/3/Id` -> `$.aws.accounts[3].Id` */
export function pointerToPath(pointer: string): string {
  let path = "$";
  for (const raw of pointer.split("/").slice(1)) {
    const part = raw.replace(/~1/g, "/").replace(/~0/g, "~");
    path += /^\d+$/.test(part)
      ? `[${part}]`
      : /^[A-Za-z_$][\w$]*$/.test(part)
        ? `.${part}`
        : `[${JSON.stringify(part)}]`;
  }
  return path;
}

function describeAjvError(e: ErrorObject): DatasetProblem {
  let path = pointerToPath(e.instancePath);
  let message = e.message ?? "is invalid";
  if (e.keyword === "additionalProperties") {
    const extra = (e.params as { additionalProperty: string }).additionalProperty;
    path = pointerToPath(`${e.instancePath}/${extra.replace(/~/g, "~0").replace(/\//g, "~1")}`);
    message = "is not a known key";
  } else if (e.keyword === "enum") {
    message = `must be one of ${(e.params as { allowedValues: unknown[] }).allowedValues.map((v) => JSON.stringify(v)).join(", ")}`;
  }
  return { path, message };
}

/** Every problem in a dataset value: schema violations first, then each service's own checks. */
export function findDatasetProblems(value: unknown): DatasetProblem[] {
  compiled ??= new Ajv({ allErrors: true, strict: false }).compile(datasetSchema());
  if (!compiled(value)) return (compiled.errors ?? []).map(describeAjvError);
  const dataset = value as Dataset;
  const problems: DatasetProblem[] = [];
  for (const def of Object.values(SERVICE_DEFINITIONS)) {
    const section = dataset[def.datasetKey as DatasetKey];
    if (section !== undefined && def.check) problems.push(...def.check(section));
  }
  return problems;
}

/** Validates a dataset value; throws `ERR_INVALID_DATASET` naming the first bad JSON path. */
export function validateDataset(value: unknown, source = "dataset"): Dataset {
  const problems = findDatasetProblems(value);
  const first = problems[0];
  if (first) {
    const more = problems.length > 1 ? ` (and ${problems.length - 1} more)` : "";
    throw new InvalidInputError(`${source}: ${first.path} ${first.message}${more}`, {
      code: "ERR_INVALID_DATASET",
    });
  }
  return value as Dataset;
}

/** Reads and validates a dataset file. */
export async function loadDataset(file: string): Promise<Dataset> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (cause) {
    throw new InvalidInputError(`cannot read dataset ${file}: ${(cause as Error).message}`, {
      code: "ERR_INVALID_DATASET",
      cause,
    });
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (cause) {
    throw new InvalidInputError(`dataset ${file} is not valid JSON: ${(cause as Error).message}`, {
      code: "ERR_INVALID_DATASET",
      cause,
    });
  }
  return validateDataset(value, file);
}

export interface GenerateDatasetOptions {
  scale: Scale;
  seed: number;
  /** Services to generate sections for (default: all). */
  services?: readonly ServiceName[];
}

/** A seeded dataset: the same scale and seed always give the same dataset. */
export function generateDataset(options: GenerateDatasetOptions): Dataset {
  const root = createRng(options.seed);
  const dataset: Record<string, unknown> = {};
  for (const name of options.services ?? SERVICE_NAMES) {
    const def = SERVICE_DEFINITIONS[name];
    dataset[def.datasetKey] = def.generate(root.fork(name), options.scale);
  }
  return dataset as Dataset;
}
