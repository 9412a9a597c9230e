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
