import type { JobView } from "../shared/jobs/types.js";

export interface JobProgress {
  update(view: JobView): void;
  /** Ends the bar's line. */
  end(): void;
}

const WIDTH = 28;
const NON_TTY_EVERY_MS = 5000;

/**
 * A one-line progress display for a job on stderr (stdout stays free for the result). On a
 * terminal the line is redrawn in place; elsewhere (CI logs, pipes) a line is written every few
 * seconds and whenever the state changes. `total` is an estimate (the documents in the index when
 * the job started); without one, or once the scan passes it, only the counters are shown.
 *
 * Written here rather than taken from cli-progress: the display is twenty lines, and a redraw
 * tied to the job's own counters needs none of its templating.
 */
export function createJobProgress(
  stream: NodeJS.WriteStream,
  total: number | undefined,
  now: () => number = Date.now,
): JobProgress {
  const tty = stream.isTTY === true;
  const started = now();
  let lastLine = 0;
  let lastState = "";
  let drawn = false;
  return {
    update(view) {
      const elapsed = Math.max(1, now() - started) / 1000;
      const rate = Math.round(view.scanned / elapsed);
      const counters =
        view.kind === "reimport"
          ? `${fmt(view.scanned)} scanned · ${fmt(view.indexed)} indexed · ${fmt(view.enqueued)} enqueued`
          : `${fmt(view.scanned)} scanned · ${fmt(view.missing)} missing · ${fmt(view.enqueued)} enqueued`;
      const line = `${bar(view, total)} ${counters} · ${fmt(rate)}/s · ${view.state}${view.errors ? ` · ${fmt(view.errors)} errors` : ""}`;
      if (tty) {
        stream.write(`\r\x1b[2K${line}`);
        drawn = true;
        return;
      }
      if (view.state !== lastState || now() - lastLine >= NON_TTY_EVERY_MS) {
        stream.write(`${line}\n`);
        lastLine = now();
        lastState = view.state;
      }
    },
    end() {
      if (tty && drawn) stream.write("\n");
    },
  };
}

function bar(view: JobView, total: number | undefined): string {
  if (view.state === "succeeded") return `[${"█".repeat(WIDTH)}] 100%`;
  if (!total || view.scanned > total) return `[${"░".repeat(WIDTH)}]`;
  const share = Math.min(view.scanned / total, 0.99);
  const full = Math.round(share * WIDTH);
  return `[${"█".repeat(full)}${"░".repeat(WIDTH - full)}] ${String(Math.floor(share * 100)).padStart(2)}%`;
}

const fmt = (n: number) => n.toLocaleString("en-US");
