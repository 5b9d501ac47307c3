import { chmodSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { findTool, needsTool } from "../src/index.js";

describe("needsTool", () => {
  const dir = mkdtempSync(join(tmpdir(), "tools-"));
  const tool = join(dir, "fake-shell");
  writeFileSync(tool, "#!/bin/sh\n");
  chmodSync(tool, 0o755);
  writeFileSync(join(dir, "not-executable"), "");

  it("finds executables on PATH only", () => {
    expect(findTool("fake-shell", dir)).toBe(tool);
    expect(findTool("not-executable", dir)).toBeUndefined();
    expect(findTool("fake-shell", "")).toBeUndefined();
  });

  it("runs where the tool is, skips with a reason outside CI, and runs (to fail) in CI", () => {
    const lines: string[] = [];
    const warn = (line: string) => lines.push(line);
    expect(needsTool("fake-shell", { env: { PATH: dir }, warn })).toBe(true);
    expect(lines).toEqual([]);
    expect(needsTool("zsh-missing", { env: { PATH: dir }, warn })).toBe(false);
    expect(lines[0]).toMatch(/skipping the tests that need 'zsh-missing'/);
    expect(needsTool("zsh-missing", { env: { PATH: dir, CI: "true" }, warn })).toBe(true);
  });
});
