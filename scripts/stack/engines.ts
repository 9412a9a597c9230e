/**
 * The search engines the stack can start, and where each comes from. Every one is an
 * integration-test distribution on Maven Central (the only place this project's machines can
 * download from): the server without a bundled JDK and without most plugins, about 35–100 MB.
 */
export type EngineName = "elasticsearch" | "opensearch";

export interface EngineDistribution {
  readonly engine: EngineName;
  readonly version: string;
}

export const DEFAULT_ES_VERSION = "8.19.7";

/** The engines the engine-parameterised tests run on besides the default (see test/integration/engines.test.ts). */
export const EXTRA_ENGINES: readonly EngineDistribution[] = [
  { engine: "elasticsearch", version: process.env.DRIFTLESS_ES9_VERSION ?? "9.5.0" },
  { engine: "opensearch", version: process.env.DRIFTLESS_OPENSEARCH_VERSION ?? "2.19.3" },
];

/** Maven coordinates of the distribution's zip (`groupId:artifactId:version:zip`). */
export function mavenArtifact({ engine, version }: EngineDistribution): string {
  return `org.${engine}.distribution.integ-test-zip:${engine}:${version}:zip`;
}

/** The directory the zip unpacks into, and the cache keeps under that name. */
export function unpackedName({ engine, version }: EngineDistribution): string {
  return `${engine}-${version}`;
}

/** The server's launcher, relative to its home. */
export function launcherPath({ engine }: EngineDistribution): string {
  return `bin/${engine}`;
}

/**
 * The lowest Java the server runs on: Elasticsearch 9 needs 21, Elasticsearch 8 and OpenSearch 2
 * run on 17 (OpenSearch 3 needs 21 too).
 */
export function minimumJava({ engine, version }: EngineDistribution): number {
  const major = Number.parseInt(version, 10);
  if (engine === "elasticsearch") return major >= 9 ? 21 : 17;
  return major >= 3 ? 21 : 11;
}
