import { ConfigError, UsageError } from "@cloudadmin/errors";

const LOOPBACK_HOSTS = new Set(["localhost", "[::1]", "::1"]);

export function isLoopbackHost(hostname: string): boolean {
  return LOOPBACK_HOSTS.has(hostname) || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(hostname);
}

/**
 * Checks an endpoint override (SPEC section 3): https anywhere; plain http only on loopback, for
 * emulators. Anything else is refused before a credential could be sent in the clear.
 */
export function checkEndpoint(value: string, what: string): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new UsageError(`${what} is not a URL: '${value}'`);
  }
  if (url.protocol === "https:") return url;
  if (url.protocol === "http:") {
    if (isLoopbackHost(url.hostname)) return url;
    throw new ConfigError(
      `${what} ${url.origin} uses plain http to a non-loopback host; use https (plain http is allowed only for emulators on 127.0.0.1, ::1 or localhost)`,
    );
  }
  throw new UsageError(`${what} must be an https URL, not '${url.protocol}'`);
}
