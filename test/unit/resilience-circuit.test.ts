import { describe, expect, it } from "vitest";
import { DependencyError } from "../../shared/core/errors.js";
import { createBackoff } from "../../shared/resilience/backoff.js";
import { createCircuit } from "../../shared/resilience/circuit.js";
import { createCircuits } from "../../shared/resilience/circuits.js";
import { DependencyPause } from "../../shared/resilience/errors.js";
import { pauseAfterFailure } from "../../shared/resilience/failure-pause.js";
import { guardReader } from "../../shared/resilience/guard-reader.js";
import { guardSink } from "../../shared/resilience/guard-sink.js";
import type { ItemOutcome, Sink, SourceReader } from "../../shared/sync/ports.js";
import { createLogger } from "../../shared/telemetry/logger.js";
import { Writable } from "node:stream";
import { fieldOf, messageOf } from "../setup/logs.js";

function capturedLogger() {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split("\n").filter(Boolean))
        lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { logger: createLogger("info", stream), lines };
}

const down = () => Promise.reject(new DependencyError("elasticsearch", "connect ECONNREFUSED"));

describe("circuit breaker (cockatiel, consecutive failures)", () => {
  it("opens after the threshold, refuses calls with a pause until the trial is due, then closes on a good trial", async () => {
    const { logger, lines } = capturedLogger();
    // 1.5 s before the trial: the refused call below comes well within it, even on a loaded machine.
    const circuit = createCircuit(
      "elasticsearch",
      { failureThreshold: 3, halfOpenAfterMs: 1500, halfOpenMaxMs: 3000 },
      logger,
    );
    for (let i = 0; i < 3; i++) await expect(circuit.execute(down)).rejects.toThrow("ECONNREFUSED");
    expect(circuit.state()).toBe("open");
    expect(circuit.retryAfterMs()).toBeGreaterThan(0);
    expect(circuit.retryAfterMs()).toBeLessThanOrEqual(1500);

    let called = false;
    const refused = await circuit.execute(async () => (called = true)).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(DependencyPause);
    expect(refused).toMatchObject({
      kind: "circuit_open",
      dependency: "elasticsearch",
      code: "elasticsearch_unavailable",
    });
    expect(called).toBe(false);

    await new Promise((resolve) => setTimeout(resolve, circuit.retryAfterMs() + 20));
    expect(circuit.retryAfterMs()).toBe(0);
    expect(await circuit.execute(async () => "ok")).toBe("ok");
    expect(circuit.state()).toBe("closed");
    expect(lines.map(messageOf)).toEqual([
      "elasticsearch circuit open",
      "elasticsearch circuit half-open: trying one call",
      "elasticsearch circuit closed",
    ]);
    expect([
      fieldOf(lines[0]!, "dependency"),
      fieldOf(lines[0]!, "circuit"),
      lines[0]!["log.level"] ?? lines[0]!.level,
    ]).toEqual(["elasticsearch", "open", expect.toSatisfy((level) => level === "warn" || level === 40)]);
  });

  it("counts results the caller calls failures, and returns them", async () => {
    const circuit = createCircuit(
      "cosmos",
      { failureThreshold: 2, halfOpenAfterMs: 1000, halfOpenMaxMs: 1000 },
      createLogger("silent"),
    );
    const failed = { everyReadFailed: true };
    expect(
      await circuit.execute(
        async () => failed,
        (r) => r.everyReadFailed,
      ),
    ).toBe(failed);
    expect(circuit.state()).toBe("closed");
    expect(
      await circuit.execute(
        async () => failed,
        (r) => r.everyReadFailed,
      ),
    ).toBe(failed);
    expect(circuit.state()).toBe("open");
  });

  it("resets the count on success and ignores errors that are not the dependency's", async () => {
    const circuit = createCircuit(
      "redis",
      { failureThreshold: 2, halfOpenAfterMs: 1000, halfOpenMaxMs: 1000 },
      createLogger("silent"),
    );
    await expect(circuit.execute(down)).rejects.toThrow();
    await circuit.execute(async () => 1);
    await expect(circuit.execute(down)).rejects.toThrow();
    await expect(circuit.execute(() => Promise.reject(new TypeError("a bug")))).rejects.toThrow("a bug");
    expect(circuit.state()).toBe("closed");
  });

  it("waits longer after each failed trial, up to the maximum", async () => {
    const circuit = createCircuit(
      "elasticsearch",
      { failureThreshold: 1, halfOpenAfterMs: 100, halfOpenMaxMs: 250 },
      createLogger("silent"),
    );
    await expect(circuit.execute(down)).rejects.toThrow();
    const waits: number[] = [circuit.retryAfterMs()];
    for (let trial = 0; trial < 4; trial++) {
      await new Promise((resolve) => setTimeout(resolve, circuit.retryAfterMs() + 10));
      await expect(circuit.execute(down)).rejects.toThrow("ECONNREFUSED");
      waits.push(circuit.retryAfterMs());
    }
    expect(Math.max(...waits)).toBeLessThanOrEqual(250);
    expect(waits.at(-1)).toBeGreaterThan(100);
  });

  /** A circuit that opens after two failures and tries again 100 to 300 ms apart. */
  const quickCircuit = (dependency: "elasticsearch" | "cosmos") =>
    createCircuit(
      dependency,
      { failureThreshold: 2, halfOpenAfterMs: 100, halfOpenMaxMs: 300 },
      capturedLogger().logger,
    );

  /** The pauses of ten failed calls, each made as soon as the circuit lets it (the sync's gate waits for that). */
  async function pausesThroughOutage(circuit: ReturnType<typeof createCircuit>, call: () => Promise<unknown>) {
    const pauses: number[] = [];
    for (let attempt = 0; attempt < 10; attempt++) {
      await new Promise((resolve) => setTimeout(resolve, circuit.retryAfterMs()));
      const pause = await call().catch((error: unknown) => error);
      expect(pause).toBeInstanceOf(DependencyPause);
      pauses.push((pause as DependencyPause).retryAfterMs);
    }
    expect(circuit.state()).toBe("open");
    return pauses;
  }

  it("through a long outage, a write's pause is the circuit's wait for its next trial, never longer", async () => {
    const circuit = quickCircuit("elasticsearch");
    // Elasticsearch unreachable: the bulk sink's answer for a request that could not be made.
    const unreachable: Sink = {
      write: async (_alias, ops) =>
        ops.map(
          (op): ItemOutcome => ({
            member: op.member,
            outcome: "retry",
            error: "bulk request failed: connect ECONNREFUSED",
          }),
        ),
    };
    const sink = guardSink(unreachable, circuit);
    const op = { action: "delete" as const, member: "m", id: "d", version: 1 };
    const pauses = await pausesThroughOutage(circuit, () => sink.write("alias", [op]));
    // Before the circuit opened the backoff spaced the failures; from then on, the circuit's trials.
    expect(Math.max(...pauses.slice(2))).toBeLessThanOrEqual(300);
  });

  it("the same for Cosmos reads, where a longer retry-after from Cosmos is still honoured", async () => {
    const circuit = quickCircuit("cosmos");
    const unanswered: SourceReader = {
      read: async (keys) => keys.map(({ member }) => ({ member, error: "connect ECONNREFUSED" })),
    };
    const reader = guardReader(unanswered, circuit);
    const pauses = await pausesThroughOutage(circuit, () => reader.read([{ member: "m", key: { id: "d", pk: "p" } }]));
    expect(Math.max(...pauses.slice(2))).toBeLessThanOrEqual(300);
    // Cosmos asking for longer than the circuit's wait (a 429's retry-after) is waited for.
    expect(pauseAfterFailure(circuit, createBackoff({ initialMs: 500, maxMs: 30_000 }), 5000)).toBe(5000);
  });

  it("reports the state of every dependency and blocks the sync while one is open", async () => {
    const circuits = createCircuits(
      { failureThreshold: 1, halfOpenAfterMs: 5000, halfOpenMaxMs: 5000 },
      createLogger("silent"),
    );
    expect(circuits.states()).toEqual({ cosmos: "closed", elasticsearch: "closed", redis: "closed" });
    expect(circuits.blocked()).toBeUndefined();
    await expect(circuits.elasticsearch.execute(down)).rejects.toThrow();
    expect(circuits.states()).toEqual({ cosmos: "closed", elasticsearch: "open", redis: "closed" });
    expect(circuits.blocked()).toMatchObject({ dependency: "elasticsearch", kind: "circuit_open" });
    expect(circuits.blocked()!.retryAfterMs).toBeGreaterThan(1000);
  });

  it("when idle, tries an open circuit whose trial is due with its probe: closed when it answers, still open when not", async () => {
    let elasticUp = false;
    const probed: string[] = [];
    // The trial is 1 s away: the first idle() below comes well before it, even on a loaded machine.
    const circuits = createCircuits(
      { failureThreshold: 1, halfOpenAfterMs: 1000, halfOpenMaxMs: 2000 },
      createLogger("silent"),
      {
        elasticsearch: async () => {
          probed.push("elasticsearch");
          if (!elasticUp) throw new DependencyError("elasticsearch", "connect ECONNREFUSED");
        },
        cosmos: async () => void probed.push("cosmos"),
      },
    );
    await expect(circuits.elasticsearch.execute(down)).rejects.toThrow();
    await circuits.idle();
    expect(probed).toEqual([]); // open, but the trial is not due yet; closed circuits are never probed

    await new Promise((resolve) => setTimeout(resolve, circuits.elasticsearch.retryAfterMs() + 20));
    await circuits.idle();
    expect(probed).toEqual(["elasticsearch"]);
    expect(circuits.states().elasticsearch).toBe("open");

    elasticUp = true;
    await new Promise((resolve) => setTimeout(resolve, circuits.elasticsearch.retryAfterMs() + 20));
    await circuits.idle();
    expect(probed).toEqual(["elasticsearch", "elasticsearch"]);
    expect(circuits.states()).toEqual({ cosmos: "closed", elasticsearch: "closed", redis: "closed" });
  });
});

describe("jittered backoff", () => {
  it("grows while failures repeat, honours a longer hint, and starts over after reset", () => {
    const backoff = createBackoff({ initialMs: 100, maxMs: 1000 });
    const first = backoff.next();
    expect(first).toBeGreaterThanOrEqual(50);
    expect(first).toBeLessThanOrEqual(100);
    let last = first;
    for (let i = 0; i < 6; i++) last = backoff.next();
    expect(last).toBeGreaterThanOrEqual(500);
    expect(last).toBeLessThanOrEqual(1000);
    expect(backoff.next(5000)).toBe(5000);
    backoff.reset();
    expect(backoff.next()).toBeLessThanOrEqual(100);
  });
});
