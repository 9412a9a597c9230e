import type { SourceConfig } from "../config/source.js";
import { createMapper, type DocumentMapper } from "../sync/mapper.js";

const mappers = new WeakMap<SourceConfig, DocumentMapper>();

/** The source's document mapper, built once per source configuration. */
export function mapperFor(source: SourceConfig): DocumentMapper {
  let mapper = mappers.get(source);
  if (!mapper) {
    mapper = createMapper(source);
    mappers.set(source, mapper);
  }
  return mapper;
}
