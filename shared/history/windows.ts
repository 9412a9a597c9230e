const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** The windows the sync history answers for, newest first: name → length in ms. */
export const HISTORY_WINDOWS: Readonly<Record<string, number>> = Object.freeze({
  "5m": 5 * MINUTE,
  "1h": HOUR,
  "1d": DAY,
  "2d": 2 * DAY,
  "3d": 3 * DAY,
});

/** The longest window: events older than this are never asked for, so retention must keep at least this much. */
export const LONGEST_WINDOW_MS = Math.max(...Object.values(HISTORY_WINDOWS));
