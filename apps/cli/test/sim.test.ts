import { createServer } from "node:net";
import { existsSync } from "node:fs";
import { generateDataset } from "@cloudadmin/cloud-sim";
import { describe, expect, it } from "vitest";
import { runCli } from "./helpers.js";

describe("cloudadmin sim", () => {
  it("streams a dataset in pieces (a large one is over V8's longest string), equal to the generated one", async () => {
    let writes = 0;
    const r = await runCli(["sim", "dataset", "--scale", "small", "--seed", "3"], {
      onStdout: () => {
        writes += 1;
      },
    });
    expect(r.code, r.stderr).toBe(0);
    expect(writes).toBeGreaterThan(10);
    expect(JSON.parse(r.stdout)).toEqual(
      JSON.parse(
        JSON.stringify(
          generateDataset({ scale: "small", seed: 3, services: ["aws", "arg", "graph", "zoom"] }),
        ),
      ),
    );
  });

  it("sim serve on a port in use exits 3 with one line", async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, "127.0.0.1", resolve));
    const port = (blocker.address() as { port: number }).port;
    try {
      const r = await runCli(["sim", "serve", "--services", "zoom", "--port", String(port)]);
      expect(r.code).toBe(3);
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
      expect(r.stderr).toMatch(/cannot listen on port \d+ .*EADDRINUSE/);
    } finally {
      blocker.close();
    }
  });

  it("sim serve removes its CA file when it stops", async () => {
    const stop = new AbortController();
    let caFile: string | undefined;
    const r = await runCli(["sim", "serve", "--services", "zoom"], {
      signal: stop.signal,
      onStdout: (text) => {
        caFile ??= /NODE_EXTRA_CA_CERTS='?([^'\n]+)'?/.exec(text)?.[1];
        if (caFile && existsSync(caFile)) stop.abort();
      },
    });
    expect(caFile).toBeDefined();
    expect(r.stdout).toContain("export NODE_EXTRA_CA_CERTS=");
    expect(existsSync(caFile as string)).toBe(false);
  });
});
