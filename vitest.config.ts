import { defineConfig } from "vitest/config";

// One stack (Redis, Elasticsearch, Cosmos emulator) is started for the whole run by the global
// setup; each test isolates itself with its own source names, index names and Redis prefix.
export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    globalSetup: ["test/setup/global.ts"],
    testTimeout: 60_000,
    hookTimeout: 180_000,
    // Two cores and three servers: files run one after another so timing stays predictable.
    fileParallelism: false,
    pool: "forks",
    reporters: ["default"],
  },
});
