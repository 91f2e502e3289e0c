import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    reporters: ["default", "./test/reporters/summary-line.ts"],
    // Native SQLite handles and child processes are happiest in forked workers.
    pool: "forks",
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
