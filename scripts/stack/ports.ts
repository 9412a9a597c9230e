import { createServer, type Server } from "node:net";

/**
 * Ports the operating system reports free on the loopback interface. Every listener stays open
 * until all `count` ports are known, so one call never hands out the same port twice; another
 * process may still take a port between this call and the service binding it, a window short
 * enough for local stacks and tests.
 */
export async function freePorts(count: number, host = "127.0.0.1"): Promise<number[]> {
  const servers: Server[] = [];
  try {
    const ports: number[] = [];
    for (let i = 0; i < count; i += 1) {
      const server = createServer();
      servers.push(server);
      ports.push(await listenOnAnyPort(server, host));
    }
    return ports;
  } finally {
    await Promise.all(servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))));
  }
}

export async function freePort(host = "127.0.0.1"): Promise<number> {
  const [port] = await freePorts(1, host);
  if (port === undefined) throw new Error("freePorts(1) returned no port");
  return port;
}

function listenOnAnyPort(server: Server, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen({ port: 0, host, exclusive: true }, () => {
      const address = server.address();
      if (address === null || typeof address === "string") {
        reject(new Error(`unexpected listener address ${String(address)}`));
        return;
      }
      resolve(address.port);
    });
  });
}
