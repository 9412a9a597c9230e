import { describe, expect, it } from "vitest";
import { GENERATED_HEADER, renderFigures, type FigureRecord } from "../../scripts/figures/render.js";

const record = (
  test: string,
  scenario: string,
  figures: FigureRecord["figures"],
  recordedAt = "2026-12-04T10:00:00.000Z",
): FigureRecord => ({
  test,
  scenario,
  line: `${test}: ${scenario}`,
  figures,
  recordedAt,
  cores: 2,
});

describe("renderFigures (make figures → docs/guarantees-figures.md)", () => {
  it("renders one section per test and one table per scenario, from the recorded figures only", () => {
    const text = renderFigures(
      [
        record("worker-kills", "SIGKILLed workers", { changes: 4241, deletes: 367, kills: 11, deadLetters: 0 }),
        record("elasticsearch-outage", "throttling", { pauses: 11, waits: "500–4000 ms" }),
        record("elasticsearch-outage", "outage", { outage: "62 s", attemptsSpent: 0 }, "2026-12-05T01:00:00.000Z"),
      ],
      "abc1234",
    );
    expect(text).toBe(
      [
        GENERATED_HEADER,
        "",
        "# Guarantee figures",
        "",
        'The figures of the fault tests (`test/faults/`) that README.md\'s "Guarantees, and how they are tested" refers to,',
        "as the tests themselves recorded them. Each test records its figures only after its assertions passed, so every",
        "figure here was checked by the run that produced it. Regenerate with `make figures`.",
        "",
        "Generated at commit `abc1234` from runs of 2026-12-04 to 2026-12-05, on a 2-core machine.",
        "",
        "## elasticsearch-outage",
        "",
        "`test/faults/elasticsearch-outage.test.ts`",
        "",
        "### outage",
        "",
        "elasticsearch-outage: outage",
        "",
        "| figure | value |",
        "| --- | --- |",
        "| outage | 62 s |",
        "| attemptsSpent | 0 |",
        "",
        "### throttling",
        "",
        "elasticsearch-outage: throttling",
        "",
        "| figure | value |",
        "| --- | --- |",
        "| pauses | 11 |",
        "| waits | 500–4000 ms |",
        "",
        "## worker-kills",
        "",
        "`test/faults/worker-kills.test.ts`",
        "",
        "### SIGKILLed workers",
        "",
        "worker-kills: SIGKILLed workers",
        "",
        "| figure | value |",
        "| --- | --- |",
        "| changes | 4,241 |",
        "| deletes | 367 |",
        "| kills | 11 |",
        "| deadLetters | 0 |",
        "",
      ].join("\n"),
    );
  });

  it("starts with the generated header and escapes a table cell's pipe", () => {
    const text = renderFigures([record("poison", "poison documents", { reasons: "a | b" })], "abc1234");
    expect(text.startsWith(`${GENERATED_HEADER}\n`)).toBe(true);
    expect(text).toContain("| reasons | a \\| b |");
    expect(text).toContain("Generated at commit `abc1234` from runs of 2026-12-04, on a 2-core machine.");
  });

  it("says so when nothing was recorded", () => {
    expect(renderFigures([], "abc1234")).toContain("No figures recorded: run `make figures`.");
  });
});
