import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { modules, parseBicepFile, resources, objectPath, literalString, repoRoot } from "./bicep-tree.js";

/*
 * azure.yaml, for `azd up`. azd is not installed here (and reaches Azure anyway), so this checks
 * the shape azd reads (https://learn.microsoft.com/azure/developer/azure-developer-cli/azd-schema)
 * and that what it names exists: the infra module, the project folder, and the Function App azd
 * deploys the service to, found by its azd-service-name tag.
 */

interface AzureYaml {
  name: string;
  infra: { provider: string; path: string; module: string };
  services: Record<string, { project: string; language: string; host: string }>;
}

const azureYaml = () => parse(readFileSync(join(repoRoot, "azure.yaml"), "utf8")) as AzureYaml;

describe("azure.yaml", () => {
  it("provisions infra/main.bicep and its parameters file", () => {
    const { name, infra } = azureYaml();
    expect(name).toBe("driftless");
    expect(infra).toEqual({ provider: "bicep", path: "infra", module: "main" });
    expect(existsSync(join(repoRoot, infra.path, `${infra.module}.bicep`))).toBe(true);
    // azd reads <module>.parameters.json beside the module.
    expect(existsSync(join(repoRoot, infra.path, `${infra.module}.parameters.json`))).toBe(true);
  });

  it("deploys one service, api: this TypeScript project, to Azure Functions", () => {
    const { services } = azureYaml();
    expect(services).toEqual({ api: { project: ".", language: "ts", host: "function" } });
    const project = join(repoRoot, services.api!.project);
    const manifest = JSON.parse(readFileSync(join(project, "package.json"), "utf8")) as {
      main: string;
      scripts: Record<string, string>;
    };
    // azd runs the build script of a TypeScript project before it packages; main is what the host loads.
    expect(manifest.scripts.build).toMatch(/\btsc\b/);
    expect(manifest.main).toBe("dist/functions/*.js");
    expect(existsSync(join(project, "host.json"))).toBe(true);
  });

  it("the Function App carries the azd-service-name tag of that service, so azd deploy finds it", async () => {
    const main = await parseBicepFile("infra/main.bicep");
    const functionApp = modules(main).find((m) => m.target === "infra/app/function-app.bicep")!;
    const tags = objectPath(functionApp.body, "params", "tags")!;
    expect(tags.text).toMatch(/'azd-service-name':\s*'api'/);
    const appFile = await parseBicepFile("infra/app/function-app.bicep");
    const site = resources(appFile).find((r) => r.type === "Microsoft.Web/sites")!;
    expect(objectPath(site.body, "tags")?.text).toBe("tags");
    expect(Object.keys(azureYaml().services)).toEqual(["api"]);
    expect(literalString(objectPath(site.body, "kind"))).toContain("functionapp");
  });
});
