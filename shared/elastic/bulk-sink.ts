import { Buffer } from "node:buffer";
import type { SearchClient as Client } from "./search-client.js";
import { DependencyError } from "../core/errors.js";
import { classifyItem, classifyRequestFailure, type BulkItemResult, type Verdict } from "./classify.js";
import { IndexMissingError } from "./errors.js";
import { isConnectionError, toRequestFailure, type RequestFailure } from "./failure.js";
import { decideSharedDeletes, overTombstones, SharedEntriesUnreadable, type OwnEntryDecision } from "./own-entries.js";
import { DRIFTLESS_METADATA } from "./metadata.js";
import { documentText } from "./serialize.js";
import type { ItemOutcome, Sink, SinkOp, WriteGuard } from "../sync/ports.js";

export interface BulkSinkOptions {
  /** `wait_for` makes each write visible to search before it returns (tests, demos). @defaultValue false */
  readonly refresh?: false | "wait_for";
  /**
   * Refuse to write unless the target is an alias, so a missing alias never lets Elasticsearch
   * auto-create an index with a guessed mapping. A sink that fills a concrete index version
   * during a rebuild turns this off. @defaultValue true
   */
  readonly requireAlias?: boolean;
  /**
   * `external` makes an equal version a conflict too. A reimport scan writes documents it read
   * outside the queue's per-key exclusivity, so a live write of the same second must win over it:
   * the scan uses `external`, and the conflict counts as success. @defaultValue "external_gte"
   */
  readonly versionType?: "external_gte" | "external";
}

interface BulkResponseBody {
  readonly errors: boolean;
  readonly items: ReadonlyArray<Readonly<Record<string, BulkItemResult>>>;
}

/** The response fields the sink reads (filter_path). */
const RESPONSE_FIELDS = "errors,items.*.status,items.*.error,error,status";

/** Elasticsearch refuses the whole request when one `_id` is longer than this. */
const MAX_ID_BYTES = 512;
const METADATA = DRIFTLESS_METADATA.field;

/**
 * The Sink over `_bulk`: one request per `write`, with external versions (`external_gte`, the
 * document's `_ts`), every item matched back by position and classified (classify.ts).
 *
 * Never throws for an item. Throws only when the request as a whole is refused for a reason no
 * document can fix, so that it shows up as one clear error instead of thousands of dead letters:
 * - IndexMissingError: every item said the alias does not exist;
 * - DependencyError (retryable false, with statusCode): 401, 403 or another non-transient 4xx on
 *   the request, or 401/403 on any item (Elasticsearch checks index privileges and write blocks
 *   per item). The items written in the same request are written again later, which their
 *   external versions make harmless;
 * - whatever the guard throws before a request (the sync's lease check), that request unsent.
 */
export function createBulkSink(client: Client, options: BulkSinkOptions = {}): Sink {
  const { refresh = false, requireAlias = true, versionType = "external_gte" } = options;

  const post = async (
    alias: string,
    ops: readonly SinkOp[],
    positions: readonly number[],
    versions: ReadonlyMap<number, number>,
    verdicts: (Verdict | undefined)[],
    guard: WriteGuard | undefined,
  ) => {
    const sent: number[] = [];
    const lines: string[] = [];
    for (const i of positions) {
      const op = ops[i]!;
      const version = versions.get(i);
      const problem = serialize(version === undefined ? op : { ...op, version }, lines, versionType);
      if (problem === undefined) sent.push(i);
      else verdicts[i] = { outcome: "dead", error: problem };
    }
    /**
     * The raw results of `sharedId` writes that met a version conflict, the only ones
     * writeOverTombstones looks at again (kept for those alone: a map entry per item was garbage).
     */
    const items = new Map<number, BulkItemResult | undefined>();
    if (sent.length === 0) return { sent, items };
    // The trailing newline as a last empty line: joined in one flat string, where appending it
    // after the join made a rope that the request's byte count then copied whole again.
    lines.push("");
    // Sent as bytes: the HTTP client turns a string body into a Buffer anyway, and the string,
    // held through the request for a resend (and by the client's diagnostics), outlived the young
    // generation's collections that other batches' reads set off, was promoted, and every
    // request's body then cost a full collection's marking and sweeping (bench/results/history.md).
    const body = Buffer.from(lines.join("\n"));
    const result = await send(client, alias, body, { refresh, requireAlias, guard }, sent.length);
    sent.forEach((opIndex, n) => {
      const item = "items" in result ? resultOf(result.items[n]) : undefined;
      if (item?.status === 409 && ops[opIndex]!.sharedId) items.set(opIndex, item);
      verdicts[opIndex] = "items" in result ? classifyItem(ops[opIndex]!.action, item) : result.all;
    });
    return { sent, items };
  };

  return {
    async write(alias: string, ops: readonly SinkOp[], guard?: WriteGuard): Promise<ItemOutcome[]> {
      const verdicts: (Verdict | undefined)[] = new Array(ops.length);
      const positions: number[] = [];
      const versions = new Map<number, number>();
      let decisions: Map<number, OwnEntryDecision>;
      try {
        decisions = await decideSharedDeletes(client, alias, ops);
      } catch (error) {
        if (!(error instanceof SharedEntriesUnreadable)) throw error;
        return requestFailed(alias, ops, error.failure);
      }
      for (const [i, decision] of decisions) {
        if ("skip" in decision) verdicts[i] = { outcome: "ok" };
        else if ("retry" in decision) verdicts[i] = { outcome: "retry", error: decision.retry };
        else versions.set(i, decision.version);
      }
      ops.forEach((_, i) => {
        if (verdicts[i] === undefined) positions.push(i);
      });
      const { sent, items } = await post(alias, ops, positions, versions, verdicts, guard);
      // A refusal no document can fix (401/403 on items): one error for the batch, not a dead letter per key.
      const refused = sent.map((i) => verdicts[i]).filter(isRefused);
      if (refused.length > 0) throw itemRefusal(alias, refused, sent.length);
      if (sent.length > 0 && sent.every((i) => isIndexMissing(verdicts[i]))) throw new IndexMissingError(alias);
      if (versionType === "external_gte") await writeOverTombstones(alias, ops, items, verdicts, guard);
      return ops.map((op, i) => outcomeOf(op.member, verdicts[i] as ItemVerdict));
    },
  };

  /** `sharedId` sync writes kept out by another key's tombstone, written again at its version (own-entries.ts). */
  async function writeOverTombstones(
    alias: string,
    ops: readonly SinkOp[],
    items: ReadonlyMap<number, BulkItemResult | undefined>,
    verdicts: (Verdict | undefined)[],
    guard: WriteGuard | undefined,
  ) {
    const conflicts = [...items].flatMap(([position, item]) => {
      const op = ops[position]!;
      const conflict = item?.status === 409 && item.error?.type === "version_conflict_engine_exception";
      return op.action === "index" && op.sharedId && conflict ? [{ position, op, item }] : [];
    });
    if (conflicts.length === 0) return;
    const versions = await overTombstones(client, alias, conflicts);
    if (versions.size === 0) return;
    const again = await post(alias, ops, [...versions.keys()], versions, verdicts, guard);
    for (const [position, item] of again.items) {
      // A second conflict: another delete came in between. The key is tried again, not acked.
      if (item?.status === 409)
        verdicts[position] = {
          outcome: "retry",
          error: "the document's _id was deleted again by another key while it was written",
        };
    }
  }
}

/** Appends the action and source lines for one op; returns why the op cannot be sent, if so. */
function serialize(op: SinkOp, lines: string[], versionType: "external_gte" | "external"): string | undefined {
  if (op.id === "" || Buffer.byteLength(op.id) > MAX_ID_BYTES) {
    return `invalid _id: must be 1 to ${MAX_ID_BYTES} bytes (it is ${Buffer.byteLength(op.id)})`;
  }
  if (!Number.isSafeInteger(op.version) || op.version < 0) {
    return `invalid version ${String(op.version)}: must be a non-negative integer`;
  }
  const routing = op.routing === undefined ? "" : `,"routing":${JSON.stringify(op.routing)}`;
  const meta = `{"_id":${JSON.stringify(op.id)},"version":${op.version},"version_type":"${versionType}"${routing}`;
  if (op.action === "delete") {
    lines.push(`{"delete":${meta}}}`);
    return undefined;
  }
  const pipeline = op.pipeline === undefined ? "" : `,"pipeline":${JSON.stringify(op.pipeline)}`;
  const text = documentText(op.document);
  if ("invalid" in text) return text.invalid;
  const { json } = text;
  // Splice the metadata into the serialized document instead of copying every document object.
  // The version is a safe integer (checked above): the same text JSON.stringify({ key, ts[, source] })
  // gives, without the object.
  const source = op.source === undefined ? "" : `,"source":${JSON.stringify(op.source)}`;
  const stamp = `{"${METADATA}":{"key":${JSON.stringify(op.member)},"ts":${op.version}${source}}`;
  lines.push(`{"index":${meta}${pipeline}}}`, json === "{}" ? `${stamp}}` : `${stamp},${json.slice(1)}`);
  return undefined;
}

/**
 * Resends after a dropped connection or a 502/503/504 (a keep-alive socket the server closed, a
 * proxy's blip), as the client's own `maxRetries` would; done here, so the guard is asked before
 * the resend too. Timeouts are not resent: the request may still be running in Elasticsearch.
 */
const RESENDS = 1;
const RESEND_STATUSES: ReadonlySet<number> = new Set([502, 503, 504]);

function worthResending(error: unknown): boolean {
  if (isConnectionError(error)) return true;
  const failure = toRequestFailure(error);
  return failure.responded && RESEND_STATUSES.has(failure.statusCode ?? 0);
}

async function send(
  client: Client,
  alias: string,
  body: Buffer,
  options: { refresh: false | "wait_for"; requireAlias: boolean; guard: WriteGuard | undefined },
  opCount: number,
): Promise<{ items: BulkResponseBody["items"] } | { all: Verdict }> {
  // Only what classification reads: an item's status and error (and a whole-request error). The
  // full answer repeats index, id, version, shards and sequence numbers for every item, about 8
  // times the bytes, all of which the client would parse for nothing.
  const querystring: Record<string, string> = { filter_path: RESPONSE_FIELDS };
  if (options.requireAlias) querystring.require_alias = "true";
  if (options.refresh) querystring.refresh = options.refresh;
  for (let sent = 0; ; sent++) {
    // Outside the try: a guard's refusal is not a failure of Elasticsearch, and reaches the caller as it is.
    await options.guard?.beforeRequest();
    try {
      const response = await client.transport.request<BulkResponseBody>(
        {
          method: "POST",
          path: `/${encodeURIComponent(alias)}/_bulk`,
          querystring,
          bulkBody: body,
          meta: { name: "bulk", pathParts: { index: alias } },
        },
        { maxRetries: 0 },
      );
      if (Array.isArray(response?.items)) return { items: response.items };
      return { all: { outcome: "retry", error: "the bulk response has no items" } };
    } catch (error) {
      if (sent < RESENDS && worthResending(error)) continue;
      const failure = toRequestFailure(error);
      const verdict = classifyRequestFailure(failure, opCount, body.length);
      if (verdict.outcome !== "throw") return { all: verdict };
      throw new DependencyError(
        "elasticsearch",
        `elasticsearch refused the bulk request to "${alias}": ${failure.description}`,
        {
          retryable: false,
          ...(failure.statusCode === undefined ? {} : { statusCode: failure.statusCode }),
        },
      );
    }
  }
}

/** Every op of a write whose request could not be made, judged as send() judges a failed bulk request. */
function requestFailed(alias: string, ops: readonly SinkOp[], failure: RequestFailure): ItemOutcome[] {
  const verdict = classifyRequestFailure(failure, ops.length, 0);
  if (verdict.outcome === "throw") {
    throw new DependencyError(
      "elasticsearch",
      `elasticsearch refused a request of the write to "${alias}": ${failure.description}`,
      {
        retryable: false,
        ...(failure.statusCode === undefined ? {} : { statusCode: failure.statusCode }),
      },
    );
  }
  return ops.map((op) => outcomeOf(op.member, verdict as ItemVerdict));
}

/** A bulk item is `{ "<action>": result }`; the action key is not needed, the position says which op it is. */
function resultOf(item: Readonly<Record<string, BulkItemResult>> | undefined): BulkItemResult | undefined {
  if (!item) return undefined;
  for (const key in item) return item[key];
  return undefined;
}

type RefusedVerdict = Extract<Verdict, { outcome: "refused" }>;
type ItemVerdict = Exclude<Verdict, RefusedVerdict>;

function isRefused(verdict: Verdict | undefined): verdict is RefusedVerdict {
  return verdict?.outcome === "refused";
}

/** The same error a request refused as a whole gets, so the engine releases the keys and the circuit counts it. */
function itemRefusal(alias: string, refused: readonly RefusedVerdict[], sent: number): DependencyError {
  const first = refused[0]!;
  return new DependencyError(
    "elasticsearch",
    `elasticsearch refused ${refused.length} of ${sent} writes to "${alias}": ${first.statusCode} ${first.error}`,
    { retryable: false, statusCode: first.statusCode },
  );
}

function isIndexMissing(verdict: Verdict | undefined): boolean {
  return verdict?.outcome === "retry" && verdict.indexMissing === true;
}

function outcomeOf(member: string, verdict: ItemVerdict): ItemOutcome {
  return verdict.outcome === "ok"
    ? { member, outcome: "ok" }
    : { member, outcome: verdict.outcome, error: verdict.error };
}
