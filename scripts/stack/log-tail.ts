import { readFile } from "node:fs/promises";

// Java stack frames ("\tat …", "\t... 12 more") would push the line that names the cause out of
// the tail; Node's frames are indented with spaces and kept.
const JAVA_FRAME = /^\t+(at |\.\.\. \d+ more)/;

/** The last `lines` lines of a log file, without Java stack frames, or a note that it could not be read. */
export async function tailFile(path: string, lines = 40): Promise<string> {
  try {
    const text = await readFile(path, "utf8");
    return text
      .trimEnd()
      .split("\n")
      .filter((line) => !JAVA_FRAME.test(line))
      .slice(-lines)
      .join("\n");
  } catch (error) {
    return `(could not read ${path}: ${(error as Error).message})`;
  }
}
