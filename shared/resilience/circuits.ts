import type { Logger } from "../telemetry/logger.js";
import { createCircuit, DEFAULT_CIRCUIT_OPTIONS, type Circuit, type CircuitOptions, type CircuitStateName } from "./circuit.js";
import { DependencyPause, type Dependency } from "./errors.js";

/** One circuit per dependency, shared by every source of the process (one Elasticsearch is down for all of them). */
export interface Circuits {
  readonly cosmos: Circuit;
  readonly elasticsearch: Circuit;
  readonly redis: Circuit;
  /** For `GET /api/status`: `{cosmos: "closed", elasticsearch: "open", redis: "closed"}`. */
  states(): Record<Dependency, CircuitStateName>;
  /**
   * A pause for the open circuit with the longest wait, undefined when every dependency may be
   * called. The sync checks this before it claims (it is the engine's SyncGate), so it does not
   * claim keys only to hand them back.
   */
  blocked(): DependencyPause | undefined;
}

export function createCircuits(options: CircuitOptions = DEFAULT_CIRCUIT_OPTIONS, logger: Logger): Circuits {
  const cosmos = createCircuit("cosmos", options, logger);
  const elasticsearch = createCircuit("elasticsearch", options, logger);
  const redis = createCircuit("redis", options, logger);
  const all = [cosmos, elasticsearch, redis];
  return {
    cosmos,
    elasticsearch,
    redis,
    states: () => ({ cosmos: cosmos.state(), elasticsearch: elasticsearch.state(), redis: redis.state() }),
    blocked() {
      let longest: Circuit | undefined;
      for (const circuit of all) {
        if (circuit.retryAfterMs() > (longest?.retryAfterMs() ?? 0)) longest = circuit;
      }
      if (!longest) return undefined;
      const { dependency } = longest;
      return new DependencyPause(dependency, "circuit_open", `${dependency} circuit is open`, longest.retryAfterMs());
    },
  };
}
