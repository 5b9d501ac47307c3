import { execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { needsTool } from "@cloudadmin/cloud-sim";
import { describe, expect, it } from "vitest";
import { runCli } from "./helpers.js";

// .ci/run installs zsh and fish, so these run in CI (and fail there if a shell is missing); elsewhere a
// test whose shell is missing is skipped with a printed reason.
const dir = mkdtempSync(join(tmpdir(), "completion-"));

async function script(shell: string): Promise<string> {
  const r = await runCli(["completion", shell]);
  expect(r.code, r.stderr).toBe(0);
  const file = join(dir, `cloudadmin.${shell}`);
  writeFileSync(file, r.stdout);
  return file;
}

function bashComplete(file: string, line: string): string[] {
  const words = line.split(" ");
  const cmd = `source ${file}; COMP_WORDS=(${words.map((w) => `'${w}'`).join(" ")}); COMP_CWORD=${words.length - 1}; _cloudadmin; printf '%s\\n' "\${COMPREPLY[@]}"`;
  return execFileSync("bash", ["-c", cmd], { encoding: "utf8", cwd: dir }).split("\n").filter(Boolean);
}

describe("cloudadmin completion", () => {
  it.runIf(needsTool("bash"))("bash completes commands, subcommands, flags and choices", async () => {
    const file = await script("bash");
    expect(bashComplete(file, "cloudadmin s")).toContain("sim");
    expect(bashComplete(file, "cloudadmin sim ")).toEqual(expect.arrayContaining(["serve", "dataset"]));
    expect(bashComplete(file, "cloudadmin sim serve --")).toEqual(
      expect.arrayContaining(["--latency-ms", "--services", "--output"]),
    );
    expect(bashComplete(file, "cloudadmin -o ")).toEqual(["table", "json", "ndjson", "csv"]);
    expect(bashComplete(file, "cloudadmin sim dataset --scale l")).toEqual(["large"]);
  });

  it.runIf(needsTool("fish"))("fish completes subcommands and choices", async () => {
    const file = await script("fish");
    const complete = (line: string) =>
      execFileSync("fish", ["-c", `source ${file}; complete -C '${line}'`], { encoding: "utf8" });
    expect(complete("cloudadmin si")).toMatch(/^sim\t/m);
    expect(complete("cloudadmin sim ")).toMatch(/^serve\t/m);
    expect(complete("cloudadmin --output ")).toMatch(/^ndjson\t/m);
  });

  it.runIf(needsTool("zsh"))("zsh script parses and names every command", async () => {
    const file = await script("zsh");
    execFileSync("zsh", ["-n", file]);
    const text = await import("node:fs").then((fs) => fs.readFileSync(file, "utf8"));
    expect(text).toMatch(/^#compdef cloudadmin/);
    expect(text).toContain("'sim:");
    expect(text).toContain("_cloudadmin_sim_serve()");
  });

  it("an unknown shell exits 2", async () => {
    const r = await runCli(["completion", "powershell"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/unknown shell 'powershell'/);
  });
});
