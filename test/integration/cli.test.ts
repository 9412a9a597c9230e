import { spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { freePort } from "../../scripts/stack/ports.js";
import { createServices } from "../../shared/runtime/services.js";
import { silentLogger } from "../../shared/telemetry/logger.js";
import { createTestSource } from "../setup/fixtures.js";

/**
 * The command as its bin runs it: `node -- <file>` (cli/main.ts's first line), so Node itself
 * takes none of the arguments (it would take --env-file); tsx runs the TypeScript.
 */
function driftless(args: string[], env: Record<string, string | undefined> = {}) {
  const result = spawnSync(process.execPath, ["--import", "tsx", "--", "cli/main.ts", ...args], {
    encoding: "utf8",
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
    timeout: 240_000,
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** An environment that passes loadConfig and points at nothing. */
const offline = {
  REDIS_URL: "redis://:hunter2-password@127.0.0.1:1",
  ELASTICSEARCH_URL: "http://127.0.0.1:1",
  COSMOS_ENDPOINT: "https://localhost:1",
  COSMOS_KEY: "cosmos-key-that-must-not-show",
  DRIFTLESS_SOURCES: JSON.stringify([
    { name: "orders", database: "shop", container: "orders", partitionKeyPath: "/tenant", index: "orders" },
  ]),
};

/** The driftless command as scripts use it: help, exit codes, one readable error line. */
describe("driftless CLI", () => {
  it("prints help for every command and exits 0", () => {
    const commands = [
      "worker",
      "status",
      "enqueue",
      "sync",
      "reimport",
      "reconcile",
      "jobs",
      "deadletters",
      "config",
      "stack",
    ];
    const top = driftless(["--help"]);
    expect(top.code).toBe(0);
    for (const command of commands) {
      expect(top.stdout).toContain(command);
      const help = driftless([command, "--help"]);
      expect(help.code, command).toBe(0);
      expect(help.stdout).toMatch(/Usage: driftless/);
    }
  }, 240_000);

  it("exits 2 on a usage error and 3, with one line naming the setting, on bad configuration", () => {
    expect(driftless(["no-such-command"]).code).toBe(2);
    expect(driftless(["enqueue"]).code).toBe(2);
    // Checked by the command itself, before any connection.
    const both = driftless(["deadletters", "purge", "orders", "doc-1", "--all"], offline);
    expect([both.code, both.stderr]).toEqual([
      2,
      "driftless: invalid_arguments: name one key (<id> [pk]) or pass --all, not both\n",
    ]);
    const bad = driftless(["status"], {
      REDIS_URL: "redis://127.0.0.1:1",
      ELASTICSEARCH_URL: "http://127.0.0.1:1",
      COSMOS_ENDPOINT: "https://localhost:1",
      COSMOS_KEY: "k",
      SYNC_BATCH_SIZE: "many",
      DRIFTLESS_SOURCES: "[]",
    });
    expect(bad.code).toBe(3);
    const lines = bad.stderr.trim().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^driftless: config_invalid: .*SYNC_BATCH_SIZE/);
    expect(lines[0]).not.toContain("redis://");
  }, 120_000);

  it("enqueue prints the counts of the key it enqueued, as the HTTP producer answers", async () => {
    const source = await createTestSource();
    try {
      const first = driftless(["enqueue", source.name, "doc-1", "tenant-1"], source.env);
      expect(first.stderr).toBe("");
      expect([first.code, first.stdout]).toEqual([0, '{"enqueued":1,"duplicates":0}\n']);
      expect(driftless(["enqueue", source.name, "doc-1", "tenant-1"], source.env).stdout).toBe(
        '{"enqueued":0,"duplicates":1}\n',
      );
    } finally {
      await source.dispose();
    }
  }, 120_000);

  it("deadletters list, redrive and purge answer as their HTTP routes do", async () => {
    const source = await createTestSource();
    const services = createServices(source.config, silentLogger);
    try {
      const queue = services.sources.get(source.name)!.queue;
      const deadLetterOne = async (id: string) => {
        await queue.enqueue([{ id, pk: "t" }], { lane: "live", now: Date.now() });
        const claim = await queue.claim({ max: 1, leaseMs: 10_000, now: Date.now() });
        await queue.deadLetter(
          claim.token,
          claim.items.map((entry) => ({ member: entry.member, error: "kept for the test" })),
          Date.now(),
        );
      };
      await deadLetterOne("gone-1");
      const listed = driftless(["deadletters", "list", source.name, "--json"], source.env);
      expect(listed.code, listed.stderr).toBe(0);
      expect(JSON.parse(listed.stdout)).toMatchObject({
        total: 1,
        items: [{ id: "gone-1", pk: "t", lastError: "kept for the test" }],
      });
      expect(driftless(["deadletters", "redrive", source.name, "gone-1", '"t"'], source.env).stdout).toBe(
        '{"redriven":1}\n',
      );
      await queue.claim({ max: 1, leaseMs: 10_000, now: Date.now() }).then((claim) =>
        queue.deadLetter(
          claim.token,
          claim.items.map((entry) => ({ member: entry.member, error: "again" })),
          Date.now(),
        ),
      );
      expect(driftless(["deadletters", "purge", source.name, "--all"], source.env).stdout).toBe('{"purged":1}\n');
      expect((await queue.stats(Date.now())).deadLettered).toBe(0);
    } finally {
      await services.close();
      await source.dispose();
    }
  }, 180_000);

  it("stack up starts the local stack in the background and stack down stops it", () => {
    const dir = mkdtempSync(join(tmpdir(), "driftless-cli-stack-"));
    chmodSync(dir, 0o755);
    const up = driftless(["stack", "up", "--dir", dir], { CI: process.env.CI });
    expect(up.code, up.stderr).toBe(0);
    expect(up.stdout).toMatch(/^REDIS_URL=redis:\/\/127\.0\.0\.1:\d+$/m);
    expect(up.stdout).toMatch(/^ELASTICSEARCH_URL=http/m);
    expect(up.stdout).not.toMatch(/^COSMOS_KEY=C2y6/m);
    expect(readFileSync(join(dir, "local.env"), "utf8")).toMatch(/^COSMOS_ENDPOINT=https:\/\/localhost:\d+$/m);
    expect(driftless(["stack", "up", "--dir", dir]).code).toBe(1); // already running
    const down = driftless(["stack", "down", "--dir", dir]);
    expect(down.code, down.stderr).toBe(0);
    expect(down.stdout).toContain("stopped");
    expect(driftless(["stack", "down", "--dir", dir]).stdout).toContain("not running");
  }, 300_000);

  it("--version prints package.json's version", () => {
    const { version } = JSON.parse(readFileSync("package.json", "utf8")) as { version: string };
    expect(driftless(["--version"])).toEqual({ code: 0, stdout: `${version}\n`, stderr: "" });
  });

  it("a missing --env-file is a usage error in one line; a file fills what the environment leaves unset", () => {
    // Without the `--`, Node would read `--env-file <path>` as its own option and exit 9 on a missing file.
    expect(readFileSync("cli/main.ts", "utf8").split("\n")[0]).toBe("#!/usr/bin/env -S node --");
    const dir = mkdtempSync(join(tmpdir(), "driftless-cli-env-"));
    try {
      const missing = driftless(["--env-file", join(dir, "nope.env"), "status"]);
      expect([missing.code, missing.stdout, missing.stderr]).toEqual([
        2,
        "",
        `driftless: invalid_arguments: --env-file ${join(dir, "nope.env")}: no such file\n`,
      ]);

      const file = join(dir, "local.env");
      writeFileSync(
        file,
        `${Object.entries(offline)
          .map(([key, value]) => `${key}='${value}'`)
          .join("\n")}\nSYNC_BATCH_SIZE=7\nLOG_LEVEL=debug\n`,
      );
      const loaded = driftless(["--env-file", file, "config", "check", "--json"], { LOG_LEVEL: "error" });
      expect(loaded.code, loaded.stderr).toBe(0);
      const { settings } = JSON.parse(loaded.stdout) as { settings: Record<string, { value: unknown; from: string }> };
      expect(settings.SYNC_BATCH_SIZE).toEqual({ value: 7, from: "environment" });
      expect(settings.LOG_LEVEL!.value).toBe("error"); // the environment wins over the file
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);

  it("with Redis down, status --json leaves stdout empty, logs and one error line go to stderr, and it exits 4", async () => {
    const source = await createTestSource();
    try {
      const env = {
        ...source.env,
        REDIS_URL: `redis://127.0.0.1:${await freePort()}`,
        REDIS_COMMAND_TIMEOUT_MS: "1000",
        LOG_LEVEL: "warn",
      };
      const down = driftless(["status", "--json"], env);
      expect(down.stdout).toBe("");
      expect(down.code, down.stderr).toBe(4);
      const lines = down.stderr.trim().split("\n");
      expect(lines.at(-1)).toMatch(/^driftless: redis_unavailable: could not read queue statistics/);
      expect(down.stderr).not.toMatch(/^\s+at /m); // no stack trace
      // Everything before the error line is a log line (ECS JSON), none of it on stdout.
      for (const line of lines.slice(0, -1)) expect(JSON.parse(line)).toHaveProperty("log.level");
      expect(lines.length).toBeGreaterThan(1);
    } finally {
      await source.dispose();
    }
  }, 120_000);

  it("stdout holds only the answer, parseable as JSON, while the command logs (to stderr)", async () => {
    const source = await createTestSource({ env: { LOG_LEVEL: "info" } });
    try {
      const reimport = driftless(["reimport", source.name], source.env);
      expect(reimport.code, reimport.stderr).toBe(0);
      const { jobId } = JSON.parse(reimport.stdout) as { jobId: string };
      expect(reimport.stderr).toMatch(/"message":"job queued"/);
      const job = driftless(["jobs", jobId], source.env);
      expect(job.code, job.stderr).toBe(0);
      expect(JSON.parse(job.stdout)).toMatchObject({ jobId, kind: "reimport", source: source.name });
      const status = driftless(["status", "--json"], source.env);
      expect(status.code, status.stderr).toBe(0);
      const body = JSON.parse(status.stdout) as { sources: { name: string }[] };
      expect(body.sources.map((s) => s.name)).toEqual([source.name]);
    } finally {
      await source.dispose();
    }
  }, 180_000);

  it("config check prints the settings with secrets redacted and exits 0 when there is no problem", () => {
    const ok = driftless(["config", "check"], {
      ...offline,
      APPLICATIONINSIGHTS_CONNECTION_STRING:
        "InstrumentationKey=00000000-0000-0000-0000-000000000000;IngestionEndpoint=https://x",
    });
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stderr).toBe("");
    expect(ok.stdout).toMatch(/^ {2}REDIS_URL +redis:\/\/:\[redacted\]@127\.0\.0\.1:1$/m);
    expect(ok.stdout).toMatch(/^ {2}COSMOS_KEY +\[redacted\]$/m);
    expect(ok.stdout).toMatch(/^ {2}APPLICATIONINSIGHTS_CONNECTION_STRING +\[redacted\]$/m);
    expect(ok.stdout).toMatch(/^ {2}SYNC_BATCH_SIZE +1000 +\(default\)$/m);
    expect(ok.stdout).toMatch(/^ {2}orders: Cosmos shop\/orders \(partition key \/tenant\) -> alias orders$/m);
    expect(ok.stdout).toMatch(/^no problems$/m);
    for (const secret of ["hunter2-password", "cosmos-key-that-must-not-show", "00000000-0000"])
      expect(ok.stdout).not.toContain(secret);
  }, 60_000);

  it("config check lists every problem, on stdout and in --json, with one line on stderr, and exits 3", () => {
    const dir = mkdtempSync(join(tmpdir(), "driftless-cli-config-"));
    try {
      const env = {
        ...offline,
        SYNC_BATCH_SIZE: "many",
        LOG_LEVEL: "loud",
        QUEUE_BACKOFF_BASE_MS: "5000",
        QUEUE_BACKOFF_MAX_MS: "10",
        COSMOS_CA_FILE: join(dir, "missing.crt"),
        DRIFTLESS_SOURCES: JSON.stringify([
          { name: "Bad Name", database: "shop", container: "orders", partitionKeyPath: "tenant", index: "orders" },
        ]),
      };
      const text = driftless(["config", "check"], env);
      expect(text.code).toBe(3);
      expect(text.stderr).toBe(
        "driftless: config_invalid: 5 problems: SYNC_BATCH_SIZE, LOG_LEVEL, DRIFTLESS_SOURCES[0].name, DRIFTLESS_SOURCES[0].partitionKeyPath, COSMOS_CA_FILE\n",
      );
      expect(text.stdout).toMatch(/^problems \(5\):$/m);
      expect(text.stdout).toMatch(/^ {2}SYNC_BATCH_SIZE +many$/m);

      const json = driftless(["config", "check", "--json"], env);
      expect(json.code).toBe(3);
      const report = JSON.parse(json.stdout) as {
        valid: boolean;
        problems: { setting: string }[];
        settings: Record<string, { value: unknown }>;
      };
      expect(report.valid).toBe(false);
      expect(report.problems.map((p) => p.setting)).toEqual([
        "SYNC_BATCH_SIZE",
        "LOG_LEVEL",
        "DRIFTLESS_SOURCES[0].name",
        "DRIFTLESS_SOURCES[0].partitionKeyPath",
        "COSMOS_CA_FILE",
      ]);
      expect(report.settings.COSMOS_KEY!.value).toBe("[redacted]");
      expect(json.stdout).not.toContain("hunter2-password");

      // Once each setting is valid, the rules between settings are checked too.
      const crossed = driftless(["config", "check", "--json"], {
        ...offline,
        QUEUE_BACKOFF_BASE_MS: "5000",
        QUEUE_BACKOFF_MAX_MS: "10",
        REDIS_TLS_INSECURE: "true",
      });
      expect(
        (JSON.parse(crossed.stdout) as { problems: { setting: string }[] }).problems.map((p) => p.setting),
      ).toEqual(["QUEUE_BACKOFF_MAX_MS", "REDIS_TLS_INSECURE"]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
