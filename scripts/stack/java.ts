import { existsSync, readdirSync, readFileSync, realpathSync } from "node:fs";
import { dirname, join } from "node:path";
import { StackError } from "./errors.js";
import { findExecutable } from "./executables.js";

const DEBIAN_JDK_17 = "/usr/lib/jvm/java-17-openjdk-amd64";
const JVM_DIR = "/usr/lib/jvm";
/** A JDK without a `release` file is taken for 17, the lowest any engine here runs on, as before versions were checked. */
const UNKNOWN_AS = 17;

/**
 * The JDK a search engine runs on: ES_JAVA_HOME, then JAVA_HOME, then Debian's JDK 17, then the
 * one behind `java` on PATH, then any other JDK under /usr/lib/jvm (newest first); the first whose
 * version is at least `minimum`. The integration-test distributions ship no JDK of their own, and
 * Elasticsearch 9 needs 21 where the machines' default is 17 (a Temurin 25 sits beside it).
 */
export function findJavaHome(env: NodeJS.ProcessEnv = process.env, minimum = 17): string {
  const candidates = [env.ES_JAVA_HOME, env.JAVA_HOME, DEBIAN_JDK_17];
  const java = findExecutable("java", env);
  if (java !== null) candidates.push(dirname(dirname(realpathSync(java))));
  candidates.push(...installedJdks());
  for (const home of candidates) {
    if (home && existsSync(join(home, "bin", "java")) && (javaVersion(home) ?? UNKNOWN_AS) >= minimum) return home;
  }
  throw new StackError(
    "elasticsearch",
    `no JDK ${minimum} or newer found: set ES_JAVA_HOME or JAVA_HOME, or install one (apt-get install -y default-jdk-headless)`,
  );
}

/** JDKs under /usr/lib/jvm, the newest first. */
function installedJdks(): string[] {
  if (!existsSync(JVM_DIR)) return [];
  const homes = readdirSync(JVM_DIR).map((name) => join(JVM_DIR, name));
  return homes.sort((a, b) => (javaVersion(b) ?? 0) - (javaVersion(a) ?? 0));
}

/**
 * The feature version from the JDK's `release` file (JAVA_VERSION="17.0.15", "25"), without
 * starting a JVM; undefined when there is none.
 */
export function javaVersion(home: string): number | undefined {
  try {
    const release = readFileSync(join(home, "release"), "utf8");
    const match = /^JAVA_VERSION="(?:1\.)?(\d+)/m.exec(release);
    return match ? Number(match[1]) : undefined;
  } catch {
    return undefined;
  }
}
