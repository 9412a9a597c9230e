import { mkdir, rename, writeFile } from "node:fs/promises";
import { dirname } from "node:path";

export type EnvValues = Readonly<Record<string, string | number | boolean | null | undefined>>;

/**
 * Writes `KEY=value` lines (null and undefined values are left out), in the form both dotenv
 * readers and `node --env-file` accept, so other tools can reach the stack `make dev` started.
 * Written to a temporary file and renamed, so a reader never sees half a file; mode 0600 because
 * a real COSMOS_KEY may be among the values.
 */
export async function writeLocalEnv(path: string, values: EnvValues): Promise<void> {
  const lines: string[] = [];
  for (const [key, value] of Object.entries(values)) {
    if (value === null || value === undefined) continue;
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key))
      throw new Error(`writeLocalEnv: invalid variable name ${JSON.stringify(key)}`);
    const text = String(value);
    if (/[\r\n]/.test(text)) throw new Error(`writeLocalEnv: the value of ${key} spans lines`);
    lines.push(`${key}=${text}`);
  }
  await mkdir(dirname(path), { recursive: true });
  const partial = `${path}.${process.pid}.tmp`;
  await writeFile(partial, `${lines.join("\n")}\n`, { mode: 0o600 });
  await rename(partial, path);
}
