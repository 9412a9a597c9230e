import { createRequire } from "node:module";
import { extname } from "node:path";
import type { DocKey } from "../core/keys.js";

/** What a transform is told besides the document. */
export interface TransformContext {
  /** The source's name. */
  readonly source: string;
  /** The document's Cosmos key (id and partition key value). */
  readonly key: DocKey;
  /**
   * The document of another container that this document points at through the source's
   * relation `name` (its `foreignKey`), as read for this batch; undefined when the document holds
   * no foreign key or the related document does not exist. Throws for a relation the source does
   * not define. docs/_incoming/relations.md.
   */
  related(name: string): Record<string, unknown> | undefined;
}

/**
 * A source's transform (docs/transforms.md): the Cosmos document, system fields included, to the
 * document to index, or `null`/`undefined` to keep it out of the index (and delete it there).
 * Synchronous: the sync maps a batch in one go, and a promise would hold the batch's leases on
 * whatever the transform waits for.
 */
export type TransformFunction = (document: Record<string, unknown>, context: TransformContext) => unknown;

/** A transform module that cannot be used: missing, failing to load, or not exporting a function. */
export class TransformLoadError extends Error {
  override readonly name = "TransformLoadError";
}

const TYPESCRIPT = new Set([".ts", ".mts", ".cts"]);
const requireModule = createRequire(import.meta.url);

/**
 * Loads the module at `path` (absolute) synchronously and returns its export `exportName`.
 *
 * `require` rather than `import()`: configuration is validated synchronously, once, at start
 * (shared/config/load-config.ts), and Node (20.19 and later, as package.json's engines ask) loads
 * ES modules with `require` too, as long as they do not use top-level await. Node caches the module,
 * so the mapper of every process part (sync, reimport, rebuild) gets the same function.
 *
 * TypeScript is loaded only where Node strips types itself (`process.features.typescript`); anywhere
 * else the module must be compiled to JavaScript first, since the deployed app carries no TypeScript
 * loader.
 */
export function loadTransform(path: string, exportName: string): TransformFunction {
  if (TYPESCRIPT.has(extname(path)) && !(process.features as { typescript?: unknown }).typescript) {
    throw new TransformLoadError(
      "this Node cannot load TypeScript: compile the transform to JavaScript (.js, .mjs or .cjs) and name that file",
    );
  }
  let loaded: unknown;
  try {
    loaded = requireModule(path);
  } catch (error) {
    throw new TransformLoadError(loadFailure(error));
  }
  const exported = exportOf(loaded, exportName);
  if (typeof exported !== "function") {
    throw new TransformLoadError(
      exported === undefined
        ? `the module has no export "${exportName}"`
        : `its export "${exportName}" is a ${typeof exported}, not a function`,
    );
  }
  return exported as TransformFunction;
}

/** A CommonJS module that assigns a function to module.exports is its own default export. */
function exportOf(loaded: unknown, exportName: string): unknown {
  if (typeof loaded === "function" && exportName === "default") return loaded;
  if (loaded === null || (typeof loaded !== "object" && typeof loaded !== "function")) return undefined;
  return (loaded as Record<string, unknown>)[exportName];
}

function loadFailure(error: unknown): string {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (code === "MODULE_NOT_FOUND" || code === "ERR_MODULE_NOT_FOUND") {
    // Also when the module is there but one of its own imports is not: Node's first line names which.
    const first = String((error as Error).message).split("\n")[0];
    return `not found (${first})`;
  }
  if (code === "ERR_REQUIRE_ASYNC_MODULE") return "it uses top-level await, which a transform module cannot";
  if (error instanceof Error) return `it failed to load: ${error.name}: ${error.message.split("\n")[0]}`;
  return `it failed to load: ${String(error)}`;
}
