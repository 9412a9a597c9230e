import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { chmod, mkdir, mkdtemp, readdir, rename, rm } from "node:fs/promises";
import { homedir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { StackError } from "./errors.js";
import { findExecutable } from "./executables.js";
import { isRoot } from "./unprivileged.js";

const run = promisify(execFile);

export const DEFAULT_ES_VERSION = "8.19.7";

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

/**
 * Returns the home of an unpacked Elasticsearch `version`, fetching it on first use. It is the
 * integration-test distribution from Maven Central (the only place this project's machines can
 * download from): no bundled JDK, no plugins beyond security and transport, about 100 MB.
 * Concurrent callers are safe: each unpacks into its own directory and the first rename wins.
 */
export async function ensureElasticsearch(
  version = process.env.DRIFTLESS_ES_VERSION ?? DEFAULT_ES_VERSION,
  env: NodeJS.ProcessEnv = process.env,
): Promise<string> {
  const cache = cacheDir(env);
  const home = join(cache, `elasticsearch-${version}`);
  if (existsSync(join(home, "bin", "elasticsearch"))) return home;

  await mkdir(cache, { recursive: true, mode: 0o755 });
  const work = await mkdtemp(join(cache, `.fetch-${version}-`));
  try {
    const zip = await fetchWithMaven(version, work, env);
    await unzip(zip, work, env);
    const unpacked = join(work, `elasticsearch-${version}`);
    if (!existsSync(join(unpacked, "bin", "elasticsearch"))) {
      const found = (await readdir(work)).join(", ");
      throw new StackError(
        "elasticsearch",
        `${zip} did not contain elasticsearch-${version}/bin/elasticsearch, only: ${found}`,
      );
    }
    await chmod(unpacked, 0o755);
    await rename(unpacked, home).catch((error: NodeJS.ErrnoException) => {
      // Another process finished first; its copy is as good as ours.
      if (!existsSync(join(home, "bin", "elasticsearch"))) throw error;
    });
    return home;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

async function fetchWithMaven(version: string, outputDir: string, env: NodeJS.ProcessEnv): Promise<string> {
  const mvn = findExecutable("mvn", env);
  if (mvn === null) {
    throw new StackError("elasticsearch", "mvn not found on PATH: apt-get install -y maven (or set ELASTICSEARCH_URL)");
  }
  const artifact = `org.elasticsearch.distribution.integ-test-zip:elasticsearch:${version}:zip`;
  // dependency:copy resolves through the local repository (~/.m2) like dependency:get, and puts
  // the file where we ask, whatever the user's settings.xml says about the repository's location.
  const args = ["-B", "-q", "dependency:copy", `-Dartifact=${artifact}`, `-DoutputDirectory=${outputDir}`];
  try {
    await run(mvn, args, { env, cwd: outputDir, maxBuffer: 64 * 1024 * 1024 });
  } catch (error) {
    const { stdout = "", stderr = "", code } = error as { stdout?: string; stderr?: string; code?: number | string };
    throw new StackError(
      "elasticsearch",
      `mvn ${args.join(" ")} failed (exit ${String(code)}):\n${stdout}${stderr}`.trimEnd(),
      { cause: error },
    );
  }
  return join(outputDir, `elasticsearch-${version}.zip`);
}

async function unzip(zip: string, into: string, env: NodeJS.ProcessEnv): Promise<void> {
  const unzipBinary = findExecutable("unzip", env);
  if (unzipBinary === null) throw new StackError("elasticsearch", "unzip not found on PATH: apt-get install -y unzip");
  try {
    await run(unzipBinary, ["-q", "-o", zip, "-d", into], { maxBuffer: 16 * 1024 * 1024 });
  } catch (error) {
    const { stdout = "", stderr = "" } = error as { stdout?: string; stderr?: string };
    throw new StackError("elasticsearch", `unzip ${zip} failed:\n${stdout}${stderr}`.trimEnd(), { cause: error });
  } finally {
    await rm(zip, { force: true });
  }
}
