import Module from "node:module";

/** A function as the host receives it from `app.http`, `app.timer`, …: its metadata (name, bindings) and its handler. */
export interface Registration {
  readonly name: string;
  readonly bindings: Readonly<Record<string, Readonly<Record<string, unknown>>>>;
  readonly handler: unknown;
}

/**
 * The Functions host cannot run here. Its Node.js worker hands `@azure/functions` a core module,
 * `@azure/functions-core`, by answering `require` for that name; `app.*` then registers each
 * function through it instead of skipping it in test mode. This answers the same way and keeps
 * what is registered, so a test sees the metadata the host would get. Install it before anything
 * registers a function in the process: the library looks for the core module once.
 */
export function installFunctionsHost(): Registration[] {
  const registrations: Registration[] = [];
  const core = {
    setProgrammingModel: () => undefined,
    registerFunction: (metadata: { name: string; bindings: Registration["bindings"] }, handler: unknown) => {
      registrations.push({ name: metadata.name, bindings: metadata.bindings, handler });
      return { dispose: () => undefined };
    },
    log: () => undefined,
  };
  const prototype = Module.prototype as unknown as { require: (id: string) => unknown };
  const original = prototype.require;
  prototype.require = function (this: unknown, id: string) {
    return id === "@azure/functions-core" ? core : original.call(this, id);
  };
  return registrations;
}
