import { ConfigError, UsageError } from "@cloudadmin/errors";
import { Option } from "commander";
import type { CommandModule } from "../command-module.js";
import { ExitCode } from "../exit-codes.js";
import { SIM_SCALES } from "../globals.js";

const SERVICES = ["aws", "arg", "graph", "zoom"] as const;
type Service = (typeof SERVICES)[number];

function parseServices(value: string | undefined): Service[] {
  if (value === undefined) return [...SERVICES];
  const list = value
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  for (const s of list) {
    if (!(SERVICES as readonly string[]).includes(s)) {
      throw new UsageError(`--services: unknown service '${s}' (choose from ${SERVICES.join(", ")})`);
    }
  }
  if (list.length === 0) throw new UsageError("--services needs at least one service");
  return list as Service[];
}

function parseNumber(
  value: unknown,
  flag: string,
  { min, max, integer }: { min: number; max: number; integer?: boolean },
): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n < min || n > max || (integer && !Number.isInteger(n))) {
    throw new UsageError(
      `${flag} must be ${integer ? "a whole number" : "a number"} from ${min} to ${max}, not '${String(value)}'`,
    );
  }
  return n;
}

/** Shell-quotes a value for an `export` line (values are ours, but paths may hold spaces). */
function shellQuote(value: string): string {
  return /^[\w@%+=:,./-]+$/.test(value) ? value : `'${value.replace(/'/g, "'\\''")}'`;
}

export const simCommand: CommandModule = {
  name: "sim",
  summary: "run the local cloud simulator (AWS, Resource Graph, Graph, Zoom) or print a dataset",
  configure(command) {
    command
      .command("serve")
      .description("start the simulators on loopback and print the variables that point cloudadmin at them")
      .option("--services <list>", `comma-separated services (${SERVICES.join(",")})`)
      .addOption(new Option("--scale <scale>", "generated dataset size").choices(SIM_SCALES).default("small"))
      .option("--seed <n>", "seed of the generated dataset", "1")
      .option("--dataset <file>", "serve this dataset (SPEC section 7) instead of a generated one")
      .option("--latency-ms <n>", "latency added to every answer", "0")
      .option(
        "--fault-rate <0..1>",
        "share of requests that fail (split between 5xx, resets and throttling)",
        "0",
      )
      .option("--port <n>", "HTTP port (HTTPS uses the next one)");
    command
      .command("dataset")
      .description("print a generated dataset as JSON")
      .addOption(new Option("--scale <scale>", "dataset size").choices(SIM_SCALES).default("small"))
      .option("--seed <n>", "seed", "1")
      .option("--services <list>", `comma-separated services (${SERVICES.join(",")})`);
    command.addHelpText(
      "after",
      "\nExamples:\n  cloudadmin sim serve --services aws --latency-ms 20\n  cloudadmin sim dataset --scale small --seed 7 > dataset.json\n",
    );
  },
  async run(ctx, subOptions, args) {
    const sub = args[0];
    if (sub !== "serve" && sub !== "dataset")
      throw new UsageError("sim needs a subcommand: serve or dataset");
    const sim = await import("@cloudadmin/cloud-sim");
    const seed = parseNumber(subOptions.seed, "--seed", { min: 0, max: 2 ** 32 - 1, integer: true }) ?? 1;
    const services = parseServices(subOptions.services as string | undefined);
    if (sub === "dataset") {
      const dataset = sim.generateDataset({ scale: subOptions.scale as "small" | "large", seed, services });
      const sink = await ctx.openOutput("application/json");
      try {
        // Streamed: a large dataset's text is over V8's maximum string length in one piece.
        const { JsonStreamStringify } = await import("json-stream-stringify");
        for await (const chunk of new JsonStreamStringify(dataset, undefined, 2)) {
          await sink.write(String(chunk));
        }
        await sink.write("\n");
        await sink.commit();
      } catch (error) {
        await sink.abort();
        throw error;
      }
      return ExitCode.ok;
    }
    // serve
    const latency = parseNumber(subOptions.latencyMs, "--latency-ms", { min: 0, max: 600_000 }) ?? 0;
    const faultRate = parseNumber(subOptions.faultRate, "--fault-rate", { min: 0, max: 1 }) ?? 0;
    const port = parseNumber(subOptions.port, "--port", { min: 1, max: 65534, integer: true });
    const dataset = subOptions.dataset
      ? await sim.loadDataset(String(subOptions.dataset))
      : sim.generateDataset({ scale: subOptions.scale as "small" | "large", seed, services });
    let running: Awaited<ReturnType<typeof sim.startSimulator>>;
    try {
      running = await sim.startSimulator({
        dataset,
        services,
        latency,
        seed,
        faults: { errorRate: faultRate / 3, resetRate: faultRate / 3, throttleRate: faultRate / 3 },
        ...(port === undefined ? {} : { port, httpsPort: port + 1 }),
      });
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === "EADDRINUSE" || code === "EACCES") {
        throw new ConfigError(
          `cannot listen on port ${port} or ${(port ?? 0) + 1} (${code}); choose another --port or leave it out`,
          { cause: error },
        );
      }
      throw error;
    }
    const { rm, writeFile } = await import("node:fs/promises");
    const { join } = await import("node:path");
    const { tmpdir } = await import("node:os");
    const caFile = join(tmpdir(), `cloudadmin-sim-ca-${process.pid}.pem`);
    await writeFile(caFile, running.ca, { mode: 0o644 });
    // The CA file is ours alone: removed when the simulator stops, however the command ends.
    ctx.onExit(() => rm(caFile, { force: true }));
    const env = { ...running.environment(), NODE_EXTRA_CA_CERTS: caFile };
    for (const [k, v] of Object.entries(env)) ctx.io.stdout.write(`export ${k}=${shellQuote(v)}\n`);
    ctx.log.info(
      `serving ${services.join(", ")} on ${running.httpUrl} and ${running.httpsUrl}; Ctrl-C to stop`,
    );
    await new Promise<void>((resolve) => {
      if (ctx.signal.aborted) resolve();
      ctx.signal.addEventListener("abort", () => resolve(), { once: true });
    });
    const stats = running.stats();
    await running.close();
    ctx.log.info(`stopped after ${stats.total} requests`);
    return ExitCode.ok;
  },
};
