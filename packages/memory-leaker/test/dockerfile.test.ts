import { existsSync, readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { validate } from "dockerfile-utils";
import { describe, expect, it } from "vitest";

// No Docker engine runs where these tests run, so the image is not built here: the Dockerfile is
// linted (dockerfile-utils, the VS Code Docker language server's validator) and checked for what
// the image promises. The build steps themselves were run by hand outside Docker (see the README).
const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const text = readFileSync(`${ROOT}Dockerfile`, "utf8");

interface Instruction {
  keyword: string;
  args: string;
}

/** Instructions with continuation lines joined and comments dropped. */
function instructions(source: string): Instruction[] {
  const out: Instruction[] = [];
  let pending = "";
  for (const raw of source.split("\n")) {
    const line = raw.trim();
    if (pending === "" && (line === "" || line.startsWith("#"))) continue;
    if (line.startsWith("#")) continue;
    pending += `${line.endsWith("\\") ? line.slice(0, -1) : line} `;
    if (line.endsWith("\\")) continue;
    const [keyword = "", ...rest] = pending.trim().split(/\s+/);
    out.push({ keyword: keyword.toUpperCase(), args: rest.join(" ") });
    pending = "";
  }
  return out;
}

const all = instructions(text);
const stages = all.filter((i) => i.keyword === "FROM");
const finalStage = all.slice(all.lastIndexOf(stages.at(-1)!));

describe("Dockerfile", () => {
  it("passes the Dockerfile validator with no error or warning", () => {
    expect(validate(text).map((d) => `${d.range.start.line + 1}: ${d.message}`)).toEqual([]);
  });

  it("is multi-stage, and every COPY --from names an earlier stage", () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    const names: string[] = [];
    for (const instruction of all) {
      if (instruction.keyword === "FROM") {
        const name = / AS (\S+)$/i.exec(instruction.args)?.[1];
        if (name) names.push(name);
      }
      const from = /--from=(\S+)/.exec(instruction.args)?.[1];
      if (instruction.keyword === "COPY" && from !== undefined) expect(names).toContain(from);
    }
  });

  it("runs the CLI as a numeric non-root user, with cloudadmin as the entrypoint", () => {
    const user = finalStage.filter((i) => i.keyword === "USER").at(-1);
    expect(user?.args).toMatch(/^[1-9]\d*(:\d+)?$/);
    const entrypoint = finalStage.find((i) => i.keyword === "ENTRYPOINT");
    const argv = JSON.parse(entrypoint!.args) as string[];
    expect(argv.at(-1)).toBe("/app/apps/cli/dist/bin.js");
    // The runtime stage takes the CLI, its packages (with the native helper) and node_modules.
    const copied = finalStage.filter((i) => i.keyword === "COPY").map((i) => i.args);
    for (const path of ["/src/node_modules", "/src/packages", "/src/apps/cli"]) {
      expect(
        copied.some((args) => args.includes(path)),
        path,
      ).toBe(true);
    }
  });

  it("copies every workspace's package.json before npm ci (a new package must be added there)", () => {
    const workspaces = (JSON.parse(readFileSync(`${ROOT}package.json`, "utf8")) as { workspaces: string[] })
      .workspaces;
    const dirs = workspaces.flatMap((pattern) =>
      pattern.endsWith("/*")
        ? readdirSync(`${ROOT}${pattern.slice(0, -2)}`).map((d) => `${pattern.slice(0, -2)}/${d}`)
        : [pattern],
    );
    const beforeInstall = all.slice(
      0,
      all.findIndex((i) => i.keyword === "RUN" && i.args.includes("npm ci")),
    );
    const copiedManifests = beforeInstall.filter((i) => i.keyword === "COPY").map((i) => i.args);
    for (const dir of dirs.filter((d) => existsSync(`${ROOT}${d}/package.json`))) {
      expect(
        copiedManifests.some((args) => args.split(/\s+/).includes(`${dir}/package.json`)),
        `${dir}/package.json`,
      ).toBe(true);
    }
    // The native helper's sources too: npm ci builds it.
    expect(copiedManifests.join(" ")).toContain("packages/memory-leaker/binding.gyp");
    expect(copiedManifests.join(" ")).toContain("packages/memory-leaker/native");
  });

  it("keeps dependencies and build outputs out of the build context", () => {
    const ignored = readFileSync(`${ROOT}.dockerignore`, "utf8").split("\n");
    for (const pattern of ["**/node_modules", "**/dist", "packages/memory-leaker/build", ".git"]) {
      expect(ignored).toContain(pattern);
    }
  });
});
