import { createServer, type RequestListener, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Duplex } from "node:stream";

export interface Listening {
  readonly port: number;
  close(): Promise<void>;
}

/**
 * Binds the API. `localhost` means both loopback addresses: clients resolve it to ::1 or
 * 127.0.0.1 depending on their platform, and `http://localhost:7071/api` must answer either way.
 * A machine without IPv6 gets the IPv4 listener alone.
 */
export async function listen(listener: RequestListener, host: string, port: number): Promise<Listening> {
  const addresses = host === "localhost" ? ["127.0.0.1", "::1"] : [host];
  const servers: Server[] = [];
  let boundPort = port;
  for (const [i, address] of addresses.entries()) {
    const server = createServer(listener);
    server.keepAliveTimeout = 65_000;
    server.on("clientError", answerMalformed);
    try {
      await new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        server.listen(boundPort, address, resolve);
      });
    } catch (error) {
      const optionalIpv6 = i > 0 && ["EADDRNOTAVAIL", "EAFNOSUPPORT"].includes((error as NodeJS.ErrnoException).code ?? "");
      if (optionalIpv6) continue;
      await Promise.all(servers.map(closeServer));
      throw error;
    }
    // Port 0 picks a free port on the first address; the others must use the same one.
    boundPort = (server.address() as AddressInfo).port;
    servers.push(server);
  }
  return { port: boundPort, close: () => Promise.all(servers.map(closeServer)).then(() => undefined) };
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
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
    error.code === "HPE_HEADER_OVERFLOW" ? [431, "headers_too_large", "Request Header Fields Too Large"] : [400, "bad_request", "Bad Request"];
  const body = JSON.stringify({ error: { code, message: "the request is not valid HTTP" } });
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\ncontent-type: application/json; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
  );
}
