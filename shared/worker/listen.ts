import { createServer, type IncomingMessage, type RequestListener, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Duplex } from "node:stream";

export interface Listening {
  readonly port: number;
  /**
   * Stops accepting connections, lets the requests being handled finish (up to `graceMs`), then
   * closes every connection. A request cut off half-way would leave its client not knowing
   * whether its keys were enqueued, and its handler running on after the services it uses close.
   */
  close(graceMs?: number): Promise<void>;
}

/** A request listener; when it returns a promise, the request is in progress until that settles. */
export type Handler = (request: IncomingMessage, response: ServerResponse) => void | Promise<void>;

/** How long close() waits for requests in progress by default: longer than any enqueue takes. */
const CLOSE_GRACE_MS = 5000;

/**
 * Binds the API. `localhost` means both loopback addresses: clients resolve it to ::1 or
 * 127.0.0.1 depending on their platform, and `http://localhost:7071/api` must answer either way.
 * A machine without IPv6 gets the IPv4 listener alone.
 */
export async function listen(listener: Handler, host: string, port: number): Promise<Listening> {
  const addresses = host === "localhost" ? ["127.0.0.1", "::1"] : [host];
  const servers: Server[] = [];
  let boundPort = port;
  let inProgress = 0;
  // A request is in progress until its response has closed and its handler has settled. A client
  // that hangs up mid-request closes the response at once while the handler still awaits Redis;
  // counting the response alone let close() return then, and the services were shut under it
  // (seen as "redis circuit open: Connection is closed" when a load generator stopped).
  const counted: RequestListener = (request, response) => {
    inProgress++;
    let pending = 2;
    const settled = () => {
      if (--pending === 0) inProgress--;
    };
    response.once("close", settled);
    Promise.resolve(listener(request, response)).then(settled, settled);
  };
  for (const [i, address] of addresses.entries()) {
    const server = createServer(counted);
    server.keepAliveTimeout = 65_000;
    server.on("clientError", answerMalformed);
    try {
      await new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        server.listen(boundPort, address, resolve);
      });
    } catch (error) {
      const optionalIpv6 =
        i > 0 && ["EADDRNOTAVAIL", "EAFNOSUPPORT"].includes((error as NodeJS.ErrnoException).code ?? "");
      if (optionalIpv6) continue;
      await closeServers(servers, () => 0, 0);
      throw error;
    }
    // Port 0 picks a free port on the first address; the others must use the same one.
    boundPort = (server.address() as AddressInfo).port;
    servers.push(server);
  }
  return { port: boundPort, close: (graceMs = CLOSE_GRACE_MS) => closeServers(servers, () => inProgress, graceMs) };
}

async function closeServers(servers: readonly Server[], inProgress: () => number, graceMs: number): Promise<void> {
  const closed = servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve())));
  const deadline = Date.now() + graceMs;
  // A keep-alive connection between two requests is idle: closed at once, and again after each
  // answer, so a client that keeps sending gets no new request in past the close.
  for (;;) {
    for (const server of servers) server.closeIdleConnections();
    if (inProgress() === 0 || Date.now() >= deadline) break;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  for (const server of servers) server.closeAllConnections();
  await Promise.all(closed);
}

/**
 * A request Node's HTTP parser cannot read (a garbled request line, bad header characters, a
 * wrong content-length) never reaches the routes. It gets the same kind of answer they give:
 * a 4xx with a JSON error code, then the connection is closed.
 */
function answerMalformed(error: NodeJS.ErrnoException, socket: Duplex): void {
  if (error.code === "ECONNRESET" || !socket.writable) {
    socket.destroy();
    return;
  }
  const [status, code, reason] =
    error.code === "HPE_HEADER_OVERFLOW"
      ? [431, "headers_too_large", "Request Header Fields Too Large"]
      : [400, "bad_request", "Bad Request"];
  const body = JSON.stringify({ error: { code, message: "the request is not valid HTTP" } });
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\ncontent-type: application/json; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
  );
}
