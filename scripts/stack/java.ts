import { existsSync, realpathSync } from "node:fs";
import { dirname, join } from "node:path";
import { StackError } from "./errors.js";
import { findExecutable } from "./executables.js";

const DEBIAN_JDK_17 = "/usr/lib/jvm/java-17-openjdk-amd64";

/**
 * The JDK Elasticsearch runs on: ES_JAVA_HOME, then JAVA_HOME, then Debian's JDK 17, then the
 * one behind `java` on PATH. The integration-test distribution ships no JDK of its own.
 */
export function findJavaHome(env: NodeJS.ProcessEnv = process.env): string {
  const candidates = [env.ES_JAVA_HOME, env.JAVA_HOME, DEBIAN_JDK_17];
  const java = findExecutable("java", env);
  if (java !== null) candidates.push(dirname(dirname(realpathSync(java))));
  for (const home of candidates) {
    if (home && existsSync(join(home, "bin", "java"))) return home;
  }
  throw new StackError(
    "elasticsearch",
    "no JDK found for Elasticsearch: set ES_JAVA_HOME or JAVA_HOME, or install one (apt-get install -y default-jdk-headless)",
  );
}
