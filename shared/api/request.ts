import { NotFoundError, ValidationError } from "../core/errors.js";
import type { ApiRequest, ApiServices } from "./types.js";

export function parseJsonBody(text: string): unknown {
  if (text.trim() === "") throw new ValidationError("invalid_json", "the request body is empty; JSON expected");
  try {
    return JSON.parse(text);
  } catch {
    throw new ValidationError("invalid_json", "the request body is not valid JSON");
  }
}

export function sourceOf(services: ApiServices, request: ApiRequest) {
  return sourceNamed(services, request.params.source ?? "");
}

/** The source of that name, or a 404 `unknown_source`. */
export function sourceNamed(services: ApiServices, name: string) {
  const source = services.sources.get(name);
  if (!source) throw new NotFoundError("unknown_source", `no source named "${name.slice(0, 100)}"`);
  return source;
}
