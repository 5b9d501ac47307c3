import { describe, expect, it } from "vitest";
import { checkEndpoint, isAllowedEndpoint, isLoopbackHost } from "./index.js";

describe("the loopback rule", () => {
  it.each([
    "127.0.0.1",
    "127.255.255.254",
    "127.1.2.3",
    "localhost",
    "LOCALHOST",
    "localhost.",
    "[::1]",
    "::1",
  ])("%s is loopback", (host) => {
    expect(isLoopbackHost(host)).toBe(true);
  });

  it.each([
    "arm.example.test",
    "foo.localhost",
    "localhost.example.com",
    "[::ffff:7f00:1]",
    "::ffff:127.0.0.1",
    "128.0.0.1",
    "127.0.0.256",
    "10.0.0.1",
    "0.0.0.0",
    "[::]",
    "",
  ])("%s is not loopback", (host) => {
    expect(isLoopbackHost(host)).toBe(false);
  });

  it("sees through the URL parser's normalisation of numeric hosts", () => {
    expect(isAllowedEndpoint(new URL("http://0x7f.1:8080/"))).toBe(true);
    expect(isAllowedEndpoint(new URL("http://2130706433/"))).toBe(true);
    expect(isAllowedEndpoint(new URL("http://[::ffff:127.0.0.1]/"))).toBe(false);
  });
});

describe("checkEndpoint", () => {
  it("accepts https anywhere and http on loopback", () => {
    expect(checkEndpoint("https://management.azure.com", "the ARM endpoint").origin).toBe(
      "https://management.azure.com",
    );
    expect(checkEndpoint("http://127.0.0.1:10000/devstoreaccount1", "x").port).toBe("10000");
    expect(checkEndpoint("http://[::1]:9/", "x").hostname).toBe("[::1]");
  });

  it("refuses plain http elsewhere with ERR_CONFIG, naming the endpoint", () => {
    expect(() => checkEndpoint("http://arm.example.test", "the ARM endpoint")).toThrow(
      expect.objectContaining({ code: "ERR_CONFIG", message: expect.stringContaining("the ARM endpoint") }),
    );
    expect(() => checkEndpoint("http://foo.localhost:8080", "x")).toThrow(
      expect.objectContaining({ code: "ERR_CONFIG" }),
    );
  });

  it("refuses non-URLs, other schemes and credentials in the URL with ERR_USAGE", () => {
    for (const bad of ["not a url", "ftp://127.0.0.1/", "file:///etc/passwd", "https://u:p@example.com/"]) {
      expect(() => checkEndpoint(bad, "x")).toThrow(expect.objectContaining({ code: "ERR_USAGE" }));
    }
  });
});
