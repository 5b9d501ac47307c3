import type { Clock } from "../clock.js";
import type { Rng } from "../rng.js";
import type { Scale } from "../scale.js";
import type { ServiceName, SimService } from "../types.js";

export interface DatasetProblem {
  /** JSON path from the dataset root, as `$.aws.accounts[3].Id`. */
  path: string;
  message: string;
}

export interface ServiceCreateOptions {
  clock: Clock;
  rng: Rng;
}

/**
 * Everything the simulator core needs to know about one service: its dataset section (schema,
 * semantic checks, generator) and how to build its request handler.
 */
export interface ServiceDefinition<Section> {
  readonly name: ServiceName;
  /** The dataset's top-level key for this service (`azure` for the ARG service). */
  readonly datasetKey: "aws" | "azure" | "graph" | "zoom";
  /** JSON Schema (draft 2020-12 subset that ajv supports) of the section. */
  readonly schema: Record<string, unknown>;
  /** Checks the schema cannot express (references between parts, duplicates). */
  check?(section: Section): DatasetProblem[];
  /** A seeded dataset section at `scale`. */
  generate(rng: Rng, scale: Scale): Section;
  /** The service over a dataset section (an empty one when the dataset has none). */
  create(section: Section | undefined, options: ServiceCreateOptions): SimService;
}
