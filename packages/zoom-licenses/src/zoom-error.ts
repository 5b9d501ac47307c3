/**
 * Zoom's error text from a response body, whatever its shape: the API's `{code, message}`, the
 * OAuth endpoint's `{reason, error}`, or either nested under `error`. Never `[object Object]`.
 */
export function zoomErrorText(
  body: unknown,
  fallback: string,
): { code: string | undefined; message: string; text: string } {
  const b = (typeof body === "object" && body !== null ? body : {}) as Record<string, unknown>;
  const nested =
    typeof b.error === "object" && b.error !== null ? (b.error as Record<string, unknown>) : undefined;
  const code = scalar(b.code) ?? scalar(b.error) ?? scalar(nested?.code) ?? scalar(nested?.error);
  const message =
    scalar(b.message) ?? scalar(b.reason) ?? scalar(nested?.message) ?? scalar(nested?.reason) ?? undefined;
  const said = message ?? (Object.keys(b).length > 0 ? JSON.stringify(b).slice(0, 200) : fallback);
  return { code, message: said, text: code !== undefined && code !== said ? `${code}: ${said}` : said };
}

function scalar(value: unknown): string | undefined {
  return typeof value === "string" || typeof value === "number" ? String(value) : undefined;
}

/** Parses a response body as JSON, or keeps the first 200 characters as the message. */
export function parseBody(text: string): unknown {
  if (!text) return null;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return { message: text.slice(0, 200) };
  }
}
