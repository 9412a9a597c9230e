import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { chown, cp, mkdir, readFile, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { ensureDistribution } from "./elasticsearch-dist.js";
import { DEFAULT_ES_VERSION, launcherPath, minimumJava, type EngineDistribution, type EngineName } from "./engines.js";
import { StackError } from "./errors.js";
import { findJavaHome } from "./java.js";
import { freePorts } from "./ports.js";
import { ServiceProcess } from "./service-process.js";
import { chownTree, isRoot, unprivilegedAccount, unreachableAncestor, type Account } from "./unprivileged.js";

export { cacheDir, DEFAULT_ES_VERSION, ensureDistribution, ensureElasticsearch } from "./elasticsearch-dist.js";
export { EXTRA_ENGINES, type EngineDistribution, type EngineName } from "./engines.js";

export interface ElasticsearchOptions {
  /** Instance directory: config copy, data, logs, tmp and the console log (elasticsearch.out or opensearch.out). */
  dir: string;
  /** HTTP port. @defaultValue a free port */
  port?: number;
  /** @defaultValue a free port */
  transportPort?: number;
  /** Elasticsearch or OpenSearch. @defaultValue "elasticsearch" */
  engine?: EngineName;
  /** @defaultValue for Elasticsearch DRIFTLESS_ES_VERSION, else 8.19.7; for OpenSearch 2.19.3 */
  version?: string;
  /** An unpacked distribution to use instead of the cached one. */
  home?: string;
  /** JVM heap (-Xms and -Xmx). @defaultValue "512m" */
  heap?: string;
  /** @defaultValue 180_000 (a cold JVM on two busy cores) */
  startTimeoutMs?: number;
  env?: NodeJS.ProcessEnv;
  /** More node settings (`-E name=value`), such as a write thread pool small enough to reject under load. */
  settings?: Readonly<Record<string, string>>;
}

export interface ElasticsearchHandle {
  readonly url: string;
  readonly port: number;
  readonly dir: string;
  /** Graceful shutdown (SIGTERM to the launcher and the server JVM). */
  stop(): Promise<void>;
  /** SIGKILL, as a crash would. */
  kill(): Promise<void>;
  /** Starts the node again with the same data directory and ports; no-op while it runs. */
  start(): Promise<void>;
}

/**
 * Starts a single-node cluster without security, bound to 127.0.0.1, and resolves once its health
 * is yellow or green. As root it runs as `nobody`, because Elasticsearch (and OpenSearch, its
 * fork) refuse to run as root. The same for either engine: OpenSearch kept Elasticsearch 7's
 * settings, launcher and endpoints, with its own name in place of Elasticsearch's.
 */
export async function startElasticsearch(options: ElasticsearchOptions): Promise<ElasticsearchHandle> {
  const { heap = "512m", startTimeoutMs = 180_000, env = process.env, engine = "elasticsearch" } = options;
  const distribution: EngineDistribution = { engine, version: options.version ?? defaultVersion(engine, env) };
  const dir = resolve(options.dir);
  const home = options.home ?? (await ensureDistribution(distribution, env));
  const free = await freePorts(2);
  const port = options.port ?? free[0] ?? 0;
  const transportPort = options.transportPort ?? free.find((candidate) => candidate !== port) ?? 0;
  const runAs = isRoot() ? await unprivilegedAccount() : undefined;
  await prepareInstanceDir(home, dir, runAs, engine);

  const url = `http://127.0.0.1:${port}`;
  // A name of its own, so the readiness probe can tell this node from whatever else may answer on
  // the port (a port taken between freePorts() and the bind).
  const nodeName = `driftless-${randomBytes(4).toString("hex")}`;
  const settings = {
    "cluster.name": "driftless-local",
    "node.name": nodeName,
    // OpenSearch's integration-test distribution has no security plugin, and refuses unknown settings.
    ...(engine === "elasticsearch" ? { "xpack.security.enabled": "false" } : {}),
    "discovery.type": "single-node",
    // No mmap: it needs vm.max_map_count raised, which a container often cannot do.
    "node.store.allow_mmap": "false",
    // A full CI disk must not turn indices read-only in the middle of a test run.
    "cluster.routing.allocation.disk.threshold_enabled": "false",
    "network.host": "127.0.0.1",
    "http.port": String(port),
    "transport.port": String(transportPort),
    "path.data": join(dir, "data"),
    "path.logs": join(dir, "logs"),
    ...options.settings,
  };
  const args = Object.entries(settings).flatMap(([key, value]) => ["-E", `${key}=${value}`]);
  // OpenSearch reads the same variables under its own prefix.
  const prefix = engine === "elasticsearch" ? "ES" : "OPENSEARCH";
  const childEnv: NodeJS.ProcessEnv = {
    ...env,
    [`${prefix}_JAVA_HOME`]: findJavaHome(env, minimumJava(distribution)),
    [`${prefix}_JAVA_OPTS`]: `-Xms${heap} -Xmx${heap}`,
    // A per-instance config directory: the server writes its keystore there, and the cached
    // distribution stays shared and read-only.
    [`${prefix}_PATH_CONF`]: join(dir, "config"),
    [`${prefix}_TMPDIR`]: join(dir, "tmp"),
    HOME: dir,
  };

  let server: ServiceProcess | undefined;
  const start = async (): Promise<void> => {
    if (server?.running) return;
    const started = ServiceProcess.spawn({
      service: engine,
      command: join(home, launcherPath(distribution)),
      args,
      env: childEnv,
      cwd: dir,
      logFile: join(dir, `${engine}.out`),
      runAs,
    });
    server = started;
    await started.waitReady(
      async () => (await localNodeName(url)) === nodeName && (await healthy(url)),
      startTimeoutMs,
    );
  };
  await start();

  return {
    url,
    port,
    dir,
    stop: async () => server?.stop(),
    kill: async () => server?.kill(),
    start,
  };
}

function defaultVersion(engine: EngineName, env: NodeJS.ProcessEnv): string {
  if (engine === "opensearch") return env.DRIFTLESS_OPENSEARCH_VERSION ?? "2.19.3";
  return env.DRIFTLESS_ES_VERSION ?? DEFAULT_ES_VERSION;
}

async function prepareInstanceDir(
  home: string,
  dir: string,
  runAs: Account | undefined,
  engine: EngineName,
): Promise<void> {
  if (runAs) {
    for (const path of [home, dir]) {
      const blocked = unreachableAncestor(path, runAs);
      if (blocked !== null) {
        throw new StackError(
          engine,
          `${engine} runs as ${runAs.name}, who cannot enter ${blocked} (on the way to ${path}): ` +
            `use a directory outside it (for the cache set DRIFTLESS_CACHE_DIR) or chmod o+x ${blocked}`,
        );
      }
    }
  }
  const subdirs = ["data", "logs", "tmp"].map((name) => join(dir, name));
  for (const path of [dir, ...subdirs]) await mkdir(path, { recursive: true, mode: 0o755 });
  const config = join(dir, "config");
  if (!existsSync(config)) {
    await cp(join(home, "config"), config, { recursive: true });
    await logsInInstanceDir(join(config, "jvm.options"), join(dir, "logs"));
  }
  if (runAs) {
    for (const path of [dir, ...subdirs]) await chown(path, runAs.uid, runAs.gid);
    await chownTree(config, runAs);
  }
}

/**
 * Points the JVM's own logs (GC log, crash files) at the instance's logs directory. Elasticsearch 9
 * and OpenSearch name them `logs/…`, relative to the distribution's home where the launcher runs
 * them: a shared cache that `nobody` may not write to, so the JVM would refuse to start.
 */
async function logsInInstanceDir(jvmOptions: string, logs: string): Promise<void> {
  const text = await readFile(jvmOptions, "utf8");
  const moved = text.replace(/([=:])logs\//g, `$1${logs}/`);
  if (moved !== text) await writeFile(jvmOptions, moved);
}

async function healthy(url: string): Promise<boolean> {
  const response = await fetch(`${url}/_cluster/health?wait_for_status=yellow&timeout=1s`, {
    signal: AbortSignal.timeout(5_000),
  });
  if (!response.ok) return false;
  const body = (await response.json()) as { status?: string };
  return body.status === "green" || body.status === "yellow";
}

async function localNodeName(url: string): Promise<string | undefined> {
  const response = await fetch(`${url}/_nodes/_local?filter_path=nodes.*.name`, { signal: AbortSignal.timeout(5_000) });
  if (!response.ok) return undefined;
  const body = (await response.json()) as { nodes?: Record<string, { name?: string }> };
  return Object.values(body.nodes ?? {})[0]?.name;
}
