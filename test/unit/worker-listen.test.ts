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

/** A signal the test waits for or gives: no test depends on a request getting somewhere within so many ms. */
function gate() {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { open, opened };
}

describe("the worker's HTTP listener closes gracefully", () => {
  it("answers the requests in progress before it closes, and refuses new connections meanwhile", async () => {
    const [reached, release] = [gate(), gate()];
    const server = await listen(
      (_request, response) => {
        reached.open();
        void release.opened.then(() => response.end("done"));
      },
      "127.0.0.1",
      0,
    );
    const inProgress = get(server.port);
    await reached.opened; // the request is in the handler
    let closed = false;
    const closing = server.close(30_000).then(() => (closed = true));
    await expect(get(server.port)).rejects.toMatchObject({ code: "ECONNREFUSED" });
    expect(closed).toBe(false); // still waiting for the request in progress
    release.open();
    expect(await inProgress).toBe(200);
    await closing;
    expect(closed).toBe(true);
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
    while (answered < 5) await sleep(20);
    const started = Date.now();
    // A grace of 20 s: a stream served on would take all of it; cut between two requests, it takes
    // a request's time (generously bounded for a loaded machine).
    await server.close(20_000);
    const took = Date.now() - started;
    await client;
    agent.destroy();
    expect(answered).toBeGreaterThanOrEqual(5);
    expect(took).toBeLessThan(10_000);
    expect((error as NodeJS.ErrnoException).code).toMatch(/ECONNREFUSED|ECONNRESET/);
  }, 30_000);

  it("waits for a handler whose client hung up, so the services it uses are not closed under it", async () => {
    const [reached, release] = [gate(), gate()];
    let handlerDone = false;
    const server = await listen(
      async () => {
        reached.open();
        await release.opened; // an enqueue still awaiting Redis; the response is never sent
        handlerDone = true;
      },
      "127.0.0.1",
      0,
    );
    const aborted = new Promise<void>((resolve) => {
      const req = httpRequest({ host: "127.0.0.1", port: server.port, path: "/", method: "POST", agent: false });
      req.on("error", () => resolve());
      req.write("{");
      void reached.opened.then(() => req.destroy()); // the client goes away mid-request
    });
    await aborted;
    let closed = false;
    const closing = server.close(30_000).then(() => (closed = true));
    await sleep(200);
    expect(closed).toBe(false); // the handler still runs: the close waits for it
    release.open();
    await closing;
    expect(handlerDone).toBe(true);
  }, 40_000);

  it("gives up on a request that never finishes once the grace period is over", async () => {
    const reached = gate();
    const server = await listen(() => reached.open(), "127.0.0.1", 0); // never answers
    const stuck = get(server.port).catch((error: NodeJS.ErrnoException) => error.code);
    await reached.opened;
    const started = Date.now();
    await server.close(300);
    // A lower bound only: a slow machine makes it longer, never shorter.
    expect(Date.now() - started).toBeGreaterThanOrEqual(280);
    expect(await stuck).toBe("ECONNRESET");
  });
});
