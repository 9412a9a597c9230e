import { execFile } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import { Ajv, type ErrorObject } from "ajv";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { loadConfig } from "../../shared/config/index.js";
import { repoRoot } from "./bicep-tree.js";
import { execForm, instructions, readDockerfile } from "./dockerfile.js";

/*
 * docker-compose.yml without a Docker engine: validated against the Compose Specification's JSON
 * schema (the copy dclint ships, schemas/compose.schema.json, from compose-spec/compose-spec), then
 * checked for what the schema cannot say: healthchecks, pinned images, waits on real services,
 * and driftless's own services built from the Dockerfile with settings it accepts.
 */

interface Healthcheck {
  test?: string[] | string;
  disable?: boolean;
}
interface Service {
  image?: string;
  build?: { context: string; dockerfile?: string } | string;
  command?: string[];
  environment?: Record<string, string>;
  volumes?: string[];
  healthcheck?: Healthcheck;
  depends_on?: Record<string, { condition: string }>;
  restart?: string;
}
interface ComposeFile {
  services: Record<string, Service>;
  volumes?: Record<string, unknown>;
}

const require = createRequire(import.meta.url);
const schemaPath = join(dirname(require.resolve("dclint/package.json")), "schemas/compose.schema.json");
const composeText = () => readFileSync(join(repoRoot, "docker-compose.yml"), "utf8");
const compose = () => parse(composeText()) as ComposeFile;

function validator() {
  const { $schema: draft, ...schema } = JSON.parse(readFileSync(schemaPath, "utf8")) as Record<string, unknown>;
  // Draft-07, named by its https address, which Ajv's built-in draft-07 meta-schema is not
  // registered under: the meta-schema is Ajv's default, so the name is dropped, not the draft.
  if (!/draft-07\/schema#?$/.test(String(draft)))
    throw new Error(`the Compose schema is no longer draft-07: ${String(draft)}`);
  // The schema is draft-07 with the spec's own "deprecated" annotations and formats ("duration",
  // "expose"…) that only Compose defines: strict mode would refuse those, not the file.
  const ajv = new Ajv({ allErrors: true, strict: false, validateFormats: false });
  return ajv.compile(schema);
}

function schemaErrors(document: unknown): string[] {
  const validate = validator();
  if (validate(document)) return [];
  return (validate.errors ?? []).map(
    (error: ErrorObject) => `${error.instancePath || "/"} ${error.message ?? ""} ${JSON.stringify(error.params)}`,
  );
}

/** Long-running services: everything but the one-shots, which others wait on to complete. */
const oneShots = (file: ComposeFile) =>
  new Set(
    Object.values(file.services).flatMap((service) =>
      Object.entries(service.depends_on ?? {})
        .filter(([, dep]) => dep.condition === "service_completed_successfully")
        .map(([name]) => name),
    ),
  );

describe("docker-compose.yml against the Compose Specification schema", () => {
  it("the schema is the Compose Specification's", () => {
    const schema = JSON.parse(readFileSync(schemaPath, "utf8")) as {
      title?: string;
      properties?: Record<string, unknown>;
    };
    expect(schema.title).toBe("Compose Specification");
    expect(Object.keys(schema.properties ?? {})).toEqual(expect.arrayContaining(["services", "volumes", "networks"]));
  });

  it("validates", () => {
    expect(schemaErrors(compose())).toEqual([]);
  });

  it("a broken file fails: a misspelt key, a wrong depends_on condition, a healthcheck of the wrong type", () => {
    const misspelt = compose();
    const worker = misspelt.services.worker as Record<string, unknown>;
    worker.helthcheck = worker.healthcheck;
    delete worker.healthcheck;
    expect(schemaErrors(misspelt).join("\n")).toContain("helthcheck");

    const condition = compose();
    condition.services.worker!.depends_on!.seed!.condition = "service_finished";
    expect(schemaErrors(condition).join("\n")).toMatch(/depends_on\/seed\/condition/);

    const healthcheck = compose();
    (healthcheck.services.redis as Record<string, unknown>).healthcheck = "redis-cli ping";
    expect(schemaErrors(healthcheck).join("\n")).toMatch(/redis\/healthcheck/);

    // The text form too: a typo in the file itself, parsed as Docker Compose would.
    const typo = composeText().replace("\n    depends_on:\n      seed:", "\n    depend_on:\n      seed:");
    expect(typo).not.toBe(composeText());
    expect(schemaErrors(parse(typo)).join("\n")).toContain("depend_on");
  });
});

describe("docker-compose.yml: what the schema does not check", () => {
  it("every service has a healthcheck: a real test for each long-running one, disabled only for one-shots", () => {
    const file = compose();
    const once = oneShots(file);
    expect([...once].sort()).toEqual(["cosmos-cert", "seed"]);
    for (const [name, service] of Object.entries(file.services)) {
      expect(service.healthcheck, name).toBeDefined();
      if (once.has(name)) {
        expect(service.healthcheck, name).toEqual({ disable: true });
        expect(service.restart, name).toBe("no");
      } else {
        expect(Array.isArray(service.healthcheck!.test) && service.healthcheck!.test.length > 1, name).toBe(true);
        expect(["CMD", "CMD-SHELL"]).toContain((service.healthcheck!.test as string[])[0]);
      }
    }
  });

  it("pins every pulled image to a release; the Cosmos DB emulator, which has none, can be pinned by digest", () => {
    for (const [name, service] of Object.entries(compose().services)) {
      if (service.build) continue; // built here from the Dockerfile, whose base images are pinned
      const image = service.image!;
      if (name === "cosmos") {
        expect(image).toMatch(
          /^\$\{COSMOS_EMULATOR_IMAGE:-mcr\.microsoft\.com\/cosmosdb\/linux\/azure-cosmos-emulator:latest\}$/,
        );
        continue;
      }
      const tag = image.split("/").at(-1)!.split(":")[1];
      expect(tag, `${name}: ${image}`).toMatch(/^v?\d+\.\d+\.\d+(-[a-z0-9.]+)?$/);
    }
  });

  it("every depends_on names a real service with a condition; services others wait on healthy have a healthcheck", () => {
    const { services } = compose();
    const conditions = new Set(["service_healthy", "service_completed_successfully", "service_started"]);
    for (const [name, service] of Object.entries(services)) {
      for (const [dependency, { condition }] of Object.entries(service.depends_on ?? {})) {
        expect(Object.keys(services), `${name} → ${dependency}`).toContain(dependency);
        expect(conditions.has(condition), `${name} → ${dependency}: ${condition}`).toBe(true);
        if (condition === "service_healthy")
          expect(services[dependency]!.healthcheck?.test, `${dependency} has a healthcheck`).toBeDefined();
      }
    }
    // The seed waits for every store it writes to, and the worker for the seed.
    expect(Object.keys(services.seed!.depends_on!)).toEqual(
      expect.arrayContaining(["cosmos", "elasticsearch", "redis", "cosmos-cert"]),
    );
    expect(services.worker!.depends_on!.seed).toEqual({ condition: "service_completed_successfully" });
  });

  it("seed and worker are built from the Dockerfile and run `sources apply` and `worker` through its entry point", () => {
    const { services } = compose();
    for (const name of ["seed", "worker"]) {
      const build = services[name]!.build as { context: string; dockerfile: string };
      expect(existsSync(join(repoRoot, build.context, build.dockerfile)), name).toBe(true);
      expect(build.dockerfile).toBe("Dockerfile");
    }
    expect(services.seed!.command).toEqual(["sources", "apply"]);
    expect(services.worker!.command).toEqual(execForm(instructions(readDockerfile().at(-1)!, "CMD")[0]!.args));
  });

  it("`sources apply` is a command the image's CLI has", async () => {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ["--import", "tsx", "cli/main.ts", ...compose().services.seed!.command!, "--help"],
      { cwd: repoRoot, timeout: 60_000 },
    );
    expect(stdout).toContain("create each source's Cosmos database");
  });

  it("hands the emulator's certificate to driftless: cosmos-cert writes the file COSMOS_CA_FILE names, on a volume both mount", () => {
    const { services, volumes } = compose();
    const caFile = services.worker!.environment!.COSMOS_CA_FILE!;
    const [volume, mountPath] = services["cosmos-cert"]!.volumes![0]!.split(":");
    expect(Object.keys(volumes ?? {})).toContain(volume);
    expect(caFile.startsWith(`${mountPath}/`)).toBe(true);
    expect(services["cosmos-cert"]!.command!.join(" ")).toContain(`-o ${caFile}`);
    for (const name of ["seed", "worker"]) {
      expect(services[name]!.volumes, name).toContain(`${volume}:${mountPath}:ro`);
      expect(services[name]!.environment!.COSMOS_CA_FILE, name).toBe(caFile);
      expect(services[name]!.environment!.COSMOS_ENDPOINT, name).toBe("https://cosmos:8081");
    }
    // The certificate names the emulator's host name, so it must be the name driftless dials.
    expect((services.cosmos as Record<string, unknown>).hostname).toBe("cosmos");
  });

  it("the settings seed and worker get are accepted by loadConfig, with the sources file their volume mounts", () => {
    const { services } = compose();
    for (const name of ["seed", "worker"]) {
      const env = services[name]!.environment!;
      const mounts = new Map(
        services[name]!.volumes!.map((entry) => entry.split(":")).map(([from, to]) => [to!, from!]),
      );
      const sourcesFile = mounts.get(env.DRIFTLESS_SOURCES_FILE!);
      expect(sourcesFile, `${name} mounts ${env.DRIFTLESS_SOURCES_FILE}`).toBeDefined();
      // ${DRIFTLESS_API_KEY:-default}: what Compose substitutes when the variable is unset.
      const values = Object.fromEntries(
        Object.entries(env).map(([key, value]) => [key, value.replace(/^\$\{\w+:-(.*)\}$/, "$1")]),
      );
      const config = loadConfig(values, {
        readFile: (path) =>
          readFileSync(join(repoRoot, path === env.DRIFTLESS_SOURCES_FILE ? sourcesFile! : path), "utf8"),
      });
      expect(config.sources.length, name).toBeGreaterThan(0);
      expect(
        config.api.apiKey?.length ?? 0,
        `${name}: a key, since the image listens on 0.0.0.0`,
      ).toBeGreaterThanOrEqual(16);
    }
  });

  it("no comment points at a README section: the walk-through is docs/docker.md, which exists", () => {
    const text = composeText();
    expect(text).not.toMatch(/see README/i);
    expect(text).toContain("docs/docker.md");
    expect(existsSync(join(repoRoot, "docs/docker.md"))).toBe(true);
  });
});
