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
  const name = request.params.source ?? "";
  const source = services.sources.get(name);
  if (!source) throw new NotFoundError("unknown_source", `no source named "${name.slice(0, 100)}"`);
  return source;
}
