/** The results file's shape and the table printed at the end of a run. */

export interface Target {
  readonly value: number | null;
  readonly target: string;
  readonly met: boolean | null;
}

export function atLeast(value: number | null | undefined, min: number): Target {
  return {
    value: value ?? null,
    target: `>= ${min}`,
    met: value === null || value === undefined ? null : value >= min,
  };
}

export function atMost(value: number | null | undefined, max: number): Target {
  return {
    value: value ?? null,
    target: `<= ${max}`,
    met: value === null || value === undefined ? null : value <= max,
  };
}

const mark = (target: Target) => (target.met === null ? "–" : target.met ? "ok" : "MISSED");

export function table(rows: readonly (readonly [string, string, Target | undefined])[]): string {
  const width = Math.max(...rows.map(([name]) => name.length));
  const valueWidth = Math.max(...rows.map(([, value]) => value.length));
  return rows
    .map(([name, value, target]) =>
      name === ""
        ? ""
        : `${name.padEnd(width)}  ${value.padStart(valueWidth)}${target ? `   target ${target.target.padEnd(9)} ${mark(target)}` : ""}`,
    )
    .join("\n");
}

export const fmt = (value: number | null | undefined, digits = 0) =>
  value === null || value === undefined || Number.isNaN(value)
    ? "n/a"
    : value.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits });
