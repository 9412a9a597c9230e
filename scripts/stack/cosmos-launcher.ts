/**
 * Runs the Cosmos DB emulator (@vercel/cosmosdb-server) in a process of its own, so that its
 * request handling never competes with the tests' event loop.
 *
 * Usage: node cosmos-launcher.js <port> <cert.pem> <key.pem>
 */
import { readFileSync } from "node:fs";
import type { ServerOptions } from "node:https";
import { createHttpsServer } from "@vercel/cosmosdb-server";

const [port, certFile, keyFile] = process.argv.slice(2);
if (port === undefined || certFile === undefined || keyFile === undefined) {
  console.error("usage: cosmos-launcher <port> <cert.pem> <key.pem>");
  process.exit(2);
}

const options: ServerOptions = { cert: readFileSync(certFile), key: readFileSync(keyFile), keepAlive: true };
const server = createHttpsServer(options);
// Node closes a keep-alive connection after 5 s idle; a client that picks the socket up again in
// that instant gets "socket hang up", and the SDK does not retry a bulk request on that. Cosmos
// DB's gateway keeps idle connections far longer, so the emulator does too.
server.keepAliveTimeout = 120_000;
// Lets the parent's readiness probe tell this process from anything else answering on the port.
server.prependListener("request", (_request, response) => response.setHeader("x-driftless-pid", String(process.pid)));
server.listen(Number(port), "127.0.0.1", () => {
  console.log(`cosmos emulator listening on https://127.0.0.1:${port}`);
});

const shutdown = (): void => {
  server.close();
  server.closeAllConnections();
  process.exit(0);
};
process.on("SIGTERM", shutdown);
process.on("SIGINT", shutdown);
// The parent went away (even by SIGKILL): the IPC channel closes, and the emulator goes too.
process.on("disconnect", shutdown);
