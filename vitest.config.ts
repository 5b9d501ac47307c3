import { defineConfig } from "vitest/config";

// One run over every workspace package; each package can also run alone (`npm test -w <pkg>`).
export default defineConfig({
  test: {
    projects: ["packages/*", "apps/*", "bench", "tests"],
    // Two cores on the CI machine: keep forks few so simulator-heavy suites don't starve each other.
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
