/**
 * How fast this host runs right now: a fixed piece of CPU work, timed on the bench's own thread
 * once the machine is quiet. The host's speed moves by itself, and /proc/stat does not always say
 * so: on 2026-12-04 three QUICK runs of the same code, minutes apart, took 2½, 3 and 5 minutes,
 * every figure (the queue's enqueues as much as Elasticsearch) fell by up to 3×, and `steal` stayed
 * at 0.00. A figure that missed its target should say whether the host was slow when it was taken;
 * this probe, beside each phase and round, does.
 */
import { benchDoc } from "./docs.js";
import { round } from "./measure.js";

/** The same documents every run (docs.ts generates them from a seed). */
const DOCS = Array.from({ length: 500 }, (_, n) => benchDoc(n));
const PASSES = 4;
const ATTEMPTS = 3;

/** One untimed pass, so that the first probe does not time V8 warming up to this code. */
for (const doc of DOCS) JSON.parse(JSON.stringify(doc));

/**
 * Milliseconds to serialize and parse 2,000 bench documents (about 2 MB of JSON each way), the
 * best of three attempts so that one interruption does not count. Lower is faster; compare it
 * between the phases of a run and between runs on the same machine, not between machines.
 */
export function hostProbeMs(): number {
  let best = Number.POSITIVE_INFINITY;
  let bytes = 0;
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    const started = performance.now();
    for (let pass = 0; pass < PASSES; pass++) {
      for (const doc of DOCS) {
        const text = JSON.stringify(doc);
        bytes += text.length + Object.keys(JSON.parse(text) as object).length;
      }
    }
    best = Math.min(best, performance.now() - started);
  }
  // The work has an observable result, so no engine may skip it.
  if (bytes === 0) throw new Error("the host probe serialized nothing");
  return round(best, 1);
}
