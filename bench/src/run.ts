import { SCENARIOS } from "./scenarios/index.js";

/**
 * `npm run bench [-- <scenario> ...]`: runs the scenarios one after another and prints one JSON
 * line each on stdout (SPEC section 8). Progress goes to stderr. Exit 1 if a scenario throws.
 */
async function main(argv: string[]): Promise<number> {
  const wanted = argv.filter((a) => !a.startsWith("-"));
  const known = SCENARIOS.map((s) => s.name);
  for (const name of wanted) {
    if (!known.includes(name)) {
      process.stderr.write(`bench: unknown scenario '${name}' (known: ${known.join(", ") || "none yet"})\n`);
      return 2;
    }
  }
  const selected = wanted.length ? SCENARIOS.filter((s) => wanted.includes(s.name)) : SCENARIOS;
  const controller = new AbortController();
  process.once("SIGINT", () => controller.abort());
  let failed = 0;
  for (const scenario of selected) {
    process.stderr.write(`bench: ${scenario.name}: ${scenario.description}\n`);
    try {
      const result = await scenario.run({
        log: (m) => process.stderr.write(`bench: ${scenario.name}: ${m}\n`),
        signal: controller.signal,
      });
      process.stdout.write(`${JSON.stringify(result)}\n`);
    } catch (error) {
      failed++;
      process.stderr.write(`bench: ${scenario.name} failed: ${(error as Error).stack ?? String(error)}\n`);
    }
  }
  return failed ? 1 : 0;
}

process.exitCode = await main(process.argv.slice(2));
