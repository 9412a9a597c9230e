export { loadConfig, type Config, type LoadConfigOptions } from "./load-config.js";
export type { SourceConfig, SourceDefinition } from "./source.js";
export { secretSettings } from "./settings.js";
export { checkConfig, REDACTED, type ConfigReport, type SettingView } from "./check-config.js";
export type { ConfigProblem } from "./load-config.js";
