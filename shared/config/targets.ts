import { z } from "zod";

/**
 * Search targets besides the default one (the ELASTICSEARCH_* settings): a named engine a source
 * can write to with `"target": "<name>"`. Defined in the sources file's `targets` map, beside the
 * sources, because which engine a source's data lives in is part of what the source is. Secrets
 * never sit in that file: a target names the environment variables that hold them, read once at
 * start. docs/engines.md.
 */
const envName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "the name of an environment variable");

export const targetSchema = z
  .object({
    engine: z.enum(["elasticsearch", "opensearch"]),
    /** `http(s)://` URL of the engine; no credentials in it (use the *Env fields). */
    url: z
      .url({ protocol: /^https?$/ })
      .refine(
        (url) => !/^https?:\/\/[^/]*@/.test(url),
        "no credentials in the URL: name them with usernameEnv/passwordEnv or apiKeyEnv",
      ),
    /** The environment variable holding an API key (Elasticsearch only). */
    apiKeyEnv: envName.optional(),
    usernameEnv: envName.optional(),
    passwordEnv: envName.optional(),
    /** A PEM CA certificate to trust, for a cluster with a self-signed certificate. */
    caFile: z.string().min(1).optional(),
  })
  .strict()
  .refine((target) => (target.usernameEnv === undefined) === (target.passwordEnv === undefined), {
    message: "usernameEnv and passwordEnv go together",
    path: ["passwordEnv"],
  })
  .refine((target) => !(target.apiKeyEnv && target.usernameEnv), {
    message: "either apiKeyEnv or usernameEnv/passwordEnv, not both",
    path: ["apiKeyEnv"],
  })
  .refine((target) => !(target.apiKeyEnv && target.engine === "opensearch"), {
    message: "OpenSearch has no API keys: use usernameEnv and passwordEnv",
    path: ["apiKeyEnv"],
  });

/** The name of the target the ELASTICSEARCH_* settings describe; a source without `target` writes there. */
export const DEFAULT_TARGET = "default";

export const targetsSchema = z
  .record(z.string().regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, "lowercase letters, digits, - and _"), targetSchema)
  .refine((targets) => !(DEFAULT_TARGET in targets), {
    message: `"${DEFAULT_TARGET}" is the ELASTICSEARCH_* settings' target and cannot be redefined`,
  });

export type TargetDefinition = z.infer<typeof targetSchema>;

/** A target with its secrets read from the environment: what createSearchClient takes. */
export interface TargetConfig {
  readonly engine: "elasticsearch" | "opensearch";
  readonly node: string;
  readonly apiKey?: string | undefined;
  readonly username?: string | undefined;
  readonly password?: string | undefined;
  readonly caFile?: string | undefined;
}

/**
 * Reads each secret a target names from the environment. A variable that is named but unset is a
 * problem said at start (naming the variable, never a value), not a 401 on the first write.
 */
export function resolveTarget(
  name: string,
  target: TargetDefinition,
  env: Record<string, string | undefined>,
): { ok: true; value: TargetConfig } | { ok: false; message: string } {
  const missing = [target.apiKeyEnv, target.usernameEnv, target.passwordEnv].filter(
    (variable): variable is string => variable !== undefined && !env[variable],
  );
  if (missing.length > 0) {
    return { ok: false, message: `target "${name}": environment variable ${missing.join(", ")} is not set` };
  }
  const read = (variable: string | undefined) => (variable === undefined ? undefined : env[variable]);
  return {
    ok: true,
    value: {
      engine: target.engine,
      node: target.url,
      apiKey: read(target.apiKeyEnv),
      username: read(target.usernameEnv),
      password: read(target.passwordEnv),
      caFile: target.caFile,
    },
  };
}
