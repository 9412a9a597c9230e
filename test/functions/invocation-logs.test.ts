import functions from "@azure/functions";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestSource, type TestSource } from "../setup/fixtures.js";
import { onTimeTimer } from "../setup/invocation.js";

const { HttpRequest, InvocationContext } = functions;

interface Entry {
  readonly level: string;
  readonly args: unknown[];
}

/**
 * In Functions, the core's log lines go through the invocation's own logger (context.info, …), so
 * Application Insights ties them to the invocation. The real handlers are called as the host calls
 * them, with an InvocationContext whose logHandler records what reaches the host.
 */
describe("Functions invocation logs", () => {
  let source: TestSource;
  let stdout = "";
  const write = process.stdout.write.bind(process.stdout);

  beforeAll(async () => {
    source = await createTestSource({
      env: { LOG_LEVEL: "info", SYNC_TIME_BUDGET_MS: "5000", SYNC_EVENTS_ENABLED: "false" },
    });
    Object.assign(process.env, source.env);
    // What the process itself prints: nothing of the core's may land here while an invocation runs.
    process.stdout.write = ((chunk: string | Uint8Array, ...rest: never[]) => {
      stdout += chunk.toString();
      return write(chunk, ...rest);
    }) as typeof process.stdout.write;
  });

  afterAll(async () => {
    process.stdout.write = write;
    const { getServices } = await import("../../functions/lib/services.js");
    await (await getServices()).close();
    await source?.dispose();
  });

  const invocation = (functionName: string) => {
    const entries: Entry[] = [];
    const context = new InvocationContext({
      functionName,
      invocationId: `test-${functionName}-${Date.now()}`,
      logHandler: (level, ...args) => entries.push({ level, args }),
    });
    return { context, entries };
  };
  const timer = onTimeTimer;

  it("sends the core's lines of an HTTP and a timer invocation to that invocation's log, by level, not to stdout", async () => {
    const reimport = (await import("../../functions/http.js")).httpFunction("reimport");
    const { jobsTimer } = await import("../../functions/jobs-timer.js");
    stdout = "";

    const http = invocation("reimport");
    const request = new HttpRequest({
      method: "POST",
      url: `http://localhost:7071/api/sources/${source.name}/reimport`,
      params: { source: source.name },
      headers: { "content-type": "application/json" },
      body: { string: JSON.stringify({ mode: "rebuild" }) },
    });
    const response = await reimport(request, http.context);
    expect(response.status).toBe(202);
    const jobId = (response.jsonBody as { jobId: string }).jobId;
    const queued = http.entries.find((entry) => entry.args[0] === "job queued");
    expect(queued?.level).toBe("information");
    expect(JSON.parse(String(queued!.args[1]))).toMatchObject({
      "driftless.job": jobId,
      "driftless.source": source.name,
      "driftless.kind": "reimport",
    });

    const tick = invocation("jobs-timer");
    await jobsTimer(timer, tick.context);
    const messages = tick.entries.map((entry) => entry.args[0]);
    expect(messages).toContain("rebuild: new index version created");
    expect(tick.entries.find((entry) => entry.args[0] === "rebuild: new index version created")?.level).toBe(
      "information",
    );
    // Neither invocation's lines reached the process's stdout, and the HTTP one's did not leak into the timer's.
    expect(stdout).not.toContain("job queued");
    expect(stdout).not.toContain("rebuild: new index version created");
    expect(messages).not.toContain("job queued");
  }, 120_000);

  it("maps levels, redacts secrets, and writes to stdout again outside an invocation", async () => {
    const { getServices } = await import("../../functions/lib/services.js");
    const { withInvocationLog } = await import("../../shared/telemetry/invocation-logs.js");
    const { logger } = await getServices();
    const { context, entries } = invocation("status");
    withInvocationLog(context, () => {
      logger.warn({ apiKey: "sekret-api-key-value", source: "orders" }, "a warning");
      logger.error({ err: "it broke" }, "an error");
    });
    expect(entries.map((entry) => [entry.level, entry.args[0]])).toEqual([
      ["warning", "a warning"],
      ["error", "an error"],
    ]);
    expect(JSON.stringify(entries)).not.toContain("sekret-api-key-value");
    expect(JSON.parse(String(entries[0]!.args[1]))).toMatchObject({
      "driftless.apiKey": "[redacted]",
      "driftless.source": "orders",
    });
    expect(JSON.parse(String(entries[1]!.args[1]))).toMatchObject({ "error.message": "it broke" });

    stdout = "";
    logger.warn({}, "outside any invocation");
    expect(JSON.parse(stdout.trim())).toMatchObject({ "log.level": "warn", message: "outside any invocation" });
  }, 60_000);
});
