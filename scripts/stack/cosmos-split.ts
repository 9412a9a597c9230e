import { readFileSync } from "node:fs";
import { request } from "node:https";
import { ConfigError } from "../../shared/core/errors.js";
import { StackError } from "./errors.js";

export interface PartitionKeyRange {
  readonly id: string;
  readonly minInclusive: string;
  readonly maxExclusive: string;
  readonly parents: readonly string[];
}

export interface SplitResult {
  readonly parent: PartitionKeyRange;
  readonly children: readonly [PartitionKeyRange, PartitionKeyRange];
}

/**
 * Splits a partition key range of a container in the local emulator in two, as Cosmos DB splits a
 * partition that grows (the emulator's `POST /_emulator/split`, see its patch). Without
 * `rangeId`, the range holding the most documents. Only the emulator has this: against a Cosmos
 * DB account the request fails.
 */
export async function splitPartitionKeyRange(
  emulator: { readonly endpoint: string; readonly caFile?: string | null },
  target: { readonly database: string; readonly container: string; readonly rangeId?: string },
): Promise<SplitResult> {
  const url = new URL("/_emulator/split", emulator.endpoint);
  if (!["localhost", "127.0.0.1", "[::1]"].includes(url.hostname)) {
    throw new ConfigError(
      "COSMOS_ENDPOINT",
      `is ${emulator.endpoint}: splitting a partition on demand works with the local emulator only`,
    );
  }
  const body = JSON.stringify(target);
  const { status, text } = await new Promise<{ status: number; text: string }>((resolve, reject) => {
    const call = request(
      url,
      {
        method: "POST",
        headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body) },
        ...(emulator.caFile ? { ca: readFileSync(emulator.caFile) } : {}),
        agent: false,
        timeout: 10_000,
      },
      (response) => {
        let text = "";
        response.setEncoding("utf8");
        response.on("data", (chunk: string) => (text += chunk));
        response.on("end", () => resolve({ status: response.statusCode ?? 0, text }));
      },
    );
    call.once("timeout", () => call.destroy(new Error("no answer within 10 s")));
    call.once("error", reject);
    call.end(body);
  }).catch((error: unknown) => {
    throw new StackError(
      "cosmos",
      `cannot reach the Cosmos DB emulator at ${emulator.endpoint}: ${error instanceof Error ? error.message : String(error)}`,
      { cause: error },
    );
  });
  if (status !== 200) {
    let message = text;
    try {
      message = (JSON.parse(text) as { message?: string }).message ?? text;
    } catch {
      // not JSON: quote it as it is
    }
    throw new StackError("cosmos", `the emulator refused the split (${status}): ${message}`);
  }
  return JSON.parse(text) as SplitResult;
}
