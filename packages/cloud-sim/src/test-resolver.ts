import { createRequire } from "node:module";
import { isIP } from "node:net";

// The module object itself (what Node's net and every http client use at connect time), not a
// read-only ESM namespace, so a replaced `lookup` is the one they call.
const dns = createRequire(import.meta.url)("node:dns") as { lookup: (...args: unknown[]) => void };

/**
 * A test-only resolver for endpoint-policy tests: names under `.example.test` (RFC 2606 reserves
 * `.test`) resolve to 127.0.0.1, where the test's listener counts what reaches it; every other name
 * fails with ENOTFOUND (`localhost` and IP literals resolve as usual), so nothing a test sends can
 * leave the machine even if an SDK resolved an endpoint the test did not expect.
 *
 * Replaces `dns.lookup` for the whole process until the returned function is called.
 *
 * @example
 * ```ts
 * const restore = resolveTestNamesToLoopback();
 * try { expect(() => listVmIps({ endpoint: `http://arm.example.test:${port}` })).toThrow(); }
 * finally { restore(); }
 * ```
 */
export function resolveTestNamesToLoopback(): () => void {
  const real = dns.lookup;
  dns.lookup = (host: unknown, options: unknown, callback?: unknown) => {
    const cb = (typeof options === "function" ? options : callback) as (...args: unknown[]) => void;
    const name = String(host);
    if (isIP(name) !== 0 || name === "localhost") return real(host, options, callback);
    const all = typeof options === "object" && options !== null && (options as { all?: boolean }).all;
    if (name.endsWith(".example.test")) {
      return all ? cb(null, [{ address: "127.0.0.1", family: 4 }]) : cb(null, "127.0.0.1", 4);
    }
    return cb(
      Object.assign(new Error(`getaddrinfo ENOTFOUND ${name} (test resolver)`), { code: "ENOTFOUND" }),
    );
  };
  return () => {
    dns.lookup = real;
  };
}

/** A loopback listener behind {@link resolveTestNamesToLoopback}: what reaches it is counted. */
export interface TrapListener {
  port: number;
  /** Connections and requests that reached the listener so far. */
  received(): number;
  /** Closes the listener and restores the real resolver. */
  close(): Promise<void>;
}

/**
 * Starts a listener on 127.0.0.1 that counts every connection and request (answering `body` as JSON),
 * and installs the test-only resolver, so `http://<name>.example.test:<port>` reaches it. An endpoint
 * policy test then proves that a refused name sends nothing: `received()` stays where it was.
 */
export async function startTrapListener(body: unknown = {}): Promise<TrapListener> {
  const { createServer } = await import("node:http");
  let received = 0;
  const server = createServer((_req, res) => {
    received++;
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify(body));
  });
  server.on("connection", () => received++);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const restore = resolveTestNamesToLoopback();
  return {
    port: (server.address() as { port: number }).port,
    received: () => received,
    close: async () => {
      restore();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
