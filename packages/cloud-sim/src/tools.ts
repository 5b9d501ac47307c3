import { accessSync, constants } from "node:fs";
import { delimiter, join } from "node:path";

/** The absolute path of an executable on PATH, or undefined. */
export function findTool(name: string, path: string = process.env.PATH ?? ""): string | undefined {
  for (const dir of path.split(delimiter)) {
    if (dir === "") continue;
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/**
 * Whether tests that need an external tool (a shell, Chromium, stress-ng) should run. Where the tool
 * is installed: yes. Where it is missing outside CI: no, and the reason is printed, so `npm test`
 * passes on a machine that has nothing installed by hand. Where it is missing in CI (`CI` set): yes,
 * so the tests fail, because `.ci/run` installs every tool and a missing one is a broken CI.
 *
 * @example
 * ```ts
 * it.runIf(needsTool("zsh"))("zsh parses the script", () => { ... });
 * ```
 */
export function needsTool(
  name: string,
  options: { env?: Record<string, string | undefined>; warn?: (line: string) => void } = {},
): boolean {
  const env = options.env ?? process.env;
  if (findTool(name, env.PATH ?? "") !== undefined) return true;
  if (env.CI) return true;
  (options.warn ?? console.warn)(
    `skipping the tests that need '${name}': it is not installed here (CI installs it; apt-get install ${name} to run them)`,
  );
  return false;
}

/** Headless Chromium for the browser tests and benchmarks: `CHROMIUM_PATH`, else the Debian package on PATH. */
export function findChromium(env: Record<string, string | undefined> = process.env): string | undefined {
  const path = env.PATH ?? "";
  return env.CHROMIUM_PATH || findTool("chromium", path) || findTool("chromium-browser", path);
}
