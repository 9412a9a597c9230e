import { defineConfig } from "vitest/config";

// The unit tests alone (`make unit`): no global setup, so no Redis, Elasticsearch or Cosmos
// emulator is started, and the run takes seconds. A test that needs a service belongs under
// test/integration (or faults, functions, infra), which `make test` runs with the stack.
export default defineConfig({
  test: {
    include: ["test/unit/**/*.test.ts"],
    testTimeout: 30_000,
    pool: "forks",
    reporters: ["default"],
  },
});
