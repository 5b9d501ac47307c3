import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";

/** A temporary directory tree: `write("proc/self/cgroup", "...")` creates parents as needed. */
export interface FixtureTree {
  root: string;
  proc: string;
  sys: string;
  write(path: string, content: string | Buffer): void;
  remove(): void;
}

export function fixtureTree(files: Record<string, string | Buffer> = {}): FixtureTree {
  const root = mkdtempSync(join(tmpdir(), "leaker-fixture-"));
  const write = (path: string, content: string | Buffer): void => {
    const full = join(root, path);
    mkdirSync(dirname(full), { recursive: true });
    writeFileSync(full, content);
  };
  for (const [path, content] of Object.entries(files)) write(path, content);
  return {
    root,
    proc: join(root, "proc"),
    sys: join(root, "sys"),
    write,
    remove: () => rmSync(root, { recursive: true, force: true }),
  };
}

export const MiB = 2 ** 20;

/** A cgroup v1 memory directory's files, as the kernel writes them. */
export function v1Files(
  dir: string,
  values: {
    limit?: number;
    usage?: number;
    inactiveFile?: number;
    hierarchicalLimit?: number;
    oomKill?: number;
  },
): Record<string, string> {
  const unlimited = "9223372036854771712";
  const out: Record<string, string> = {
    [`${dir}/memory.limit_in_bytes`]: `${values.limit ?? unlimited}\n`,
  };
  if (values.usage !== undefined) {
    out[`${dir}/memory.usage_in_bytes`] = `${values.usage}\n`;
    out[`${dir}/memory.stat`] = [
      "cache 4096",
      "rss 1000000",
      `inactive_file ${Math.floor((values.inactiveFile ?? 0) / 2)}`,
      `hierarchical_memory_limit ${values.hierarchicalLimit ?? unlimited}`,
      "total_cache 4096",
      `total_inactive_file ${values.inactiveFile ?? 0}`,
      "total_active_file 0",
      "",
    ].join("\n");
    out[`${dir}/memory.oom_control`] = `oom_kill_disable 0\nunder_oom 0\noom_kill ${values.oomKill ?? 0}\n`;
  }
  return out;
}

/** A cgroup v2 directory's memory files. */
export function v2Files(
  dir: string,
  values: { max?: number; current?: number; inactiveFile?: number; oom?: number; oomKill?: number },
): Record<string, string> {
  const out: Record<string, string> = { [`${dir}/memory.max`]: `${values.max ?? "max"}\n` };
  if (values.current !== undefined) {
    out[`${dir}/memory.current`] = `${values.current}\n`;
    out[`${dir}/memory.stat`] =
      `anon 1000000\nfile 8192\nactive_file 0\ninactive_file ${values.inactiveFile ?? 0}\n`;
    out[`${dir}/memory.events`] =
      `low 0\nhigh 0\nmax 12\noom ${values.oom ?? 0}\noom_kill ${values.oomKill ?? 0}\noom_group_kill 0\n`;
  }
  return out;
}
