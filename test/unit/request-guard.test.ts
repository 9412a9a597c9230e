import { describe, expect, it } from "vitest";
import { unsupportedMediaType } from "../../shared/api/content-type.js";
import { loadConfig } from "../../shared/config/index.js";
import { hostAllowed, isLoopbackName, originAllowed } from "../../shared/worker/request-origin.js";
import { BASE_ENV, configError } from "../setup/config-env.js";

describe("unsupportedMediaType", () => {
  it("lets reads through, and state-changing requests with JSON or with no body and no type", () => {
    for (const method of ["GET", "HEAD", "OPTIONS", "get"])
      expect(unsupportedMediaType(method, "text/plain", true)).toBeUndefined();
    expect(unsupportedMediaType("POST", "application/json", true)).toBeUndefined();
    expect(unsupportedMediaType("POST", "Application/JSON; charset=utf-8", true)).toBeUndefined();
    expect(unsupportedMediaType("POST", undefined, false)).toBeUndefined();
    expect(unsupportedMediaType("POST", null, false)).toBeUndefined();
  });

  it("refuses with 415 what a browser sends cross-site without a preflight, and a body without a type", () => {
    const types = [
      "text/plain",
      "text/plain;charset=UTF-8",
      "application/x-www-form-urlencoded",
      "multipart/form-data; boundary=x",
      "application/json-patch+json",
      ";",
    ];
    for (const type of types) {
      for (const hasBody of [true, false]) {
        expect(unsupportedMediaType("POST", type, hasBody), type).toEqual({
          status: 415,
          body: { error: { code: "unsupported_media_type", message: expect.any(String) } },
        });
      }
    }
    expect(unsupportedMediaType("POST", undefined, true)).toMatchObject({ status: 415 });
    expect(unsupportedMediaType("DELETE", "", true)).toMatchObject({ status: 415 });
  });
});

describe("worker Host and Origin checks", () => {
  it("knows the loopback names", () => {
    for (const name of ["localhost", "LocalHost", "127.0.0.1", "127.255.0.9", "[::1]"])
      expect(isLoopbackName(name), name).toBe(true);
    for (const name of [
      "127.0.0.256",
      "127.0.0.1.evil.example",
      "localhost.evil.example",
      "::1",
      "0.0.0.0",
      "10.0.0.1",
      "evil.example",
    ]) {
      expect(isLoopbackName(name), name).toBe(false);
    }
  });

  it("accepts a loopback or allowed Host on any port, and a missing one", () => {
    const allowed = ["driftless.internal"];
    for (const host of [
      "localhost",
      "localhost:7071",
      "127.0.0.1:1",
      "[::1]:7071",
      "driftless.internal",
      "Driftless.Internal:443",
      undefined,
    ]) {
      expect(hostAllowed(host, allowed), String(host)).toBe(true);
    }
    for (const host of [
      "evil.example",
      "evil.example:7071",
      "",
      "localhost:",
      "user@localhost",
      "localhost/x",
      "driftless.internal.evil.example",
      "[::2]:7071",
    ]) {
      expect(hostAllowed(host, allowed), host).toBe(false);
    }
  });

  it("accepts an http(s) Origin on a loopback or allowed name, and nothing else", () => {
    const allowed = ["driftless.internal"];
    for (const origin of [
      "http://localhost:3000",
      "https://127.0.0.1",
      "http://[::1]:7071",
      "https://driftless.internal",
    ])
      expect(originAllowed(origin, allowed), origin).toBe(true);
    for (const origin of [
      "null",
      "http://evil.example",
      "file://",
      "chrome-extension://abc",
      "http://localhost.evil.example",
      "not a url",
    ]) {
      expect(originAllowed(origin, allowed), origin).toBe(false);
    }
  });
});

describe("DRIFTLESS_ALLOWED_HOSTS", () => {
  it("is a list of lowercase host names, empty by default", () => {
    expect(loadConfig(BASE_ENV).worker.allowedHosts).toEqual([]);
    expect(
      loadConfig({ ...BASE_ENV, DRIFTLESS_ALLOWED_HOSTS: " Driftless.Internal, 10.0.0.5 ,[fd00::1]" }).worker
        .allowedHosts,
    ).toEqual(["driftless.internal", "10.0.0.5", "[fd00::1]"]);
  });

  it("refuses a scheme, a port or a wildcard, naming the setting", () => {
    for (const value of ["https://driftless.internal", "driftless.internal:8080", "*.internal", "a b"]) {
      expect(configError({ ...BASE_ENV, DRIFTLESS_ALLOWED_HOSTS: value }).setting, value).toBe(
        "DRIFTLESS_ALLOWED_HOSTS",
      );
    }
  });
});
