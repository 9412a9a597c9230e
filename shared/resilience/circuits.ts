import type { Logger } from "../telemetry/logger.js";
import {
  createCircuit,
  DEFAULT_CIRCUIT_OPTIONS,
  type Circuit,
  type CircuitOptions,
  type CircuitStateName,
} from "./circuit.js";
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
  /**
   * Tries each circuit that is open and due for a trial with its probe (a cheap call such as a
   * ping). The sync calls this when it found nothing to claim: an idle process makes no other call
   * that could close the circuit, and its status would say "open" long after the dependency is back.
   * Never throws; a failed probe keeps the circuit open, as a failed trial call does.
   */
  idle(): Promise<void>;
}

/** A cheap call to a dependency that throws a DependencyError when it is down. */
export type Probe = () => Promise<void>;

export function createCircuits(
  options: CircuitOptions = DEFAULT_CIRCUIT_OPTIONS,
  logger: Logger,
  probes: Partial<Record<Dependency, Probe>> = {},
): Circuits {
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
    async idle() {
      const due = all.filter(
        (circuit) => circuit.state() !== "closed" && circuit.retryAfterMs() === 0 && probes[circuit.dependency],
      );
      await Promise.all(due.map((circuit) => circuit.execute(probes[circuit.dependency]!).catch(() => undefined)));
    },
  };
}
