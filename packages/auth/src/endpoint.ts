/**
 * The endpoint policy, defined here once for every library and front end: an endpoint is https, or
 * plain http only on a loopback address (emulators such as Azurite and our simulators). Anything
 * else is refused before a credential is requested or a request is signed, so a bearer token, a
 * SigV4 signature or a session token never crosses a network in clear text.
 *
 * Loopback means exactly these host forms, after WHATWG URL parsing (which already turns
 * `0x7f.1`, `2130706433` and `127.1` into dotted quads):
 * - an IPv4 literal in `127.0.0.0/8`;
 * - the IPv6 loopback `::1` (written `[::1]` in a URL);
 * - the name `localhost` (any case, with or without the trailing dot).
 *
 * Deliberately not loopback:
 * - `*.localhost` names: RFC 6761 reserves them, but whether they resolve to loopback depends on
 *   the resolver (`/etc/hosts`, a corporate DNS, a container's resolver), which the policy cannot see;
 * - IPv4-mapped IPv6 such as `::ffff:127.0.0.1`: no emulator needs it, and it is a classic way
 *   around host filters;
 * - any other name, even one that resolves to 127.0.0.1: the decision is made on what was written,
 *   never on what a resolver answers.
 */
import { ConfigError, UsageError } from "@cloudadmin/errors";

const IPV4_LOOPBACK = /^127\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

/** True for the loopback host forms listed above (`URL.hostname` or a bare host). */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.toLowerCase();
  if (host === "localhost" || host === "localhost.") return true;
  if (host === "[::1]" || host === "::1") return true;
  return (
    IPV4_LOOPBACK.exec(host)
      ?.slice(1)
      .every((part) => Number(part) <= 255) ?? false
  );
}

/** True when a URL may carry credentials: https anywhere, http only on loopback. */
export function isAllowedEndpoint(url: URL): boolean {
  if (url.protocol === "https:") return true;
  return url.protocol === "http:" && isLoopbackHost(url.hostname);
}

/**
 * Checks an endpoint against the policy and returns it parsed. `what` names it in the message
 * (`"the Resource Graph endpoint"`), in the library's own words.
 *
 * @throws UsageError (`ERR_USAGE`) when it is not an http(s) URL.
 * @throws ConfigError (`ERR_CONFIG`) for plain http to a host that is not loopback.
 *
 * @example
 * ```ts
 * const base = checkEndpoint(options.endpoint ?? "https://management.azure.com", "the Resource Graph endpoint");
 * ```
 */
export function checkEndpoint(value: string | URL, what: string): URL {
  let url: URL;
  try {
    url = typeof value === "string" ? new URL(value) : value;
  } catch {
    throw new UsageError(`${what} is not a URL: '${String(value).slice(0, 200)}'`);
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    throw new UsageError(`${what} must be an https URL, not '${url.protocol}'`);
  }
  if (url.username !== "" || url.password !== "") {
    throw new UsageError(`${what} must not carry a user name or password in the URL`);
  }
  if (!isAllowedEndpoint(url)) {
    throw new ConfigError(
      `${what} ${url.origin} uses plain http to a host that is not loopback; use https (plain http is allowed only for emulators on 127.0.0.0/8, [::1] or localhost)`,
    );
  }
  return url;
}
