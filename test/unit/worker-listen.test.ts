import { request as httpRequest, Agent } from "node:http";
import { describe, expect, it } from "vitest";
import { listen } from "../../shared/worker/listen.js";

/** One request; resolves with the status, or rejects with the socket error. */
function get(port: number, agent?: Agent): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: "127.0.0.1", port, path: "/", agent: agent ?? false }, (response) => {
      response.resume();
      response.on("end", () => resolve(response.statusCode ?? 0));
    });
    req.on("error", reject);
    req.end();
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("the worker's HTTP listener closes gracefully", () => {
  it("answers the requests in progress before it closes, and refuses new connections meanwhile", async () => {
    const server = await listen(
      (_request, response) => {
        setTimeout(() => response.end("done"), 300);
      },
      "127.0.0.1",
      0,
    );
    const inProgress = get(server.port);
    await sleep(50); // the request has reached the handler
    const closing = server.close();
    let closedAt = 0;
    void closing.then(() => (closedAt = Date.now()));
    await sleep(20);
    await expect(get(server.port)).rejects.toMatchObject({ code: "ECONNREFUSED" });
    expect(await inProgress).toBe(200);
    await closing;
    expect(closedAt).toBeGreaterThan(0);
  });

  it("ends a keep-alive client's stream of requests at the close instead of serving it on", async () => {
    const server = await listen((_request, response) => void setTimeout(() => response.end("ok"), 5), "127.0.0.1", 0);
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    let answered = 0;
    let error: unknown;
    const client = (async () => {
      try {
        for (;;) {
          expect(await get(server.port, agent)).toBe(200);
          answered++;
        }
      } catch (caught) {
        error = caught;
      }
    })();
    await sleep(200);
    const started = Date.now();
    await server.close(2000);
    const took = Date.now() - started;
    await client;
    agent.destroy();
    expect(answered).toBeGreaterThan(5);
    expect(took).toBeLessThan(1000); // not the whole grace: the stream was cut between two requests
    expect((error as NodeJS.ErrnoException).code).toMatch(/ECONNREFUSED|ECONNRESET/);
  });

  it("waits for a handler whose client hung up, so the services it uses are not closed under it", async () => {
    let handlerDone = 0;
    const server = await listen(
      async () => {
        await sleep(300); // an enqueue still awaiting Redis; the response is never sent
        handlerDone = Date.now();
      },
      "127.0.0.1",
      0,
    );
    const aborted = new Promise<void>((resolve) => {
      const req = httpRequest({ host: "127.0.0.1", port: server.port, path: "/", method: "POST", agent: false });
      req.on("error", () => resolve());
      req.write("{");
      setTimeout(() => req.destroy(), 50); // the client goes away mid-request
    });
    await aborted;
    await sleep(20);
    await server.close(2000);
    const closedAt = Date.now();
    expect(handlerDone).toBeGreaterThan(0);
    expect(closedAt).toBeGreaterThanOrEqual(handlerDone);
  });

  it("gives up on a request that never finishes once the grace period is over", async () => {
    const server = await listen(() => {}, "127.0.0.1", 0); // never answers
    const stuck = get(server.port).catch((error: NodeJS.ErrnoException) => error.code);
    await sleep(50);
    const started = Date.now();
    await server.close(300);
    expect(Date.now() - started).toBeGreaterThanOrEqual(280);
    expect(await stuck).toBe("ECONNRESET");
  });
});
