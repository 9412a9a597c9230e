/**
 * The names driftless derives from a source's alias: the concrete index versions it creates
 * behind the alias and the second alias a rebuild puts on its new index. Kept in one place, with
 * no imports, so the configuration can refuse two sources whose names would collide (a rebuild of
 * one would delete the other's index) with the same rules the index manager creates them by.
 */

/** `${alias}-yyyymmddhhmmssSSS` (UTC): names sort in creation order. */
export function indexVersionName(alias: string, at: Date): string {
  return `${alias}-${at.toISOString().replace(/\D/g, "").slice(0, 17)}`;
}

/** Whether `index` is named as one of `alias`'s index versions (`<alias>-` and 17 digits). */
export function isIndexVersionOf(alias: string, index: string): boolean {
  return (
    index.length === alias.length + 18 &&
    index.startsWith(`${alias}-`) &&
    /^\d{17}$/.test(index.slice(alias.length + 1))
  );
}

/** The alias a rebuild puts on its new index while it fills it (shared/jobs/rebuild.ts). */
export function rebuildAlias(alias: string): string {
  return `${alias}-rebuild`;
}
