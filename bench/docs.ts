/**
 * The benchmark's documents: ~1 KB of JSON shaped like a product catalogue entry (nested objects,
 * arrays, a few free-text fields), generated from a seed so every run indexes the same bytes.
 */

export interface BenchDoc {
  readonly id: string;
  readonly tenant: string;
  readonly [field: string]: unknown;
}

/** Tenants are the partition key values; a few hundred keeps partitions realistic and small. */
export const TENANTS = 200;

const WORDS = (
  "lamp desk oak walnut brass linen wool cotton steel glass matte gloss round square compact tall " +
  "portable quiet warm bright soft sturdy modern classic rustic minimal industrial handmade recycled " +
  "outdoor indoor kitchen garden office studio travel everyday premium budget durable light heavy " +
  "adjustable folding stackable washable waterproof wireless rechargeable dimmable ergonomic"
).split(" ");
const CITIES = ["Lisbon", "Porto", "Madrid", "Lyon", "Berlin", "Gdansk", "Oslo", "Turin", "Ghent", "Cork"];
const COLORS = ["black", "white", "sand", "sage", "rust", "navy", "ochre", "grey"];

/** Mulberry32: a tiny deterministic generator, so document n is the same in every run. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const benchKey = (n: number) => ({ id: `p-${n.toString(36).padStart(6, "0")}`, pk: `tenant-${n % TENANTS}` });

export function benchDoc(n: number, revision = 0): BenchDoc {
  const rnd = random(n * 7919 + revision);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(rnd() * list.length)]!;
  const words = (count: number) => Array.from({ length: count }, () => pick(WORDS)).join(" ");
  const { id, pk } = benchKey(n);
  return {
    id,
    tenant: pk,
    type: "product",
    sku: `SKU-${(n * 2654435761) % 1e9}`,
    title: `${words(3)} ${pick(WORDS)}`,
    description: `${words(22)}. ${words(12)}.`,
    tags: Array.from({ length: 4 }, () => pick(WORDS)),
    price: {
      amount: Math.round(rnd() * 50000) / 100,
      currency: "EUR",
      discount: rnd() < 0.2 ? Math.round(rnd() * 30) : 0,
    },
    stock: { available: Math.floor(rnd() * 500), warehouse: pick(CITIES), reorder: rnd() < 0.1 },
    category: { id: `c-${Math.floor(rnd() * 40)}`, name: words(2), path: [words(1), words(1), words(1)] },
    seller: {
      id: `s-${Math.floor(rnd() * 1000)}`,
      name: `${words(2)} ltd`,
      rating: Math.round(rnd() * 50) / 10,
      address: { city: pick(CITIES), country: "EU", zip: String(10000 + Math.floor(rnd() * 89999)) },
    },
    attributes: {
      color: pick(COLORS),
      size: pick(["S", "M", "L", "XL"]),
      weightKg: Math.round(rnd() * 2000) / 100,
      material: pick(WORDS),
    },
    review: { author: words(1), stars: 1 + Math.floor(rnd() * 5), text: `${words(14)}.` },
    active: rnd() > 0.05,
    revision,
    createdAt: new Date(1_700_000_000_000 + n * 60_000).toISOString(),
    updatedAt: new Date(1_700_000_000_000 + n * 60_000 + revision * 1000).toISOString(),
  };
}

/** The Elasticsearch mapping for these documents (core types only). */
export const benchMapping = {
  dynamic: true,
  properties: {
    tenant: { type: "keyword" },
    type: { type: "keyword" },
    sku: { type: "keyword" },
    title: { type: "text" },
    description: { type: "text" },
    tags: { type: "keyword" },
    review: { properties: { text: { type: "text" }, author: { type: "keyword" }, stars: { type: "integer" } } },
    createdAt: { type: "date" },
    updatedAt: { type: "date" },
  },
} as const;
