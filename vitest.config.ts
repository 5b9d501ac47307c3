import { existsSync, readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { defineConfig } from "vitest/config";

// One run over every workspace package; each package can also run alone (`npm test -w <pkg>`).
// Projects are listed inline with `extends: true` so the shared settings below reach every one of
// them (a bare glob would give each package vitest's defaults). A package with its own
// vitest.config.ts keeps it.
const workspaces = ["packages", "apps"].flatMap((dir) => readdirSync(dir).map((name) => join(dir, name)));
workspaces.push("bench", "tests");
const projects = workspaces
  .filter((dir) => existsSync(join(dir, "package.json")))
  .map((dir) => {
    if (existsSync(join(dir, "vitest.config.ts"))) return dir;
    const { name } = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as { name: string };
    return { extends: true as const, test: { name, root: dir } };
  });

export default defineConfig({
  test: {
    projects,
    // Two cores on the CI machine: keep forks few so simulator-heavy suites don't starve each other.
    maxWorkers: 2,
    reporters: ["default", "./scripts/summary-reporter.ts"],
    testTimeout: 60_000,
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true" },
    hookTimeout: 60_000,
  },
});
