import { DriftlessError } from "../core/errors.js";

/**
 * Something about the index or alias itself is wrong: no document can be written until an
 * operator (or `ensureIndex`) fixes it, so these are never per-item outcomes.
 */
export class ElasticIndexError extends DriftlessError {
  readonly alias: string;

  constructor(code: string, alias: string, message: string, options: { retryable?: boolean } = {}) {
    super(code, message, options);
    this.alias = alias;
  }
}

/** The alias name is not a name Elasticsearch accepts (or would expand it as a pattern). */
export class AliasInvalidError extends ElasticIndexError {
  constructor(alias: string, problem: string) {
    super("elastic_alias_invalid", alias, `"${alias}" cannot be an Elasticsearch alias: ${problem}`);
  }
}

/** A concrete index has the alias's name, so the alias cannot be created. */
export class AliasTakenError extends ElasticIndexError {
  constructor(alias: string) {
    super(
      "elastic_alias_taken",
      alias,
      `"${alias}" is a concrete index, not an alias. driftless writes through an alias so it can rebuild ` +
        `the index without downtime: move the data to another index (or delete "${alias}") and run again, ` +
        `or configure a different index name`,
    );
  }
}

/** The alias does not exist; writes are refused rather than letting Elasticsearch auto-create an index. */
export class IndexMissingError extends ElasticIndexError {
  constructor(alias: string) {
    super(
      "elastic_index_missing",
      alias,
      `no alias "${alias}" in Elasticsearch: create it with ensureIndex (done at start-up) before writing`,
    );
  }
}

/** The configured mapping cannot be applied to the existing index: a new index and a reimport are needed. */
export class MappingIncompatibleError extends ElasticIndexError {
  readonly index: string;
  readonly reason: string;

  constructor(alias: string, index: string, reason: string) {
    super(
      "elastic_mapping_incompatible",
      alias,
      `the mapping for "${alias}" cannot be applied to index ${index} (${reason}). Existing fields cannot ` +
        `change type or parameters in place: reimport into a new index version and swap the alias to it`,
    );
    this.index = index;
    this.reason = reason;
  }
}

/** Elasticsearch rejects the mapping or settings themselves (unknown type, bad parameter). */
export class MappingInvalidError extends ElasticIndexError {
  readonly reason: string;

  constructor(alias: string, reason: string) {
    super("elastic_mapping_invalid", alias, `the mapping or settings for "${alias}" are invalid: ${reason}`);
    this.reason = reason;
  }
}
