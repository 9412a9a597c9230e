import { describe, expect, it } from "vitest";
import { createJobProgress } from "../../cli/progress.js";
import { newJobId, parseJobId } from "../../shared/jobs/ids.js";
import type { Job, JobView } from "../../shared/jobs/types.js";
import { mergeOutcomes } from "../../shared/elastic/fan-out.js";
import { phaseDurations } from "../../shared/jobs/service.js";
import { servingSettings } from "../../shared/jobs/rebuild.js";

describe("job ids", () => {
  it("carry kind and source, dashes in the source included", () => {
    for (const source of ["shop", "my-shop", "a-b-c_d", "x1"]) {
      const id = newJobId("reimport", source, Date.UTC(2026, 0, 1));
      expect(parseJobId(id)).toEqual({ kind: "reimport", source });
    }
    expect(parseJobId(newJobId("reconcile", "s-1", 5))).toEqual({ kind: "reconcile", source: "s-1" });
  });

  it("refuse anything driftless did not make", () => {
    for (const id of [
      "",
      "x",
      "reimport-",
      "delete-shop-abc-0123abcd",
      "reimport-Shop-abc-0123abcd",
      "reimport-shop-abc-0123abcg",
      "reimport-{shop}-abc-0123abcd",
    ]) {
      expect(parseJobId(id), id).toBeUndefined();
    }
  });
});

describe("phaseDurations", () => {
  const job = (over: Partial<Job>): Job => ({
    id: "reimport-s-1-0123abcd",
    kind: "reimport",
    source: "s",
    state: "running",
    phase: "prepare",
    mode: "rebuild",
    createdAt: 0,
    startedAt: undefined,
    finishedAt: undefined,
    updatedAt: undefined,
    phaseStartedAt: {},
    scanned: 0,
    indexed: 0,
    enqueued: 0,
    missing: 0,
    errors: 0,
    pages: 0,
    continuation: undefined,
    targetIndex: undefined,
    targetAlias: undefined,
    previousIndices: [],
    cancelRequested: false,
    failures: 0,
    lastError: undefined,
    ...over,
  });

  it("gives each ended phase the time until the next one began, the last the time until the job ended", () => {
    expect(
      phaseDurations(
        job({ startedAt: 1000, phaseStartedAt: { scan: 1040, swap: 3500 }, finishedAt: 3900, state: "succeeded" }),
      ),
    ).toEqual({
      prepare: 40,
      scan: 2460,
      swap: 400,
    });
  });

  it("leaves out the phase in progress, and everything before the job started", () => {
    expect(phaseDurations(job({ startedAt: 1000, phaseStartedAt: { scan: 1040 } }))).toEqual({ prepare: 40 });
    expect(phaseDurations(job({ startedAt: 1000 }))).toEqual({});
    expect(phaseDurations(job({ state: "cancelled", finishedAt: 5 }))).toEqual({});
  });

  it("skips a phase the job never entered (an in-place reimport has no swap; cancelled in its scan)", () => {
    expect(
      phaseDurations(
        job({ mode: "in-place", startedAt: 10, phaseStartedAt: { scan: 12 }, finishedAt: 900, state: "cancelled" }),
      ),
    ).toEqual({
      prepare: 2,
      scan: 888,
    });
  });
});

describe("mergeOutcomes", () => {
  it("keeps the worse outcome of each op, so a key is acknowledged only when every target has it", () => {
    const merged = mergeOutcomes(
      [
        { member: "a", outcome: "ok" },
        { member: "b", outcome: "ok" },
        { member: "c", outcome: "retry", error: "429" },
        { member: "d", outcome: "dead", error: "mapping" },
      ],
      [
        { member: "a", outcome: "ok" },
        { member: "b", outcome: "retry", error: "timeout" },
        { member: "c", outcome: "ok" },
        { member: "d", outcome: "retry", error: "later" },
      ],
    );
    expect(merged).toEqual([
      { member: "a", outcome: "ok" },
      { member: "b", outcome: "retry", error: "timeout" },
      { member: "c", outcome: "retry", error: "429" },
      { member: "d", outcome: "dead", error: "mapping" },
    ]);
  });
});

describe("job progress display", () => {
  const view = (over: Partial<JobView>): JobView => ({
    jobId: "reimport-s-1-0123abcd",
    kind: "reimport",
    source: "s",
    state: "running",
    scanned: 0,
    indexed: 0,
    enqueued: 0,
    missing: 0,
    errors: 0,
    pages: 0,
    createdAt: "",
    startedAt: null,
    finishedAt: null,
    phaseMs: {},
    cancelRequested: false,
    lastError: null,
    ...over,
  });
  const sink = (isTTY: boolean) => {
    let text = "";
    return {
      stream: {
        isTTY,
        write: (chunk: string) => {
          text += chunk;
          return true;
        },
      } as unknown as NodeJS.WriteStream,
      text: () => text,
    };
  };

  it("redraws one line on a terminal, with a bar against the estimate", () => {
    let now = 0;
    const out = sink(true);
    const progress = createJobProgress(out.stream, 1000, () => now);
    now = 1000;
    progress.update(view({ scanned: 500, indexed: 490, enqueued: 10 }));
    now = 2000;
    progress.update(view({ scanned: 1000, indexed: 990, enqueued: 10, state: "succeeded" }));
    progress.end();
    const lines = out.text().split("\r\x1b[2K").filter(Boolean);
    expect(lines[0]).toContain("50%");
    expect(lines[0]).toContain("500 scanned · 490 indexed · 10 enqueued · 500/s · running");
    expect(lines[1]).toContain("100%");
    expect(out.text().endsWith("\n")).toBe(true);
  });

  it("writes a line per state change or every few seconds elsewhere, and counters only without an estimate", () => {
    let now = 0;
    const out = sink(false);
    const progress = createJobProgress(out.stream, undefined, () => now);
    progress.update(view({ kind: "reconcile", scanned: 10, missing: 2, enqueued: 2 }));
    now = 100;
    progress.update(view({ kind: "reconcile", scanned: 20 }));
    now = 6000;
    progress.update(view({ kind: "reconcile", scanned: 30, state: "succeeded" }));
    const lines = out.text().trim().split("\n");
    expect(lines).toHaveLength(2);
    expect(lines[0]).toContain("10 scanned · 2 missing · 2 enqueued");
    expect(lines[0]).not.toContain("%");
    expect(lines[1]).toContain("succeeded");
  });
});

describe("servingSettings (what a rebuilt index gets back before it goes live)", () => {
  it("reads the source's values in flat, dotted and nested form", () => {
    expect(servingSettings({ refresh_interval: "5s", number_of_replicas: 2 })).toEqual({
      "index.refresh_interval": "5s",
      "index.number_of_replicas": 2,
    });
    expect(servingSettings({ "index.refresh_interval": "30s" })).toEqual({
      "index.refresh_interval": "30s",
      "index.number_of_replicas": null,
    });
    expect(servingSettings({ index: { number_of_replicas: 0, refresh_interval: "1s" } })).toEqual({
      "index.refresh_interval": "1s",
      "index.number_of_replicas": 0,
    });
  });

  it("resets to Elasticsearch's defaults (null) what the source does not set", () => {
    expect(servingSettings(undefined)).toEqual({ "index.refresh_interval": null, "index.number_of_replicas": null });
    expect(servingSettings({ number_of_shards: 3, index: "not an object" })).toEqual({
      "index.refresh_interval": null,
      "index.number_of_replicas": null,
    });
  });
});
