/** The `mappings` body of a create-index request: `properties`, `dynamic`, … (core field types). */
export type IndexMapping = Readonly<Record<string, unknown>>;

/** Index settings (shards, replicas, …), used when an index is created. */
export type IndexSettings = Readonly<Record<string, unknown>>;

/** What an alias and the index versions behind it are made of. */
export interface IndexDefinition {
  /** The name searches and writes use; the concrete index behind it is driftless's to create and swap. */
  readonly alias: string;
  readonly mapping: IndexMapping;
  readonly settings?: IndexSettings | undefined;
}
