import { inspect } from "node:util";
import { describe, expect, it } from "vitest";
import { ConfigError } from "../../shared/core/errors.js";
import { createElasticClient } from "../../shared/elastic/index.js";

const secret = "s3cr3t-value";

function configError(make: () => unknown): ConfigError {
  try {
    make();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    expect(inspect(error, { depth: 10 })).not.toContain(secret);
    return error as ConfigError;
  }
  throw new Error("expected a ConfigError");
}

describe("createElasticClient", () => {
  it("builds a client without contacting the cluster", async () => {
    const client = createElasticClient({ node: "http://127.0.0.1:9", apiKey: secret });
    await client.close();
  });

  it("names the setting, never the value, when the URL is malformed", () => {
    expect(configError(() => createElasticClient({ node: `elastic:${secret}@host:9200` })).setting).toBe("ELASTICSEARCH_URL");
    expect(configError(() => createElasticClient({ node: `ftp://u:${secret}@host` })).setting).toBe("ELASTICSEARCH_URL");
  });

  it("refuses ambiguous or half-given credentials", () => {
    expect(
      configError(() => createElasticClient({ node: "http://h:9200", apiKey: secret, username: "u", password: secret })).setting,
    ).toBe("ELASTICSEARCH_API_KEY");
    expect(configError(() => createElasticClient({ node: "http://h:9200", username: "u" })).setting).toBe("ELASTICSEARCH_PASSWORD");
    expect(configError(() => createElasticClient({ node: "http://h:9200", password: secret })).setting).toBe("ELASTICSEARCH_USERNAME");
    expect(
      configError(() => createElasticClient({ node: `http://u:${secret}@h:9200`, username: "u", password: secret })).setting,
    ).toBe("ELASTICSEARCH_USERNAME");
  });

  it("reports an unreadable CA file and a non-positive timeout by setting", () => {
    expect(configError(() => createElasticClient({ node: "http://h:9200", caFile: "/nonexistent/ca.pem" })).setting).toBe(
      "ELASTICSEARCH_CA_FILE",
    );
    expect(configError(() => createElasticClient({ node: "http://h:9200", requestTimeoutMs: 0 })).setting).toBe(
      "ELASTICSEARCH_REQUEST_TIMEOUT_MS",
    );
  });
});
