/**
 * Worker mode without a key trusts whoever can reach its loopback port. A browser on the same
 * machine can reach it too, on behalf of any web page: directly (a cross-site request, which
 * carries the page's `Origin`), or through DNS rebinding (the page's own name re-pointed at
 * 127.0.0.1, so the request is same-origin to the browser but carries the page's name in `Host`).
 * These checks refuse both: `Host` must name a loopback address or an allowed host, and so must
 * the `Origin` of a state-changing request.
 */

/** `localhost`, 127.0.0.0/8, `[::1]`: names no web page can make a browser resolve elsewhere. */
export function isLoopbackName(hostname: string): boolean {
  const name = hostname.toLowerCase();
  if (name === "localhost" || name === "[::1]") return true;
  const octets = /^127\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(name);
  return octets?.slice(1).every((octet) => Number(octet) <= 255) ?? false;
}

// `name` or `name:port`, the name a DNS name, an IPv4 address or a bracketed IPv6 address.
const HOST_HEADER = /^(\[[0-9a-f:.]+\]|[a-z0-9.-]+)(?::\d{1,5})?$/i;

/**
 * Whether a `Host` header names this worker: a loopback name or one of `allowed` (lowercase,
 * without port), on any port. A request without one (HTTP/1.0) passes: browsers always send it,
 * so its absence is not a browser acting for a web page.
 */
export function hostAllowed(host: string | undefined, allowed: readonly string[]): boolean {
  if (host === undefined) return true;
  const match = HOST_HEADER.exec(host.trim());
  if (!match) return false;
  const name = match[1]!.toLowerCase();
  return isLoopbackName(name) || allowed.includes(name);
}

/** Whether an `Origin` header names a page served from a loopback name or an allowed host. `null` (a sandboxed page, a file) does not. */
export function originAllowed(origin: string, allowed: readonly string[]): boolean {
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    return false;
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") return false;
  return isLoopbackName(url.hostname) || allowed.includes(url.hostname);
}
