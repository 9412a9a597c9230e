import { createServer, type AddressInfo } from "node:net";
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
    // A listener that counts connections stands in for the cluster's address.
    let connections = 0;
    const server = createServer((socket) => {
      connections++;
      socket.destroy();
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as AddressInfo;
    try {
      const client = createElasticClient({ node: `http://127.0.0.1:${port}`, apiKey: secret });
      expect(client.connectionPool.connections.map((connection) => connection.url.port)).toEqual([String(port)]);
      await new Promise((resolve) => setTimeout(resolve, 200));
      await client.close();
      expect(connections).toBe(0);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it("names the setting, never the value, when the URL is malformed", () => {
    expect(configError(() => createElasticClient({ node: `elastic:${secret}@host:9200` })).setting).toBe(
      "ELASTICSEARCH_URL",
    );
    expect(configError(() => createElasticClient({ node: `ftp://u:${secret}@host` })).setting).toBe(
      "ELASTICSEARCH_URL",
    );
  });

  it("refuses ambiguous or half-given credentials", () => {
    expect(
      configError(() => createElasticClient({ node: "http://h:9200", apiKey: secret, username: "u", password: secret }))
        .setting,
    ).toBe("ELASTICSEARCH_API_KEY");
    expect(configError(() => createElasticClient({ node: "http://h:9200", username: "u" })).setting).toBe(
      "ELASTICSEARCH_PASSWORD",
    );
    expect(configError(() => createElasticClient({ node: "http://h:9200", password: secret })).setting).toBe(
      "ELASTICSEARCH_USERNAME",
    );
    expect(
      configError(() => createElasticClient({ node: `http://u:${secret}@h:9200`, username: "u", password: secret }))
        .setting,
    ).toBe("ELASTICSEARCH_USERNAME");
  });

  it("reports an unreadable CA file and a non-positive timeout by setting", () => {
    expect(
      configError(() => createElasticClient({ node: "http://h:9200", caFile: "/nonexistent/ca.pem" })).setting,
    ).toBe("ELASTICSEARCH_CA_FILE");
    expect(configError(() => createElasticClient({ node: "http://h:9200", requestTimeoutMs: 0 })).setting).toBe(
      "ELASTICSEARCH_REQUEST_TIMEOUT_MS",
    );
  });
});
