import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { chmod, mkdir, mkdtemp, readdir, rename, rm } from "node:fs/promises";
import { homedir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { StackError } from "./errors.js";
import { findExecutable } from "./executables.js";
import {
  DEFAULT_ES_VERSION,
  launcherPath,
  mavenArtifact,
  unpackedName,
  type EngineDistribution,
  type EngineName,
} from "./engines.js";
import { isRoot } from "./unprivileged.js";

const run = promisify(execFile);

export { DEFAULT_ES_VERSION };

/**
 * Where unpacked distributions are kept between runs: DRIFTLESS_CACHE_DIR, else
 * $XDG_CACHE_HOME/driftless, else for root /var/cache/driftless (root's home is not readable by
 * `nobody`, who runs Elasticsearch), else ~/.cache/driftless.
 */
export function cacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.DRIFTLESS_CACHE_DIR) return env.DRIFTLESS_CACHE_DIR;
  if (env.XDG_CACHE_HOME) return join(env.XDG_CACHE_HOME, "driftless");
  return isRoot() ? "/var/cache/driftless" : join(homedir(), ".cache", "driftless");
}

/** Returns the home of an unpacked Elasticsearch `version`, fetching it on first use (ensureDistribution). */
export async function ensureElasticsearch(
  version = process.env.DRIFTLESS_ES_VERSION ?? DEFAULT_ES_VERSION,
  env: NodeJS.ProcessEnv = process.env,
): Promise<string> {
  return ensureDistribution({ engine: "elasticsearch", version }, env);
}

/**
 * Returns the home of an unpacked engine distribution, fetching it on first use: the
 * integration-test zip from Maven Central (engines.ts). Concurrent callers are safe: each unpacks
 * into its own directory and the first rename wins.
 */
export async function ensureDistribution(
  distribution: EngineDistribution,
  env: NodeJS.ProcessEnv = process.env,
): Promise<string> {
  const cache = cacheDir(env);
  const name = unpackedName(distribution);
  const launcher = launcherPath(distribution);
  const home = join(cache, name);
  if (existsSync(join(home, launcher))) return home;

  await mkdir(cache, { recursive: true, mode: 0o755 });
  const work = await mkdtemp(join(cache, `.fetch-${name}-`));
  try {
    const zip = await fetchWithMaven(distribution, work, env);
    await unzip(zip, work, distribution.engine, env);
    const unpacked = join(work, name);
    if (!existsSync(join(unpacked, launcher))) {
      const found = (await readdir(work)).join(", ");
      throw new StackError(distribution.engine, `${zip} did not contain ${name}/${launcher}, only: ${found}`);
    }
    await chmod(unpacked, 0o755);
    await rename(unpacked, home).catch((error: NodeJS.ErrnoException) => {
      // Another process finished first; its copy is as good as ours.
      if (!existsSync(join(home, launcher))) throw error;
    });
    return home;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

async function fetchWithMaven(
  distribution: EngineDistribution,
  outputDir: string,
  env: NodeJS.ProcessEnv,
): Promise<string> {
  const { engine } = distribution;
  const mvn = findExecutable("mvn", env);
  if (mvn === null) {
    throw new StackError(engine, "mvn not found on PATH: apt-get install -y maven (or set ELASTICSEARCH_URL)");
  }
  const artifact = mavenArtifact(distribution);
  // dependency:copy resolves through the local repository (~/.m2) like dependency:get, and puts
  // the file where we ask, whatever the user's settings.xml says about the repository's location.
  const args = ["-B", "-q", "dependency:copy", `-Dartifact=${artifact}`, `-DoutputDirectory=${outputDir}`];
  try {
    await run(mvn, args, { env, cwd: outputDir, maxBuffer: 64 * 1024 * 1024 });
  } catch (error) {
    const { stdout = "", stderr = "", code } = error as { stdout?: string; stderr?: string; code?: number | string };
    throw new StackError(engine, `mvn ${args.join(" ")} failed (exit ${String(code)}):\n${stdout}${stderr}`.trimEnd(), {
      cause: error,
    });
  }
  return join(outputDir, `${unpackedName(distribution)}.zip`);
}

async function unzip(zip: string, into: string, engine: EngineName, env: NodeJS.ProcessEnv): Promise<void> {
  const unzipBinary = findExecutable("unzip", env);
  if (unzipBinary === null) throw new StackError(engine, "unzip not found on PATH: apt-get install -y unzip");
  try {
    await run(unzipBinary, ["-q", "-o", zip, "-d", into], { maxBuffer: 16 * 1024 * 1024 });
  } catch (error) {
    const { stdout = "", stderr = "" } = error as { stdout?: string; stderr?: string };
    throw new StackError(engine, `unzip ${zip} failed:\n${stdout}${stderr}`.trimEnd(), { cause: error });
  } finally {
    await rm(zip, { force: true });
  }
}
