import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { ConfigError, DependencyError } from "../../shared/core/errors.js";
import {
  AliasTakenError,
  createElasticClient,
  createIndexVersion,
  DRIFTLESS_METADATA,
  ensureIndex,
  MappingIncompatibleError,
  MappingInvalidError,
  swapAlias,
  type Client,
} from "../../shared/elastic/index.js";
import { services, uniqueName } from "../setup/services.js";

const mapping = { properties: { title: { type: "keyword" }, n: { type: "integer" } } };
const settings = { number_of_replicas: 0 };

let client: Client;
const names: string[] = [];

/** A fresh alias name for this test; everything under it is deleted afterwards. */
function aliasName(): string {
  const name = uniqueName("es-im");
  names.push(name);
  return name;
}

async function indicesBehind(
  alias: string,
): Promise<Record<string, { aliases?: Record<string, { is_write_index?: boolean }> }>> {
  return client.indices.getAlias({ name: alias });
}

beforeAll(() => {
  client = createElasticClient({ node: services().elasticsearchUrl });
});

afterEach(async () => {
  // Wildcard deletes are refused by default (action.destructive_requires_name): list, then delete by name.
  for (const name of names.splice(0)) {
    const found = await client.indices.get({ index: `${name}*`, expand_wildcards: "all" });
    const indices = Object.keys(found);
    if (indices.length) await client.indices.delete({ index: indices });
  }
});

afterAll(async () => {
  await client.close();
});

describe("ensureIndex", () => {
  it("creates a timestamped index with the mapping, the metadata fields and the alias as write index", async () => {
    const alias = aliasName();
    const result = await ensureIndex(client, { alias, mapping, settings });

    expect(result.created).toMatch(new RegExp(`^${alias}-\\d{17}$`));
    expect(result.indices).toEqual([result.created]);
    expect(result.addedFields).toEqual([]);
    const behind = await indicesBehind(alias);
    expect(Object.keys(behind)).toEqual([result.created]);
    expect(behind[result.created!]?.aliases?.[alias]?.is_write_index).toBe(true);

    const stored = await client.indices.getMapping({ index: alias });
    expect(stored[result.created!]?.mappings.properties).toEqual({
      title: { type: "keyword" },
      n: { type: "integer" },
      driftless: { properties: { key: { type: "keyword" }, ts: { type: "long" }, source: { type: "keyword" } } },
    });
    expect(DRIFTLESS_METADATA.keyField).toBe("driftless.key");
  });

  it("is idempotent: a second run changes nothing and creates no second index", async () => {
    const alias = aliasName();
    const first = await ensureIndex(client, { alias, mapping, settings });
    const second = await ensureIndex(client, { alias, mapping, settings });

    expect(second).toEqual({ indices: [first.created], created: undefined, addedFields: [] });
    expect(Object.keys(await client.indices.get({ index: `${alias}*` }))).toEqual([first.created]);
  });

  it("is safe when several instances start at once: one index behind the alias", async () => {
    const alias = aliasName();
    const results = await Promise.all(
      Array.from({ length: 4 }, () => ensureIndex(client, { alias, mapping, settings })),
    );

    const created = results.map((r) => r.created).filter(Boolean);
    expect(created).toHaveLength(1);
    expect(Object.keys(await indicesBehind(alias))).toEqual(created);
    expect(Object.keys(await client.indices.get({ index: `${alias}*` }))).toEqual(created);
  });

  it("adds fields that are new in the mapping to the existing index", async () => {
    const alias = aliasName();
    const { created } = await ensureIndex(client, { alias, mapping, settings });
    const wider = {
      properties: {
        ...mapping.properties,
        tags: { type: "keyword" },
        address: { properties: { city: { type: "keyword", fields: { text: { type: "text" } } } } },
      },
    };
    const result = await ensureIndex(client, { alias, mapping: wider, settings });

    expect(result).toEqual({
      indices: [created],
      created: undefined,
      addedFields: ["address", "address.city", "address.city.text", "tags"],
    });
    const stored = await client.indices.getMapping({ index: alias });
    expect(stored[created!]?.mappings.properties).toMatchObject(wider.properties);
    // And once they are there, the next start has nothing to add.
    expect((await ensureIndex(client, { alias, mapping: wider, settings })).addedFields).toEqual([]);
  });

  it("rejects an incompatible change with an error that asks for a reimport, and leaves the mapping alone", async () => {
    const alias = aliasName();
    const { created } = await ensureIndex(client, { alias, mapping, settings });
    const changed = { properties: { ...mapping.properties, n: { type: "keyword" } } };

    const error = await ensureIndex(client, { alias, mapping: changed, settings }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MappingIncompatibleError);
    expect((error as MappingIncompatibleError).code).toBe("elastic_mapping_incompatible");
    expect((error as Error).message).toContain("reimport into a new index");
    expect((error as MappingIncompatibleError).reason).toContain(
      "mapper [n] cannot be changed from type [integer] to [keyword]",
    );
    const stored = await client.indices.getMapping({ index: alias });
    expect(stored[created!]?.mappings.properties?.n).toEqual({ type: "integer" });
  });

  it("refuses a concrete index that squats the alias name, and creates nothing", async () => {
    const alias = aliasName();
    await client.indices.create({ index: alias, settings });

    const error = await ensureIndex(client, { alias, mapping, settings }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AliasTakenError);
    expect((error as AliasTakenError).code).toBe("elastic_alias_taken");
    expect(Object.keys(await client.indices.get({ index: `${alias}*` }))).toEqual([alias]);
  });

  it("reports a mapping Elasticsearch cannot parse as invalid, creating nothing", async () => {
    const alias = aliasName();
    const bad = { properties: { x: { type: "no_such_type" } } };

    await expect(ensureIndex(client, { alias, mapping: bad, settings })).rejects.toBeInstanceOf(MappingInvalidError);
    expect(await client.indices.exists({ index: `${alias}*`, allow_no_indices: false })).toBe(false);
  });

  it("refuses a mapping that defines driftless's own metadata field", async () => {
    const alias = aliasName();
    const reserved = { properties: { driftless: { type: "keyword" } } };
    await expect(ensureIndex(client, { alias, mapping: reserved })).rejects.toBeInstanceOf(ConfigError);
  });
});

describe("createIndexVersion and swapAlias", () => {
  async function seed(index: string, count: number): Promise<void> {
    const operations = Array.from({ length: count }, (_, i) => [
      { index: { _index: index, _id: String(i) } },
      { n: i },
    ]).flat();
    await client.bulk({ operations, refresh: true });
  }

  it("creates a later, sortable version that the alias does not point at yet", async () => {
    const alias = aliasName();
    const { created } = await ensureIndex(client, { alias, mapping, settings });
    const next = await createIndexVersion(client, { alias, mapping, settings });

    expect(next).not.toBe(created);
    expect([created, next].sort()).toEqual([created, next]);
    expect(Object.keys(await indicesBehind(alias))).toEqual([created]);
    const stored = await client.indices.getMapping({ index: next });
    expect(stored[next]?.mappings.properties?.driftless).toEqual(DRIFTLESS_METADATA.mapping);
  });

  it("creates a version with overridden settings and an alias of its own in the one request, however the settings are spelled", async () => {
    const overrides = { "index.refresh_interval": "-1", "index.number_of_replicas": 0 };
    const spellings = [
      { refresh_interval: "5s", number_of_replicas: 1, number_of_shards: 2 },
      { "index.refresh_interval": "5s", "index.number_of_replicas": 1, "index.number_of_shards": 2 },
      { index: { refresh_interval: "5s", number_of_replicas: 1, number_of_shards: 2 } },
      // Nothing left of the nested object but the overridden settings.
      { index: { refresh_interval: "5s", number_of_replicas: 1 }, number_of_shards: 2 },
    ];
    for (const configured of spellings) {
      const alias = aliasName();
      const own = `${alias}-rebuild`;
      const index = await createIndexVersion(client, { alias, mapping, settings: configured }, new Date(), {
        overrides,
        alias: own,
      });

      const stored = (await client.indices.getSettings({ index }))[index]?.settings?.index;
      expect(stored, JSON.stringify(configured)).toMatchObject({
        refresh_interval: "-1",
        number_of_replicas: "0",
        number_of_shards: "2",
      });
      expect((await indicesBehind(own))[index]?.aliases?.[own]?.is_write_index).toBe(true);
      // The source's alias is still not on it: only a swap puts it there.
      expect(Object.keys((await client.indices.getAlias({ index }))[index]?.aliases ?? {})).toEqual([own]);
    }
  });

  it("retires a second alias of the new index in the swap itself, and swaps all the same when it is gone", async () => {
    const alias = aliasName();
    const own = `${alias}-rebuild`;
    const { created: first } = await ensureIndex(client, { alias, mapping, settings });
    const second = await createIndexVersion(client, { alias, mapping, settings }, new Date(), { alias: own });

    expect(await swapAlias(client, alias, second, own)).toEqual({ previous: [first] });
    expect(Object.keys((await client.indices.getAlias({ index: second }))[second]?.aliases ?? {})).toEqual([alias]);
    await expect(client.indices.existsAlias({ name: own })).resolves.toBe(false);

    // A resumed swap: the second alias went with the first attempt.
    expect(await swapAlias(client, alias, first!, own)).toEqual({ previous: [second] });
    expect(Object.keys(await indicesBehind(alias))).toEqual([first]);
  });

  it("moves the alias atomically: readers always find exactly one of the two indices", async () => {
    const alias = aliasName();
    const { created: first } = await ensureIndex(client, { alias, mapping, settings });
    const second = await createIndexVersion(client, { alias, mapping, settings });
    await seed(first!, 2);
    await seed(second, 3);

    let swapping = true;
    const counts: number[] = [];
    const reader = (async () => {
      // -1 stands for a failed read (the alias pointing nowhere).
      while (swapping)
        counts.push(
          await client.count({ index: alias }).then(
            (r) => r.count,
            () => -1,
          ),
        );
    })();
    const swaps: { previous: string[] }[] = [];
    try {
      for (let i = 0; i < 6; i++) swaps.push(await swapAlias(client, alias, i % 2 === 0 ? second : first!));
    } finally {
      swapping = false;
      await reader;
    }

    expect(swaps[0]).toEqual({ previous: [first] });
    expect(swaps[1]).toEqual({ previous: [second] });
    expect(counts.length).toBeGreaterThanOrEqual(6);
    // Never 5 (both indices) and never -1 (none): the remove and the add are one change.
    expect(counts.every((c) => c === 2 || c === 3)).toBe(true);
    const behind = await indicesBehind(alias);
    expect(Object.keys(behind)).toEqual([first]);
    expect(behind[first!]?.aliases?.[alias]?.is_write_index).toBe(true);
  });

  it("changes nothing when the add fails: the removal is rolled back with it", async () => {
    const alias = aliasName();
    const { created } = await ensureIndex(client, { alias, mapping, settings });

    const error = await swapAlias(client, alias, `${alias}-does-not-exist`).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DependencyError);
    expect((error as DependencyError).statusCode).toBe(404);
    expect(Object.keys(await indicesBehind(alias))).toEqual([created]);
  });

  it("points a new alias at an index when there was none, and refuses a squatted name", async () => {
    const alias = aliasName();
    const index = await createIndexVersion(client, { alias, mapping, settings });
    expect(await swapAlias(client, alias, index)).toEqual({ previous: [] });
    expect(Object.keys(await indicesBehind(alias))).toEqual([index]);

    const squatted = aliasName();
    await client.indices.create({ index: squatted, settings });
    await expect(swapAlias(client, squatted, index)).rejects.toBeInstanceOf(AliasTakenError);
  });
});
