import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath, pathToFileURL } from "node:url";
import { settingsTable } from "../shared/config/reference.js";

/** The generated part of docs/configuration.md sits between these; the prose around it is written by hand. */
export const START = "<!-- generated:config:start -->";
export const END = "<!-- generated:config:end -->";

export const CONFIG_DOC = fileURLToPath(new URL("../docs/configuration.md", import.meta.url));

/** `doc` with the settings table between the markers replaced by the one settingsSchema gives now. */
export function withSettingsTable(doc: string, table: string = settingsTable()): string {
  const start = doc.indexOf(START);
  const end = doc.indexOf(END);
  if (start < 0 || end < start)
    throw new Error(`docs/configuration.md needs the markers ${START} and ${END}, in that order`);
  return `${doc.slice(0, start + START.length)}\n\n${table}\n\n${doc.slice(end)}`;
}

// `npm run docs:config`: rewrites the table in place.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const current = readFileSync(CONFIG_DOC, "utf8");
  const next = withSettingsTable(current);
  if (next === current) console.log("docs/configuration.md is up to date");
  else {
    writeFileSync(CONFIG_DOC, next);
    console.log("docs/configuration.md: settings table regenerated");
  }
}
