import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { Node } from "web-tree-sitter";
import { beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../shared/config/index.js";
import { sourcesSchema } from "../../shared/config/source.js";
import { parseAuthenticationString } from "../../shared/telemetry/azure-monitor.js";
import {
  bicepFilesUnder,
  calledFunctions,
  descendants,
  literalString,
  modules,
  objectPath,
  objectProperties,
  outputs,
  params,
  parseBicepFile,
  parseBicepText,
  repoRoot,
  resources,
  syntaxProblems,
  variables,
  type BicepFile,
  type ResourceDecl,
} from "./bicep-tree.js";
import {
  hostResolvedSettings,
  schemaKeys,
  schemaRequiredSettings,
  SOURCES_SETTINGS,
  triggerConnections,
  validSettingValue,
} from "./required-settings.js";

/*
 * The Bicep compiler cannot be installed here, so infra/ is checked with the tree-sitter Bicep
 * grammar and by walking the syntax trees: syntax, module wiring (what `bicep build` would
 * reject), the resources the issue asks for, and the Function App's settings against what the
 * code reads. It does not prove that Azure accepts the template: nothing here was deployed.
 */

/** API versions checked against the Azure resource reference; a typo'd version fails here. */
const KNOWN_API_VERSIONS: Record<string, string[]> = {
  "Microsoft.Web/serverfarms": ["2024-04-01"],
  "Microsoft.Web/sites": ["2024-04-01"],
  "Microsoft.Web/sites/config": ["2024-04-01"],
  "Microsoft.Storage/storageAccounts": ["2023-05-01"],
  "Microsoft.Storage/storageAccounts/blobServices": ["2023-05-01"],
  "Microsoft.Storage/storageAccounts/blobServices/containers": ["2023-05-01"],
  "Microsoft.OperationalInsights/workspaces": ["2023-09-01"],
  "Microsoft.Insights/components": ["2020-02-02"],
  "Microsoft.DocumentDB/databaseAccounts": ["2024-05-15"],
  "Microsoft.DocumentDB/databaseAccounts/sqlDatabases": ["2024-05-15"],
  "Microsoft.DocumentDB/databaseAccounts/sqlDatabases/containers": ["2024-05-15"],
  "Microsoft.DocumentDB/databaseAccounts/sqlRoleAssignments": ["2024-05-15"],
  "Microsoft.Cache/redisEnterprise": ["2024-09-01-preview", "2024-10-01", "2025-04-01", "2025-07-01"],
  "Microsoft.Cache/redisEnterprise/databases": ["2024-09-01-preview", "2024-10-01", "2025-04-01", "2025-07-01"],
  "Microsoft.Cache/redisEnterprise/databases/accessPolicyAssignments": ["2025-07-01"],
  "Microsoft.Network/virtualNetworks": ["2024-05-01"],
  "Microsoft.Network/privateEndpoints": ["2024-05-01"],
  "Microsoft.Network/privateEndpoints/privateDnsZoneGroups": ["2024-05-01"],
  "Microsoft.Network/privateDnsZones": ["2024-06-01"],
  "Microsoft.Network/privateDnsZones/virtualNetworkLinks": ["2024-06-01"],
  "Microsoft.ServiceBus/namespaces": ["2022-10-01-preview"],
  "Microsoft.ServiceBus/namespaces/queues": ["2022-10-01-preview"],
  "Microsoft.KeyVault/vaults": ["2023-07-01"],
  "Microsoft.KeyVault/vaults/secrets": ["2023-07-01"],
  "Microsoft.ManagedIdentity/userAssignedIdentities": ["2023-01-31"],
  "Microsoft.Authorization/roleAssignments": ["2022-04-01"],
};

/** Built-in role definition ids (the same in every tenant). */
const ROLES = {
  storageBlobDataOwner: "b7e6dc6d-f1e8-4753-8033-0f276bb0955b",
  storageQueueDataContributor: "974c5e8b-45b9-4653-ba55-5f855dd0fb88",
  storageTableDataContributor: "0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3",
  serviceBusDataSender: "69a216fc-b8fb-44d8-bc22-1f3c2cd27a39",
  serviceBusDataReceiver: "4f6d3b9b-027b-4f4c-9142-0e5a2a2247e0",
  keyVaultSecretsUser: "4633458b-17de-408a-b874-0445c86b69e6",
  monitoringMetricsPublisher: "3913510d-42f4-4e42-8a64-420c390055eb",
  cosmosDataContributor: "00000000-0000-0000-0000-000000000002",
};

/** What an operator gets on top (deployerPrincipalId): Azure Service Bus Data Owner. */
const SERVICE_BUS_DATA_OWNER = "090c5cfd-751d-490a-894a-3ce6f1109419";

/** The settings the issue names, on top of what the schema requires. */
const EXPECTED_SETTINGS = [
  "AzureWebJobsStorage__accountName",
  "AzureWebJobsStorage__credential",
  "AzureWebJobsStorage__clientId",
  "APPLICATIONINSIGHTS_CONNECTION_STRING",
  "COSMOS__accountEndpoint",
  "COSMOS__credential",
  "COSMOS__clientId",
  "COSMOS_TRIGGER_CONNECTION",
  "COSMOS_LEASE_CONTAINER",
  "ELASTICSEARCH_URL",
  "ELASTICSEARCH_API_KEY",
  "REDIS_URL",
  "DRIFTLESS_SOURCES",
  "SYNC_SCHEDULE",
  "SYNC_TIME_BUDGET_MS",
  "SERVICEBUS_NAMESPACE",
  "SERVICEBUS_QUEUE",
  "SERVICEBUS__fullyQualifiedNamespace",
  "AZURE_CLIENT_ID",
];

/** Settings the Functions platform reads, not driftless's config schema (trigger connections are checked apart). */
const PLATFORM_SETTING = /^(AzureWebJobsStorage__|APPLICATIONINSIGHTS_)/;

/** Flex Consumption rejects these (the runtime and the package come from functionAppConfig). */
const FLEX_REJECTED = [
  "FUNCTIONS_WORKER_RUNTIME",
  "FUNCTIONS_EXTENSION_VERSION",
  "WEBSITE_NODE_DEFAULT_VERSION",
  "WEBSITE_RUN_FROM_PACKAGE",
  "WEBSITE_CONTENTAZUREFILECONNECTIONSTRING",
  "WEBSITE_CONTENTSHARE",
  "AzureWebJobsStorage",
];

const KEY_VAULT_REFERENCE = /^@Microsoft\.KeyVault\(SecretUri=/;

interface Project {
  readonly files: Map<string, BicepFile>;
  readonly main: BicepFile;
}

let project: Project;

beforeAll(async () => {
  const files = new Map<string, BicepFile>();
  for (const path of bicepFilesUnder("infra")) files.set(path, await parseBicepFile(path));
  project = { files, main: files.get("infra/main.bicep")! };
});

const allResources = (): ResourceDecl[] => [...project.files.values()].flatMap(resources);
const resourcesOfType = (type: string) => allResources().filter((r) => r.type === type && !r.existing);
const onlyResource = (type: string): ResourceDecl => {
  const found = resourcesOfType(type);
  expect(
    found.map((r) => `${r.file.path}:${r.symbol}`),
    type,
  ).toHaveLength(1);
  return found[0]!;
};

/** A property of a resource body, as a literal string. */
const literalAt = (body: Node, ...path: string[]) => literalString(objectPath(body, ...path));

function ancestor(node: Node, type: string): Node | null {
  for (let current = node.parent; current; current = current.parent) if (current.type === type) return current;
  return null;
}

interface Located {
  readonly file: BicepFile;
  readonly node: Node;
}

/**
 * One step back to where a value comes from: a variable to its value, a module parameter to
 * what the calling file passes, `module.outputs.x` to that output's expression, `resource.name`
 * to the name in the resource's body.
 */
function follow(file: BicepFile, node: Node): Located | undefined {
  if (node.type === "parenthesized_expression") return { file, node: node.namedChildren[0]! };
  if (node.type === "identifier") {
    const variable = variables(file).get(node.text);
    if (variable) return { file, node: variable };
    if (!params(file).some((p) => p.name === node.text)) return undefined;
    for (const caller of project.files.values()) {
      for (const mod of modules(caller).filter((m) => m.target === file.path)) {
        const passed = objectPath(mod.body, "params", node.text);
        if (passed) return { file: caller, node: passed };
      }
    }
    return undefined;
  }
  if (node.type === "member_expression") {
    const object = node.childForFieldName("object")!;
    const property = node.childForFieldName("property")!.text;
    if (object.type === "member_expression" && object.childForFieldName("property")!.text === "outputs") {
      const mod = modules(file).find((m) => m.symbol === object.childForFieldName("object")!.text);
      const target = mod && project.files.get(mod.target);
      const output = target && outputs(target).get(property);
      if (target && output) return { file: target, node: output };
    }
    if (object.type === "identifier" && property === "name") {
      const resource = resources(file).find((r) => r.symbol === object.text);
      const name = resource && objectPath(resource.body, "name");
      if (name) return { file, node: name };
    }
  }
  return undefined;
}

/**
 * Every expression a value is made of, across files: each step `follow` takes, plus each
 * interpolation in a string, both branches of a condition and the arguments of a function call.
 * A plain chain ends with its origin.
 */
function trace(file: BicepFile, node: Node, seen = new Set<string>()): { file: string; text: string; node: Node }[] {
  const step = { file: file.path, text: node.text, node };
  const key = `${file.path}:${node.startIndex}`;
  if (seen.has(key)) return [step];
  seen.add(key);
  const next = follow(file, node);
  if (next) return [step, ...trace(next.file, next.node, seen)];
  let parts: Node[] = [];
  if (node.type === "string")
    parts = node.namedChildren.filter((c) => c.type === "interpolation").map((i) => i.namedChildren[0]!);
  else if (node.type === "ternary_expression")
    parts = [node.childForFieldName("consequence")!, node.childForFieldName("alternative")!];
  else if (node.type === "call_expression") {
    parts = node
      .childForFieldName("arguments")!
      .namedChildren.map((arg) => (arg.type === "lambda_expression" ? arg.namedChildren.at(-1)! : arg));
  }
  return [step, ...parts.flatMap((part) => trace(file, part, seen))];
}

interface Setting {
  readonly value: Node;
  /** Set only on one branch of a condition. */
  readonly conditional: boolean;
}

/** The Function App's app settings: the keys of the `appsettings` config resource's properties. */
function appSettings(): Map<string, Setting> {
  const config = onlyResource("Microsoft.Web/sites/config");
  expect(literalAt(config.body, "name")).toBe("appsettings");
  const out = new Map<string, Setting>();
  const collect = (node: Node, conditional: boolean) => {
    if (node.type === "object") {
      for (const [key, value] of objectProperties(node)) out.set(key, { value, conditional });
    } else if (node.type === "call_expression" && node.childForFieldName("function")!.text === "union") {
      for (const arg of node.childForFieldName("arguments")!.namedChildren) collect(arg, conditional);
    } else if (node.type === "ternary_expression") {
      collect(node.childForFieldName("consequence")!, true);
      collect(node.childForFieldName("alternative")!, true);
    } else if (node.type === "identifier" && variables(config.file).has(node.text)) {
      collect(variables(config.file).get(node.text)!, conditional);
    }
    // A parameter object (extraAppSettings) adds settings chosen at deploy time; it comes first
    // in the union so it cannot replace any of the settings above.
  };
  collect(objectPath(config.body, "properties")!, false);
  return out;
}

/** Literal GUIDs a role assignment's roleDefinitionId resolves to (through vars and `for` loops). */
function roleIdsOf(resource: ResourceDecl): string[] {
  const value = objectPath(resource.body, "properties", "roleDefinitionId")!;
  const vars = variables(resource.file);
  const declaration = ancestor(resource.body, "resource_declaration")!;
  const loop = declaration.namedChildren.find((n) => n.type === "for_statement");
  const loopVariable = loop?.childForFieldName("initializer")?.text;
  const ids: string[] = [];
  for (const identifier of [value, ...descendants(value, "identifier")]) {
    if (identifier.type !== "identifier") continue;
    if (identifier.text === loopVariable) {
      const list = loop!.namedChildren.find((n) => n.type === "array")!;
      for (const element of list.namedChildren) ids.push(literalString(vars.get(element.text)) ?? element.text);
    } else if (vars.has(identifier.text)) {
      const literal = literalString(vars.get(identifier.text));
      if (literal) ids.push(literal);
    }
  }
  return ids;
}

/** Where a role assignment's principal comes from, traced back to main.bicep. */
const principalOrigin = (r: ResourceDecl, path: string[] = ["properties", "principalId"]) =>
  trace(r.file, objectPath(r.body, ...path)!).at(-1)!;
/** Whether a resource grants something to main.bicep's deployerPrincipalId. */
const grantsDeployer = (r: ResourceDecl, path?: string[]) => {
  const origin = principalOrigin(r, path);
  return origin.file === "infra/main.bicep" && origin.text === "deployerPrincipalId";
};
/** The condition of a conditional resource or module (`= if (…) {`), or null. */
const conditionOf = (body: Node): string | null => {
  const statement = ancestor(body, "if_statement") ?? (body.parent?.type === "if_statement" ? body.parent : null);
  return statement ? statement.namedChildren[0]!.text : null;
};

describe("infra/*.bicep syntax (tree-sitter-bicep grammar)", () => {
  it("finds the main template and its modules", () => {
    expect([...project.files.keys()]).toEqual(
      expect.arrayContaining([
        "infra/main.bicep",
        "infra/app/function-app.bicep",
        "infra/app/storage.bicep",
        "infra/app/monitoring.bicep",
        "infra/app/cosmos-account.bicep",
        "infra/app/cosmos-data.bicep",
        "infra/app/redis.bicep",
        "infra/app/service-bus.bicep",
        "infra/app/key-vault.bicep",
        "infra/app/identity.bicep",
      ]),
    );
  });

  it("parses every file with no ERROR or MISSING node", () => {
    const problems = [...project.files.values()].flatMap((file) =>
      syntaxProblems(file.root).map((p) => `${file.path}:${p}`),
    );
    expect(problems).toEqual([]);
  });

  it("reports broken Bicep, so the check above can fail", async () => {
    const broken = await parseBicepText(
      "param a\nresource x 'Microsoft.Web/sites@2024-04-01' = {\n  name: 'x'\n  properties: { a: }\n",
    );
    expect(syntaxProblems(broken).length).toBeGreaterThan(0);
  });

  it("puts @description on every parameter", () => {
    const missing = [...project.files.values()].flatMap((file) =>
      params(file)
        .filter(
          (p) => !literalString(p.decorators.get("description")?.childForFieldName("arguments")?.namedChildren[0]),
        )
        .map((p) => `${file.path}: ${p.name}`),
    );
    expect(missing).toEqual([]);
  });

  it("uses only API versions that exist for each resource type", () => {
    const unknown = allResources()
      .filter((r) => !KNOWN_API_VERSIONS[r.type]?.includes(r.apiVersion))
      .map((r) => `${r.file.path}: ${r.type}@${r.apiVersion}`);
    expect(unknown).toEqual([]);
  });
});

describe("module wiring (what bicep build would reject)", () => {
  it("references module files that exist and are parsed", () => {
    for (const file of project.files.values()) {
      for (const mod of modules(file)) {
        expect(existsSync(join(repoRoot, mod.target)), `${file.path} → ${mod.path}`).toBe(true);
        expect(project.files.has(mod.target), mod.target).toBe(true);
      }
    }
    expect(modules(project.main).length).toBeGreaterThanOrEqual(9);
  });

  it("passes only declared parameters, and every parameter without a default", () => {
    for (const file of project.files.values()) {
      for (const mod of modules(file)) {
        const declared = params(project.files.get(mod.target)!);
        const passed = [...objectProperties(objectPath(mod.body, "params")!).keys()];
        const where = `${file.path} → ${mod.path}`;
        expect(
          passed.filter((name) => !declared.some((p) => p.name === name)),
          `${where}: undeclared`,
        ).toEqual([]);
        const required = declared.filter((p) => !p.defaultValue).map((p) => p.name);
        expect(
          required.filter((name) => !passed.includes(name)),
          `${where}: not passed`,
        ).toEqual([]);
      }
    }
  });

  it("reads only outputs the modules declare", () => {
    for (const file of project.files.values()) {
      const symbols = new Map(modules(file).map((m) => [m.symbol, m.target]));
      for (const member of descendants(file.root, "member_expression")) {
        const object = member.childForFieldName("object");
        if (object?.type !== "member_expression" || object.childForFieldName("property")!.text !== "outputs") continue;
        const target = symbols.get(object.childForFieldName("object")!.text);
        if (!target) continue;
        const name = member.childForFieldName("property")!.text;
        expect(outputs(project.files.get(target)!).has(name), `${file.path}: ${member.text}`).toBe(true);
      }
    }
  });
});

describe("resources", () => {
  it("runs a Node 22 (or 20) Function App on Flex Consumption with identity-based deployment storage", () => {
    const plan = onlyResource("Microsoft.Web/serverfarms");
    expect(literalAt(plan.body, "sku", "name")).toBe("FC1");
    expect(literalAt(plan.body, "sku", "tier")).toBe("FlexConsumption");

    const site = onlyResource("Microsoft.Web/sites");
    expect(literalAt(site.body, "kind")).toBe("functionapp,linux");
    expect(literalAt(site.body, "identity", "type")).toBe("UserAssigned");
    const config = objectPath(site.body, "properties", "functionAppConfig")!;
    expect(literalAt(config, "deployment", "storage", "type")).toBe("blobContainer");
    expect(literalAt(config, "deployment", "storage", "authentication", "type")).toBe("UserAssignedIdentity");
    expect(
      objectPath(config, "deployment", "storage", "authentication", "userAssignedIdentityResourceId"),
    ).toBeDefined();
    expect(objectPath(config, "scaleAndConcurrency", "instanceMemoryMB")).toBeDefined();
    expect(objectPath(config, "scaleAndConcurrency", "maximumInstanceCount")).toBeDefined();
    expect(literalAt(config, "runtime", "name")).toBe("node");
    // The version is a parameter allowed to be 20 or 22 only.
    const version = objectPath(config, "runtime", "version")!;
    const param = params(site.file).find((p) => p.name === version.text)!;
    const allowed = param.decorators.get("allowed")!.childForFieldName("arguments")!.namedChildren[0]!;
    expect(allowed.namedChildren.map((n) => literalString(n)).sort()).toEqual(["20", "22"]);
    // 22 unless a deployment asks for 20: in the module, in main.bicep that passes it, and in the parameters file.
    expect(literalString(param.defaultValue)).toBe("22");
    const mainVersion = params(project.main).find((p) => p.name === "nodeVersion")!;
    expect(literalString(mainVersion.defaultValue)).toBe("22");
    const parameters = JSON.parse(readFileSync(join(repoRoot, "infra/main.parameters.json"), "utf8")) as {
      parameters: Record<string, { value: unknown }>;
    };
    expect(parameters.parameters.nodeVersion?.value ?? "22").toBe("22");
    // Key Vault references resolve with the user-assigned identity.
    expect(objectPath(site.body, "properties", "keyVaultReferenceIdentity")).toBeDefined();
  });

  it("gives the host storage account a deployment container and no shared keys", () => {
    const storage = onlyResource("Microsoft.Storage/storageAccounts");
    expect(objectPath(storage.body, "properties", "allowSharedKeyAccess")?.text).toBe("false");
    onlyResource("Microsoft.Storage/storageAccounts/blobServices/containers");
  });

  it("has Application Insights on a Log Analytics workspace, local auth off", () => {
    const insights = onlyResource("Microsoft.Insights/components");
    expect(objectPath(insights.body, "properties", "WorkspaceResourceId")).toBeDefined();
    expect(objectPath(insights.body, "properties", "DisableLocalAuth")?.text).toBe("true");
    onlyResource("Microsoft.OperationalInsights/workspaces");
  });

  it("creates Cosmos DB with key auth off, the source containers and the lease container", () => {
    const account = onlyResource("Microsoft.DocumentDB/databaseAccounts");
    expect(objectPath(account.body, "properties", "disableLocalAuth")?.text).toBe("true");
    // The all-versions-and-deletes change feed needs continuous backup; a new account gets it with that mode.
    expect(objectPath(account.body, "properties", "backupPolicy")?.text).toMatch(
      /continuousBackup \? \{[\s\S]*type: 'Continuous'/,
    );
    onlyResource("Microsoft.DocumentDB/databaseAccounts/sqlDatabases");
    const containers = resourcesOfType("Microsoft.DocumentDB/databaseAccounts/sqlDatabases/containers");
    const lease = containers.find((c) => c.symbol === "leaseContainer");
    expect(lease, "lease container").toBeDefined();
    // Created unconditionally: the trigger cannot create it under Entra auth.
    expect(ancestor(lease!.body, "if_statement")).toBeNull();
    const paths = objectPath(lease!.body, "properties", "resource", "partitionKey", "paths")!;
    expect(paths.namedChildren.map((n) => literalString(n))).toEqual(["/id"]);
    // One container per source, from the sources parameter.
    const sourceContainers = containers.find((c) => c !== lease)!;
    expect(ancestor(sourceContainers.body, "for_statement")?.namedChildren.map((n) => n.text)).toContain("sources");
  });

  it("runs Azure Managed Redis with TLS only and one endpoint (EnterpriseCluster) for ioredis", () => {
    const cluster = onlyResource("Microsoft.Cache/redisEnterprise");
    expect(literalAt(cluster.body, "properties", "minimumTlsVersion")).toBe("1.2");
    const database = onlyResource("Microsoft.Cache/redisEnterprise/databases");
    expect(literalAt(database.body, "properties", "clientProtocol")).toBe("Encrypted");
    expect(literalAt(database.body, "properties", "clusteringPolicy")).toBe("EnterpriseCluster");
    expect(literalAt(database.body, "properties", "evictionPolicy")).toBe("NoEviction");
  });

  it("has a Service Bus namespace without SAS keys and a queue for work tickets", () => {
    const namespace = onlyResource("Microsoft.ServiceBus/namespaces");
    expect(objectPath(namespace.body, "properties", "disableLocalAuth")?.text).toBe("true");
    onlyResource("Microsoft.ServiceBus/namespaces/queues");
  });

  it("keeps secrets in an RBAC Key Vault: the Elasticsearch API key and the Redis URL", () => {
    const vault = onlyResource("Microsoft.KeyVault/vaults");
    expect(objectPath(vault.body, "properties", "enableRbacAuthorization")?.text).toBe("true");
    const secrets = resourcesOfType("Microsoft.KeyVault/vaults/secrets").map((s) => `${s.file.path}:${s.symbol}`);
    expect(secrets.sort()).toEqual([
      "infra/app/key-vault.bicep:elasticsearchApiKeySecret",
      "infra/app/redis.bicep:redisUrlSecret",
    ]);
  });

  it("grants the user-assigned identity every role it needs, and only to that identity", () => {
    onlyResource("Microsoft.ManagedIdentity/userAssignedIdentities");
    const granted = resourcesOfType("Microsoft.Authorization/roleAssignments")
      .filter((r) => !grantsDeployer(r))
      .flatMap((r) => {
        const principal = objectPath(r.body, "properties", "principalId")!;
        const origin = trace(r.file, principal).at(-1)!;
        expect(origin.text, `${r.file.path}:${r.symbol}`).toBe("identity.properties.principalId");
        expect(literalAt(r.body, "properties", "principalType")).toBe("ServicePrincipal");
        return roleIdsOf(r);
      });
    const cosmosAssignments = resourcesOfType("Microsoft.DocumentDB/databaseAccounts/sqlRoleAssignments").filter(
      (r) => !grantsDeployer(r),
    );
    expect(cosmosAssignments).toHaveLength(1);
    const cosmos = cosmosAssignments[0]!;
    expect(trace(cosmos.file, objectPath(cosmos.body, "properties", "principalId")!).at(-1)!.text).toBe(
      "identity.properties.principalId",
    );
    granted.push(
      ...trace(cosmos.file, objectPath(cosmos.body, "properties", "roleDefinitionId")!).map(
        (s) => literalString(s.node) ?? "",
      ),
    );
    expect(granted).toEqual(expect.arrayContaining(Object.values(ROLES)));
  });
});

describe("deployerPrincipalId: the operator's data-plane roles", () => {
  const param = () => params(project.main).find((p) => p.name === "deployerPrincipalId");

  it("is an optional string, empty by default", () => {
    expect(param()?.type).toBe("string");
    expect(literalString(param()!.defaultValue)).toBe("");
  });

  it("grants Storage Blob Data Owner, Service Bus Data Owner, Key Vault Secrets User, Cosmos DB Built-in Data Contributor and Redis data access, each only when it is set", () => {
    const rbac = resourcesOfType("Microsoft.Authorization/roleAssignments").filter((r) => grantsDeployer(r));
    expect(rbac.flatMap(roleIdsOf).sort()).toEqual(
      [ROLES.storageBlobDataOwner, SERVICE_BUS_DATA_OWNER, ROLES.keyVaultSecretsUser].sort(),
    );
    const cosmos = resourcesOfType("Microsoft.DocumentDB/databaseAccounts/sqlRoleAssignments").filter((r) =>
      grantsDeployer(r),
    );
    expect(cosmos).toHaveLength(1);
    expect(
      trace(cosmos[0]!.file, objectPath(cosmos[0]!.body, "properties", "roleDefinitionId")!).map(
        (step) => literalString(step.node) ?? "",
      ),
    ).toContain(ROLES.cosmosDataContributor);
    const redis = onlyResource("Microsoft.Cache/redisEnterprise/databases/accessPolicyAssignments");
    expect(grantsDeployer(redis, ["properties", "user", "objectId"])).toBe(true);
    expect(literalAt(redis.body, "properties", "accessPolicyName")).toBe("default");
    for (const r of [...rbac, ...cosmos, redis]) {
      expect(conditionOf(r.body)?.replace(/\s/g, ""), `${r.file.path}:${r.symbol}`).toBe(
        "(!empty(deployerPrincipalId))",
      );
    }
  });

  it("passes the principal type through to every Azure RBAC assignment (a pipeline is a ServicePrincipal, not a User)", () => {
    for (const r of resourcesOfType("Microsoft.Authorization/roleAssignments").filter((r) => grantsDeployer(r))) {
      const origin = trace(r.file, objectPath(r.body, "properties", "principalType")!).at(-1)!;
      expect(`${origin.file}:${origin.text}`, r.symbol).toBe("infra/main.bicep:deployerPrincipalType");
    }
  });
});

describe("privateNetworking", () => {
  const mainModule = (symbol: string) => modules(project.main).find((m) => m.symbol === symbol)!;
  const storesWithPublicAccess = [
    "Microsoft.DocumentDB/databaseAccounts",
    "Microsoft.Storage/storageAccounts",
    "Microsoft.KeyVault/vaults",
    "Microsoft.Cache/redisEnterprise",
    "Microsoft.ServiceBus/namespaces",
  ];

  it("is a bool, off by default", () => {
    const param = params(project.main).find((p) => p.name === "privateNetworking");
    expect(param?.type).toBe("bool");
    expect(param!.defaultValue?.text).toBe("false");
  });

  it("creates the VNet (an app subnet delegated to Microsoft.App/environments, an endpoints subnet) only when on", () => {
    const network = mainModule("network");
    expect(network.target).toBe("infra/app/network.bicep");
    expect(conditionOf(network.body)).toBe("(privateNetworking)");
    const vnet = onlyResource("Microsoft.Network/virtualNetworks");
    const subnets = objectPath(vnet.body, "properties", "subnets")!.namedChildren.filter((n) => n.type === "object");
    expect(subnets.map((subnet) => literalAt(subnet, "name"))).toEqual(["app", "private-endpoints"]);
    const delegation = objectPath(subnets[0]!, "properties", "delegations")!.namedChildren.find(
      (n) => n.type === "object",
    )!;
    expect(literalAt(delegation, "properties", "serviceName")).toBe("Microsoft.App/environments");
  });

  it("puts a private endpoint, registered in its private DNS zone, in front of Cosmos DB, Redis, Storage (blob, queue, table), Service Bus and Key Vault, only when on", () => {
    const endpoints = mainModule("privateEndpoints");
    expect(endpoints.target).toBe("infra/app/private-endpoint.bicep");
    expect(conditionOf(endpoints.body)).toBe("(privateNetworking)");
    const targets = variables(project.main)
      .get("privateEndpointTargets")!
      .namedChildren.filter((n) => n.type === "object");
    const groups = new Map(
      targets.map((t) => [
        literalAt(t, "groupId")!,
        { zone: literalAt(t, "zone")!, target: objectPath(t, "targetId")!.text },
      ]),
    );
    expect([...groups.keys()].sort()).toEqual([
      "Sql",
      "blob",
      "namespace",
      "queue",
      "redisEnterprise",
      "table",
      "vault",
    ]);
    expect(groups.get("Sql")!.target).toContain("Microsoft.DocumentDB/databaseAccounts");
    expect(groups.get("redisEnterprise")!.target).toBe("redis.outputs.id");
    for (const group of ["blob", "queue", "table"]) expect(groups.get(group)!.target).toBe("storage.outputs.id");
    expect(groups.get("namespace")!.target).toBe("serviceBus.outputs.id");
    expect(groups.get("vault")!.target).toBe("keyVault.outputs.id");
    // Every zone an endpoint names is one the network creates and outputs.
    const networkFile = project.files.get("infra/app/network.bicep")!;
    const zoneNames = objectProperties(variables(networkFile).get("zoneNames")!);
    const zoneIds = objectProperties(outputs(networkFile).get("zoneIds")!);
    for (const { zone } of groups.values()) {
      expect(zoneNames.has(zone), zone).toBe(true);
      expect(zoneIds.has(zone), zone).toBe(true);
    }
    expect(literalString(zoneNames.get("cosmos"))).toBe("privatelink.documents.azure.com");
    expect(literalString(zoneNames.get("serviceBus"))).toBe("privatelink.servicebus.windows.net");
    expect(literalString(zoneNames.get("redis"))).toBe("privatelink.redis.azure.net");
    const zoneGroup = onlyResource("Microsoft.Network/privateEndpoints/privateDnsZoneGroups");
    expect(zoneGroup.file.path).toBe("infra/app/private-endpoint.bicep");
  });

  it("turns every store's public network access off when on, and only then", () => {
    for (const type of storesWithPublicAccess) {
      const store = onlyResource(type);
      // The value's origins, and the conditions that choose between its branches.
      const origins = trace(store.file, objectPath(store.body, "properties", "publicNetworkAccess")!);
      const conditions = origins
        .filter((step) => step.node.type === "ternary_expression")
        .flatMap((step) => trace(project.files.get(step.file)!, step.node.childForFieldName("condition")!));
      const steps = [...origins, ...conditions].map((step) => `${step.file}:${step.text}`);
      expect(
        steps.some(
          (step) =>
            step === "infra/main.bicep:privateNetworking" ||
            (step.startsWith("infra/main.bicep:") && step.includes("privateNetworking ?")),
        ),
        `${type}: ${steps.join(" → ")}`,
      ).toBe(true);
      expect(
        steps.some((step) => step.includes("'Disabled'")),
        type,
      ).toBe(true);
    }
    // Private endpoints for Service Bus exist on Premium only.
    const namespace = onlyResource("Microsoft.ServiceBus/namespaces");
    expect(trace(namespace.file, objectPath(namespace.body, "sku", "name")!).map((step) => step.text)).toEqual(
      expect.arrayContaining(["'Premium'", "'Standard'"]),
    );
  });

  it("integrates the Function App with the app subnet when on", () => {
    const passed = objectPath(mainModule("functionApp").body, "params", "virtualNetworkSubnetId")!;
    expect(passed.text.replace(/\s/g, "")).toBe("privateNetworking?network.outputs.appSubnetId:''");
    const site = onlyResource("Microsoft.Web/sites");
    expect(objectPath(site.body, "properties", "virtualNetworkSubnetId")?.text).toContain("virtualNetworkSubnetId");
  });
});

describe("Function App settings", () => {
  it("sets every setting the issue names", () => {
    const settings = appSettings();
    expect(EXPECTED_SETTINGS.filter((key) => !settings.has(key))).toEqual([]);
  });

  it("sets every setting driftless requires (derived from settingsSchema)", () => {
    const settings = appSettings();
    const required = schemaRequiredSettings();
    expect(required).toContain("REDIS_URL"); // the derivation itself works
    expect(required.filter((key) => !settings.has(key))).toEqual([]);
    expect(SOURCES_SETTINGS.some((key) => settings.has(key) && !settings.get(key)!.conditional)).toBe(true);
  });

  it("sets every %SETTING% the Functions host resolves in a trigger", () => {
    const names = hostResolvedSettings();
    expect(names).toContain("SYNC_SCHEDULE");
    expect(names.filter((key) => !appSettings().has(key))).toEqual([]);
  });

  it("names only settings that something reads", () => {
    const known = schemaKeys();
    const settings = appSettings();
    const connections = [...triggerConnections(), literalString(settings.get("COSMOS_TRIGGER_CONNECTION")?.value)];
    const unknown = [...settings.keys()].filter(
      (key) => !known.has(key) && !PLATFORM_SETTING.test(key) && !connections.some((c) => key.startsWith(`${c}__`)),
    );
    expect(unknown).toEqual([]);
  });

  it("gives literal values that the schema accepts", () => {
    for (const [key, { value }] of appSettings()) {
      const literal = literalString(value);
      if (literal !== undefined && validSettingValue(key, literal) !== undefined) {
        expect(validSettingValue(key, literal), `${key}=${literal}`).toBe(true);
      }
    }
  });

  it("connects the triggers and the host storage with the managed identity", () => {
    const settings = appSettings();
    const literal = (key: string) => literalString(settings.get(key)?.value);
    const triggerConnection = literal("COSMOS_TRIGGER_CONNECTION")!;
    const literalConnections = triggerConnections();
    expect(literalConnections).toContain("SERVICEBUS"); // the scan of functions/ works
    for (const prefix of [triggerConnection, ...literalConnections, "AzureWebJobsStorage"]) {
      expect(literal(`${prefix}__credential`), prefix).toBe("managedidentity");
      const clientId = trace(
        project.files.get("infra/app/function-app.bicep")!,
        settings.get(`${prefix}__clientId`)!.value,
      );
      expect(clientId.at(-1)!.text, prefix).toBe("identity.properties.clientId");
    }
    expect(settings.has(`${triggerConnection}__accountEndpoint`)).toBe(true);
    expect(settings.has("SERVICEBUS__fullyQualifiedNamespace")).toBe(true);
    expect(settings.has("AzureWebJobsStorage__accountName")).toBe(true);
    expect(literal("COSMOS_CREATE_LEASE_CONTAINER")).toBe("false");
  });

  it("wires each setting to the resource it describes", () => {
    const settings = appSettings();
    const functionApp = project.files.get("infra/app/function-app.bicep")!;
    const origin = (key: string) => trace(functionApp, settings.get(key)!.value).map((s) => `${s.file}: ${s.text}`);
    expect(origin("COSMOS__accountEndpoint")).toContain(
      "infra/app/cosmos-data.bicep: account.properties.documentEndpoint",
    );
    expect(origin("COSMOS_ENDPOINT")).toContain("infra/app/cosmos-data.bicep: account.properties.documentEndpoint");
    expect(origin("COSMOS_LEASE_CONTAINER")).toContain("infra/app/cosmos-data.bicep: leaseContainer.name");
    expect(origin("ELASTICSEARCH_URL").at(-1)).toBe("infra/main.bicep: elasticsearchUrl");
    expect(origin("DRIFTLESS_SOURCES")).toContain("infra/main.bicep: sources");
    expect(origin("REDIS_URL")).toContain("infra/app/redis.bicep: redisUrlSecretName");
    expect(origin("ELASTICSEARCH_API_KEY")).toContain("infra/app/key-vault.bicep: elasticsearchApiKeySecretName");
    expect(origin("SERVICEBUS__fullyQualifiedNamespace").join("\n")).toContain(
      "namespace.properties.serviceBusEndpoint",
    );
    expect(origin("SERVICEBUS_NAMESPACE").join("\n")).toContain("namespace.properties.serviceBusEndpoint");
    expect(origin("SERVICEBUS_QUEUE")).toContain("infra/app/service-bus.bicep: queue.name");
    expect(origin("AZURE_CLIENT_ID").at(-1)).toBe("infra/app/identity.bicep: identity.properties.clientId");
    expect(origin("AzureWebJobsStorage__accountName")).toContain("infra/app/storage.bicep: storage.name");
  });

  it("never holds a key: secrets are Key Vault references, no value carries a key", () => {
    const settings = appSettings();
    for (const key of ["REDIS_URL", "ELASTICSEARCH_API_KEY"]) {
      const value = settings.get(key)!.value;
      expect(value.type, key).toBe("string");
      expect(value.namedChildren[0]!.text, key).toMatch(KEY_VAULT_REFERENCE);
    }
    const functionApp = project.files.get("infra/app/function-app.bicep")!;
    for (const [key, { value }] of settings) {
      for (const step of trace(functionApp, value)) {
        expect(
          calledFunctions(step.node).filter((fn) => /^list/i.test(fn)),
          `${key} via ${step.text}`,
        ).toEqual([]);
        expect(step.text, key).not.toMatch(/AccountKey=|SharedAccessKey|InstrumentationKey=|password/i);
        for (const literal of [step.node, ...descendants(step.node, "string")].map((n) => literalString(n) ?? "")) {
          expect(literal, key).not.toMatch(/[A-Za-z0-9+/]{40,}={0,2}/);
        }
      }
    }
    const keyed = ["COSMOS_KEY", "ELASTICSEARCH_PASSWORD", "DRIFTLESS_API_KEY", "SERVICEBUS_CONNECTION_STRING"];
    for (const key of [...keyed, ...FLEX_REJECTED]) {
      expect(settings.has(key), key).toBe(false);
    }
  });

  it("lets keys travel only into Key Vault secrets, never into outputs", () => {
    for (const file of project.files.values()) {
      for (const call of descendants(file.root, "call_expression")) {
        if (
          !calledFunctions(call)
            .slice(0, 1)
            .some((fn) => /^list/i.test(fn))
        )
          continue;
        const declaration = ancestor(call, "resource_declaration");
        const type = declaration && literalString(declaration.namedChildren[1])?.split("@")[0];
        expect(type, `${file.path}: ${call.text}`).toBe("Microsoft.KeyVault/vaults/secrets");
      }
      const secure = params(file)
        .filter((p) => p.decorators.has("secure"))
        .map((p) => p.name);
      for (const identifier of descendants(file.root, "identifier").filter((i) => secure.includes(i.text))) {
        if (identifier.parent?.type === "parameter_declaration") continue;
        expect(ancestor(identifier, "output_declaration"), `${file.path}: output uses ${identifier.text}`).toBeNull();
        const holder = ancestor(identifier, "resource_declaration") ?? ancestor(identifier, "module_declaration");
        const holderType =
          holder?.type === "module_declaration" ? "module" : literalString(holder?.namedChildren[1])?.split("@")[0];
        expect(["module", "Microsoft.KeyVault/vaults/secrets"], `${file.path}: ${identifier.text}`).toContain(
          holderType,
        );
      }
    }
  });
});

describe("infra/main.parameters.json", () => {
  const parametersFile = join(repoRoot, "infra/main.parameters.json");
  const parameters = () =>
    (JSON.parse(readFileSync(parametersFile, "utf8")) as { parameters: Record<string, { value: unknown }> }).parameters;

  it("sets only parameters main.bicep declares, and every required one but those the deploy guide passes", () => {
    const declared = params(project.main);
    const given = Object.keys(parameters());
    expect(given.filter((name) => !declared.some((p) => p.name === name))).toEqual([]);
    const guide = readFileSync(join(repoRoot, "docs/deploy.md"), "utf8");
    const deployCommand = guide
      .split("\n")
      .filter(
        (line, i, lines) =>
          /az deployment group create/.test(lines.slice(Math.max(0, i - 3), i + 1).join("\n")) || /^\s+-p /.test(line),
      )
      .join("\n");
    const passed = [...deployCommand.matchAll(/-p ([A-Za-z]+)=/g)].map((m) => m[1]!);
    expect(passed).toContain("elasticsearchUrl");
    const required = declared.filter((p) => !p.defaultValue).map((p) => p.name);
    expect(required.filter((name) => !given.includes(name) && !passed.includes(name))).toEqual([]);
  });

  it("describes sources that driftless accepts, in the database the template manages", () => {
    const sources = sourcesSchema.parse(parameters().sources!.value);
    const database =
      (parameters().cosmosDatabaseName?.value as string | undefined) ??
      literalString(params(project.main).find((p) => p.name === "cosmosDatabaseName")!.defaultValue);
    for (const source of sources) expect(source.database).toBe(database);
  });

  it("yields settings loadConfig accepts, with the values Azure resolves at run time", () => {
    const given = parameters();
    const database = given.cosmosDatabaseName!.value as string;
    // Values that only exist once deployed, in the shape Azure gives them; DRIFTLESS_SOURCES is
    // what main.bicep's map() makes of the sources parameter.
    const runtime: Record<string, string> = {
      COSMOS_ENDPOINT: "https://cosmos-driftless-abc.documents.azure.com:443/",
      REDIS_URL: "rediss://:c2VjcmV0%2Bkey%3D@redis-driftless-abc.westeurope.redis.azure.net:10000",
      ELASTICSEARCH_URL: "https://driftless.es.westeurope.azure.elastic-cloud.com:443",
      ELASTICSEARCH_API_KEY: "aWQ6a2V5",
      APPLICATIONINSIGHTS_CONNECTION_STRING:
        "InstrumentationKey=00000000-0000-0000-0000-000000000000;IngestionEndpoint=https://westeurope-5.in.applicationinsights.azure.com/;ApplicationId=11111111-1111-1111-1111-111111111111",
      DRIFTLESS_SOURCES: JSON.stringify((given.sources!.value as object[]).map((s) => ({ ...s, database }))),
      // main.bicep's effectiveCaptureMode for the account it creates (a conditional the resolver does not evaluate).
      CAPTURE_MODE: "allVersionsAndDeletes",
    };
    // Everything else follows its trace to a literal or a parameter: main.parameters.json, else
    // the parameter's default.
    const resolve = (file: BicepFile, node: Node): string => {
      const literal = literalString(node);
      if (literal !== undefined) return literal;
      if (node.type === "number") return node.text;
      if (node.type === "string") {
        // An interpolated string, e.g. 'ClientId=${identityClientId};Authorization=AAD'.
        return node.namedChildren
          .map((part) =>
            part.type === "interpolation" ? resolve(file, part.namedChildren[0]!) : (literalString(part) ?? part.text),
          )
          .join("");
      }
      if (node.type === "call_expression" && node.childForFieldName("function")!.text === "string") {
        return resolve(file, node.childForFieldName("arguments")!.namedChildren[0]!);
      }
      const next = follow(file, node);
      if (next) return resolve(next.file, next.node);
      if (node.type === "identifier") {
        if (file === project.main && given[node.text]) return String(given[node.text]!.value);
        const declared = params(file).find((p) => p.name === node.text)?.defaultValue;
        if (declared) return resolve(file, declared);
      }
      return `resolved-${node.text}`;
    };
    const functionApp = project.files.get("infra/app/function-app.bicep")!;
    const env: Record<string, string> = {};
    for (const [key, { value }] of appSettings()) env[key] = runtime[key] ?? resolve(functionApp, value);
    const config = loadConfig(env);
    expect(config.sources.map((s) => s.name)).toEqual(["products"]);
    expect(config.cosmos.triggerConnection).toBe("COSMOS");
    expect(config.cosmos.createLeaseContainer).toBe(false);
    expect(config.sync.timeBudgetMs).toBe(25_000);
    expect(config.sync.schedule).toBe("*/30 * * * * *");
    expect(config.capture).toMatchObject({ mode: "allVersionsAndDeletes", startFrom: { kind: "now" } });
    // No key: the Cosmos client signs in as the identity, and the timer dispatches tickets.
    expect(config.cosmos.key).toBeUndefined();
    expect(config.cosmos.clientId).toBe(env.AZURE_CLIENT_ID);
    expect(config.dispatch?.namespace).toBe(env.SERVICEBUS_NAMESPACE);
    expect(config.dispatch?.queue).toBe("driftless-tickets");
    // Application Insights refuses the instrumentation key alone: the exporter signs in as the identity.
    expect(parseAuthenticationString(config.telemetry.azureMonitor?.authenticationString)).toEqual({
      aad: true,
      clientId: env.AZURE_CLIENT_ID,
    });
  });
});
