import { readdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, relative, resolve } from "node:path";
import { Language, Parser, type Node } from "web-tree-sitter";

/**
 * Bicep files read with the tree-sitter-bicep grammar (its prebuilt wasm, run by web-tree-sitter).
 * The Bicep compiler cannot be installed here, so this is what checks the syntax; the helpers
 * below read declarations off the syntax tree so the tests never match raw text.
 */

export interface BicepFile {
  /** Path relative to the repository root, e.g. `infra/app/redis.bicep`. */
  readonly path: string;
  readonly absolutePath: string;
  readonly root: Node;
}

export interface Param {
  readonly name: string;
  readonly type: string;
  readonly defaultValue: Node | null;
  readonly decorators: ReadonlyMap<string, Node>;
}

export interface ResourceDecl {
  readonly symbol: string;
  /** `Microsoft.Web/sites`. */
  readonly type: string;
  readonly apiVersion: string;
  readonly existing: boolean;
  /** The resource body, with any `if (…)` or `[for …]` around it unwrapped. */
  readonly body: Node;
  readonly file: BicepFile;
}

export interface ModuleDecl {
  readonly symbol: string;
  /** The path as written, relative to the declaring file. */
  readonly path: string;
  readonly target: string;
  readonly body: Node;
  readonly file: BicepFile;
}

const repoRoot = resolve(dirname(new URL(import.meta.url).pathname), "../..");
let parser: Promise<Parser> | undefined;

export function bicepParser(): Promise<Parser> {
  parser ??= (async () => {
    await Parser.init();
    const require = createRequire(import.meta.url);
    const wasm = join(dirname(require.resolve("tree-sitter-bicep/package.json")), "tree-sitter-bicep.wasm");
    const created = new Parser();
    created.setLanguage(await Language.load(wasm));
    return created;
  })();
  return parser;
}

export async function parseBicepText(text: string): Promise<Node> {
  const tree = (await bicepParser()).parse(text);
  if (!tree) throw new Error("tree-sitter returned no tree");
  return tree.rootNode;
}

export async function parseBicepFile(path: string): Promise<BicepFile> {
  const absolutePath = resolve(repoRoot, path);
  const root = await parseBicepText(readFileSync(absolutePath, "utf8"));
  return { path: relative(repoRoot, absolutePath), absolutePath, root };
}

/** Every `.bicep` file under `dir` (relative to the repository root). */
export function bicepFilesUnder(dir: string): string[] {
  const out: string[] = [];
  const walk = (current: string) => {
    for (const entry of readdirSync(resolve(repoRoot, current), { withFileTypes: true })) {
      const path = join(current, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith(".bicep")) out.push(path);
    }
  };
  walk(dir);
  return out.sort();
}

/** ERROR and MISSING nodes, as `line:column what`. */
export function syntaxProblems(root: Node): string[] {
  const problems: string[] = [];
  const walk = (node: Node) => {
    if (node.isError || node.isMissing) {
      const where = `${node.startPosition.row + 1}:${node.startPosition.column + 1}`;
      problems.push(
        `${where} ${node.isMissing ? `missing ${node.type}` : `cannot parse ${JSON.stringify(node.text.slice(0, 60))}`}`,
      );
    }
    for (const child of node.children) walk(child);
  };
  walk(root);
  return problems;
}

export function descendants(node: Node, type: string): Node[] {
  return node.descendantsOfType(type);
}

const declarationsOf = (root: Node, type: string) => root.namedChildren.filter((n) => n.type === type);

/** The text of a string literal, or undefined for an interpolated string or any other node. */
export function literalString(node: Node | null | undefined): string | undefined {
  if (node?.type !== "string") return undefined;
  if (node.namedChildren.some((c) => c.type !== "string_content" && c.type !== "escape_sequence")) return undefined;
  const escapes: Record<string, string> = { n: "\n", r: "\r", t: "\t", "\\": "\\", "'": "'", $: "$" };
  return node.text.slice(1, -1).replace(/\\(.)/g, (_match, c: string) => escapes[c] ?? c);
}

/** The key of an object property: an identifier or a quoted string. */
export function propertyKey(property: Node): string {
  const key = property.namedChildren[0]!;
  return key.type === "string" ? (literalString(key) ?? key.text) : key.text;
}

/** The properties of an object literal, key → value node (comments skipped). */
export function objectProperties(object: Node): Map<string, Node> {
  const out = new Map<string, Node>();
  for (const property of object.namedChildren.filter((n) => n.type === "object_property")) {
    out.set(propertyKey(property), property.namedChildren[1]!);
  }
  return out;
}

/** Follows a chain of keys through nested object literals. */
export function objectPath(object: Node, ...keys: string[]): Node | undefined {
  let current: Node | undefined = object;
  for (const key of keys) {
    if (current?.type !== "object") return undefined;
    current = objectProperties(current).get(key);
  }
  return current;
}

function decoratorsBefore(node: Node): Map<string, Node> {
  const out = new Map<string, Node>();
  let previous = node.previousNamedSibling;
  while (previous?.type === "comment") previous = previous.previousNamedSibling;
  if (previous?.type !== "decorators") return out;
  for (const decorator of previous.namedChildren) {
    const call = decorator.namedChildren[0];
    if (call?.type === "call_expression") out.set(call.childForFieldName("function")!.text, call);
    else if (call) out.set(call.text, call);
  }
  return out;
}

export function params(file: BicepFile): Param[] {
  return declarationsOf(file.root, "parameter_declaration").map((decl) => {
    const [name, type, defaultValue] = decl.namedChildren;
    return {
      name: name!.text,
      type: type!.text,
      defaultValue: defaultValue ?? null,
      decorators: decoratorsBefore(decl),
    };
  });
}

export function variables(file: BicepFile): Map<string, Node> {
  return new Map(
    declarationsOf(file.root, "variable_declaration").map((d) => [d.namedChildren[0]!.text, d.namedChildren[1]!]),
  );
}

export function outputs(file: BicepFile): Map<string, Node> {
  return new Map(
    declarationsOf(file.root, "output_declaration").map((d) => [d.namedChildren[0]!.text, d.namedChildren.at(-1)!]),
  );
}

/** The object of a resource or module body, inside `if (…)` and `[for …: …]`. */
function unwrapBody(node: Node): Node {
  if (node.type === "if_statement") return unwrapBody(node.namedChildren.at(-1)!);
  if (node.type === "for_statement") return unwrapBody(node.childForFieldName("body") ?? node.namedChildren.at(-1)!);
  return node;
}

export function resources(file: BicepFile): ResourceDecl[] {
  return declarationsOf(file.root, "resource_declaration").map((decl) => {
    const [symbol, typeString] = decl.namedChildren;
    const [type = "", apiVersion = ""] = (literalString(typeString) ?? "").split("@");
    return {
      symbol: symbol!.text,
      type,
      apiVersion,
      existing: decl.children.some((c) => c.type === "existing"),
      body: unwrapBody(decl.namedChildren.at(-1)!),
      file,
    };
  });
}

export function modules(file: BicepFile): ModuleDecl[] {
  return declarationsOf(file.root, "module_declaration").map((decl) => {
    const [symbol, pathString] = decl.namedChildren;
    const path = literalString(pathString) ?? "";
    return {
      symbol: symbol!.text,
      path,
      target: relative(repoRoot, resolve(dirname(file.absolutePath), path)),
      body: unwrapBody(decl.namedChildren.at(-1)!),
      file,
    };
  });
}

/** Names of the functions called anywhere under `node` (e.g. `listKeys` in `db.listKeys()`). */
export function calledFunctions(node: Node): string[] {
  return descendants(node, "call_expression").map((call) => {
    const fn = call.childForFieldName("function")!;
    return fn.type === "member_expression" ? fn.childForFieldName("property")!.text : fn.text;
  });
}

export { repoRoot };
