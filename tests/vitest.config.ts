import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    name: "@cloudadmin/repo-tests",
    include: ["*.test.ts"],
    testTimeout: 120_000,
    hookTimeout: 60_000,
    // @actions/workflow-parser imports its JSON schema without an import attribute, which Node
    // refuses; let Vite transform it instead.
    server: { deps: { inline: ["@actions/workflow-parser"] } },
  },
});
