export type LogLine = Record<string, unknown>;

/** A log line's message, whether pino's plain (`msg`) or ECS (`message`) format is in use. */
export const messageOf = (line: LogLine): string => String(line.message ?? line.msg ?? "");
/** A driftless field of a log line: top level, or under the ECS `driftless.` namespace. */
export const fieldOf = (line: LogLine, name: string): unknown => line[name] ?? line[`driftless.${name}`];
