import { PassThrough } from "node:stream";
import { describe, expect, it } from "vitest";
import { createLogger, type Logger } from "../../shared/telemetry/logger.js";

/** A logger writing into memory, and the lines it wrote, parsed. */
function capture(level = "debug"): {
  logger: Logger;
  lines: () => Promise<Record<string, unknown>[]>;
  text: () => string;
} {
  const stream = new PassThrough();
  let text = "";
  stream.on("data", (chunk: Buffer) => (text += chunk.toString()));
  const logger = createLogger(level, stream);
  return {
    logger,
    text: () => text,
    // pino writes to a plain stream synchronously; one tick lets the PassThrough hand the data on.
    lines: async () => {
      await new Promise((resolve) => setImmediate(resolve));
      return text
        .trim()
        .split("\n")
        .map((line) => JSON.parse(line) as Record<string, unknown>);
    },
  };
}

describe("ECS logs", () => {
  it("writes one ECS JSON object per line, driftless's own fields under driftless.*", async () => {
    const { logger, lines } = capture();
    logger.info({ source: "orders", url: "http://127.0.0.1:7071/api", batches: 3 }, "worker listening");
    const [line] = await lines();
    expect(line).toMatchObject({
      "log.level": "info",
      message: "worker listening",
      "ecs.version": expect.any(String),
      "service.name": "driftless",
      "driftless.source": "orders",
      "driftless.url": "http://127.0.0.1:7071/api",
      "driftless.batches": 3,
    });
    expect(Date.parse(line!["@timestamp"] as string)).not.toBeNaN();
    // ECS defines `source` and `url` as objects: plain strings there would break an ECS mapping.
    expect(line).not.toHaveProperty("source");
    expect(line).not.toHaveProperty("url");
    expect(line).not.toHaveProperty("msg");
  });

  it("moves a child's bindings under driftless.* too, and keeps ECS fields where ECS puts them", async () => {
    const { logger, lines } = capture();
    const child = logger.child({ source: "orders", part: "capture" }).child({ range: "0-FF" });
    child.warn(
      { err: "DependencyError: elasticsearch down", event: { action: "pause" }, labels: { zone: "a" } },
      "paused",
    );
    child.error({ err: new TypeError("bad mapping") }, "failed");
    const [warned, failed] = await lines();
    expect(warned).toMatchObject({
      "log.level": "warn",
      "driftless.source": "orders",
      "driftless.part": "capture",
      "driftless.range": "0-FF",
      "error.message": "DependencyError: elasticsearch down",
      event: { action: "pause" },
      labels: { zone: "a" },
    });
    expect(failed).toMatchObject({
      "log.level": "error",
      error: { type: "TypeError", message: "bad mapping", stack_trace: expect.stringContaining("TypeError") },
    });
  });

  it("writes a field bound by a child and given again in the call once, with the call's value", async () => {
    const { logger, text } = capture();
    logger.child({ source: "orders", part: "capture" }).info({ source: "orders-2", n: 1 }, "twice");
    await new Promise((resolve) => setImmediate(resolve));
    // JSON.parse keeps the last of duplicate keys silently; Elasticsearch refuses the line.
    expect(text().match(/"driftless\.source"/g)).toHaveLength(1);
    expect(JSON.parse(text())).toMatchObject({
      "driftless.source": "orders-2",
      "driftless.part": "capture",
      "driftless.n": 1,
    });
  });

  it("never writes a secret-named field's value, at the top, nested, or in a child's bindings", async () => {
    const { logger, lines, text } = capture();
    logger.info(
      {
        key: "s3cret-1",
        apiKey: "s3cret-2",
        password: "s3cret-3",
        authorization: "Bearer s3cret-4",
        connectionString: "s3cret-5",
      },
      "top",
    );
    logger.info({ elasticsearch: { apiKey: "s3cret-6", password: "s3cret-7" }, redis: { key: "s3cret-8" } }, "nested");
    logger.child({ key: "s3cret-9" }).info({}, "child");
    const [top, nested, child] = await lines();
    expect(text()).not.toMatch(/s3cret/);
    expect(top).toMatchObject({
      "driftless.key": "[redacted]",
      "driftless.apiKey": "[redacted]",
      "driftless.authorization": "[redacted]",
    });
    expect(nested).toMatchObject({
      "driftless.elasticsearch": { apiKey: "[redacted]", password: "[redacted]" },
      "driftless.redis": { key: "[redacted]" },
    });
    expect(child).toMatchObject({ "driftless.key": "[redacted]" });
  });

  it("respects the level", async () => {
    const { logger, text } = capture("warn");
    logger.info({}, "not shown");
    logger.debug({}, "not shown either");
    await new Promise((resolve) => setImmediate(resolve));
    expect(text()).toBe("");
  });
});
