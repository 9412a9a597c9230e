import { withInvocationLog } from "../../shared/telemetry/invocation-logs.js";
import type { InvocationContext } from "./azure.js";

/**
 * Every Functions handler is wrapped in this: what the core logs while the invocation runs goes
 * through the invocation's own log methods (context.info, context.warn, …), so Application
 * Insights ties each line to its invocation, instead of to the worker process's stdout.
 */
export function invocationHandler<T, R>(
  handler: (trigger: T, context: InvocationContext) => Promise<R>,
): (trigger: T, context: InvocationContext) => Promise<R> {
  return (trigger, context) => withInvocationLog(context, () => handler(trigger, context));
}
