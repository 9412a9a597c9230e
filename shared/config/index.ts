export { loadConfig, type Config, type LoadConfigOptions } from "./load-config.js";
export { type SourceConfig, type SourceDefinition } from "./source.js";
export { secretSettings } from "./settings.js";
