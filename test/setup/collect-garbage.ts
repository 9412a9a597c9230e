import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";

// The collector on demand (a fresh context sees the flag set after start-up), so that a test can
// tell what is still reachable from what only has not been collected yet.
setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

/** Full collections, with a turn of the event loop between them: what survives is reachable. */
export async function collectGarbage(): Promise<void> {
  for (let i = 0; i < 3; i++) {
    gc();
    await new Promise((resolve) => setImmediate(resolve));
  }
}
