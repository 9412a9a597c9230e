import { DriftlessError } from "../core/errors.js";
import { ScriptCode } from "../redis/codes.js";

const MESSAGES: Partial<Record<ScriptCode, string>> = {
  [ScriptCode.BadArgument]: "was called with a malformed argument",
  [ScriptCode.BadLane]: "was called with an unknown lane",
};

/**
 * A queue script refused its input. The TypeScript side validates first, so this means the
 * scripts and their caller disagree (a deployment mixing versions, or a bug): not retryable.
 */
export class QueueScriptError extends DriftlessError {
  readonly script: string;
  readonly scriptCode: ScriptCode;

  constructor(script: string, scriptCode: ScriptCode) {
    super("queue_script_failed", `queue script ${script} ${MESSAGES[scriptCode] ?? `returned ${scriptCode}`}`);
    this.script = script;
    this.scriptCode = scriptCode;
  }
}

/** The one place a script's negative return code becomes a typed error. */
export function checkReply<T>(script: string, reply: T | number): T {
  if (typeof reply === "number" && reply < 0) throw new QueueScriptError(script, reply as ScriptCode);
  return reply as T;
}
