import { describe, expect, it } from "vitest";
import { checkKey, extensionFor, keyIdentity } from "./keys.js";
import { parseRetryAfter } from "@cloudadmin/paging";

describe("checkKey", () => {
  it("accepts ordinary keys, numbers and Unicode", () => {
    expect(checkKey("1001")).toEqual({ ok: true, key: "1001" });
    expect(checkKey(4711)).toEqual({ ok: true, key: "4711" });
    expect(checkKey("Zoë-Ana_7")).toEqual({ ok: true, key: "Zoë-Ana_7" });
    expect(checkKey("a.b")).toEqual({ ok: true, key: "a.b" });
  });

  it("says no-key when the attribute is unset", () => {
    expect(checkKey(undefined)).toMatchObject({ ok: false, status: "no-key" });
    expect(checkKey(null)).toMatchObject({ ok: false, status: "no-key" });
  });

  it.each([
    ["", "empty key"],
    ["..", "contains '..'"],
    ["../x", "contains '..'"],
    ["a/b", "contains a path separator"],
    ["a\\b", "contains a path separator"],
    ["tab\there", "contains a control character"],
    ["nul\u0000", "contains a control character"],
    ["del\u007f", "contains a control character"],
    ["c:d", "contains ':'"],
    ["why?", "contains '?'"],
    ["CON", "is a reserved device name"],
    ["nul.txt", "is a reserved device name"],
    ["Com1", "is a reserved device name"],
    ["LPT9", "is a reserved device name"],
    ["end.", "starts or ends with a dot or space"],
    [" lead", "starts or ends with a dot or space"],
    [".hidden", "starts or ends with a dot or space"],
    ["x".repeat(252), "longer than 255 bytes as a file name"],
    ["é".repeat(126), "longer than 255 bytes as a file name"],
  ])("refuses %j: %s", (key, reason) => {
    expect(checkKey(key)).toEqual({ ok: false, status: "invalid-key", reason });
  });

  it("refuses values that are not text", () => {
    expect(checkKey({ a: 1 })).toMatchObject({ status: "invalid-key" });
    expect(checkKey(true)).toMatchObject({ status: "invalid-key" });
  });

  it("treats keys differing in case or normalization as the same file", () => {
    expect(keyIdentity("Dup-1")).toBe(keyIdentity("dUP-1"));
    expect(keyIdentity("e\u0301")).toBe(keyIdentity("\u00e9"));
  });
});

describe("extensionFor", () => {
  it("maps photo content types to extensions", () => {
    expect(extensionFor("image/jpeg")).toBe("jpg");
    expect(extensionFor("image/png; charset=binary")).toBe("png");
    expect(extensionFor("image/GIF")).toBe("gif");
    expect(extensionFor(null)).toBe("jpg");
  });
});

describe("parseRetryAfter", () => {
  it("reads seconds, decimals and HTTP dates", () => {
    expect(parseRetryAfter("10")).toBe(10_000);
    expect(parseRetryAfter("2.128")).toBe(2128);
    expect(parseRetryAfter("Sat, 28 Nov 2026 00:00:30 GMT", Date.parse("2026-11-28T00:00:00Z"))).toBe(30_000);
    expect(parseRetryAfter(null)).toBeUndefined();
    expect(parseRetryAfter("soon")).toBeUndefined();
  });
});
