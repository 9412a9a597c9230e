import { statSync } from "node:fs";
import { chown, readdir, readFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";

/**
 * Elasticsearch refuses to run as root, and this project's machines run everything as root, so
 * the local stack starts it as `nobody`. These helpers prepare files for that user.
 */
export interface Account {
  readonly name: string;
  readonly uid: number;
  readonly gid: number;
}

export function isRoot(): boolean {
  return process.getuid?.() === 0;
}

/** `nobody` with its primary group (nogroup on Debian), read from /etc/passwd. */
export async function unprivilegedAccount(name = "nobody"): Promise<Account> {
  const passwd = await readFile("/etc/passwd", "utf8");
  for (const line of passwd.split("\n")) {
    const [user, , uid, gid] = line.split(":");
    if (user === name && uid !== undefined && gid !== undefined) {
      return { name, uid: Number(uid), gid: Number(gid) };
    }
  }
  throw new Error(`user ${name} not found in /etc/passwd`);
}

/** chown -R, without following symbolic links out of the tree. */
export async function chownTree(path: string, account: Account): Promise<void> {
  await chown(path, account.uid, account.gid);
  for (const entry of await readdir(path, { withFileTypes: true })) {
    const child = join(path, entry.name);
    if (entry.isDirectory()) await chownTree(child, account);
    else if (!entry.isSymbolicLink()) await chown(child, account.uid, account.gid);
  }
}

/**
 * The first directory on the way to `path` that `account` cannot pass through, or null. Checks
 * the "others" execute bit only, which is what applies to an account that owns none of them.
 */
export function unreachableAncestor(path: string, account: Account): string | null {
  let current = resolve(path);
  for (;;) {
    try {
      const stat = statSync(current);
      const passable = stat.uid === account.uid ? (stat.mode & 0o100) !== 0 : (stat.mode & 0o001) !== 0;
      if (stat.isDirectory() && !passable) return current;
    } catch {
      // does not exist yet: it will be created by us, readable by others
    }
    const parent = dirname(current);
    if (parent === current) return null;
    current = parent;
  }
}
