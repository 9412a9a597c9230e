import type { Container } from "@azure/cosmos";

export interface TestDoc {
  id: string;
  tenant: string;
  title: string;
  n: number;
  [field: string]: unknown;
}

/** `count` documents `doc-<i>` over seven tenants. */
export function makeDocs(count: number, prefix = "doc"): TestDoc[] {
  return Array.from({ length: count }, (_, i) => ({
    id: `${prefix}-${i}`,
    tenant: `t${i % 7}`,
    title: `first ${i}`,
    n: i,
  }));
}

/**
 * Creates the documents with a bounded number of requests in flight: the emulator takes ~750
 * creates a second that way, against ~100 one at a time.
 */
export async function createDocuments(container: Container, docs: readonly TestDoc[], concurrency = 16): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < docs.length) {
      const doc = docs[next++]!;
      await retrying(() => container.items.create(doc));
    }
  };
  await Promise.all(Array.from({ length: concurrency }, lane));
}

/**
 * Retries a test's own Cosmos call on a dropped connection: the emulator is single-threaded, and
 * while it serves a large query page a keep-alive socket may be reset under a request.
 */
export async function retrying<T>(call: () => Promise<T>, attempts = 5): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      if (
        attempt >= attempts ||
        !["ECONNRESET", "EPIPE", "ETIMEDOUT", "ECONNREFUSED", "REQUEST_SEND_ERROR"].includes(String(code))
      )
        throw error;
      await new Promise((resolve) => setTimeout(resolve, 200 * attempt));
    }
  }
}
