import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";

/**
 * The HTML shell. Everything a report needs is inline (styles, uPlot, the page script and the data),
 * so it opens from disk, from a mail attachment or from Blob with no network. Data from clouds is
 * never written into the HTML: it goes into a `<script type="application/json">` block with every `<`
 * escaped (so no `</script>` or `<!--` can end it), and the page script puts it on screen with
 * `textContent` only. A Content-Security-Policy allows only the page's own two scripts (by hash) and
 * no network fetches at all, as a second fence.
 */

const require = createRequire(import.meta.url);
const assets = new Map<string, string>();

async function asset(path: string): Promise<string> {
  let text = assets.get(path);
  if (text === undefined) {
    text = await readFile(path, "utf8");
    assets.set(path, text);
  }
  return text;
}

/** uPlot, the chart library, read from its installed package (inlined into each leak report). */
const uplotJs = () => asset(require.resolve("uplot/dist/uPlot.iife.min.js"));
const uplotCss = () => asset(require.resolve("uplot/dist/uPlot.min.css"));
const pageJs = () => asset(new URL("../assets/report.js", import.meta.url).pathname);
const pageCss = () => asset(new URL("../assets/report.css", import.meta.url).pathname);

/** JSON that is safe inside a `<script>` element: `<` and the JS line separators escaped. */
export function jsonForScript(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, "\\u003c")
    .replace(/\u2028/g, "\\u2028")
    .replace(/\u2029/g, "\\u2029");
}

export function escapeHtml(text: string): string {
  return text.replace(
    /[&<>"']/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c] as string,
  );
}

/** A library's text can hold "</script" inside a string literal; it must not end the element. */
function inlineScript(code: string): string {
  return code.replace(/<\/script/gi, "<\\/script");
}

function sha256(text: string): string {
  return `'sha256-${createHash("sha256").update(text, "utf8").digest("base64")}'`;
}

export async function renderPage(title: string, data: unknown, withChart: boolean): Promise<string> {
  const scripts = [...(withChart ? [inlineScript(await uplotJs())] : []), inlineScript(await pageJs())];
  const css = (withChart ? await uplotCss() : "") + (await pageCss());
  const csp = [
    "default-src 'none'",
    `script-src ${scripts.map(sha256).join(" ")}`,
    "style-src 'unsafe-inline'",
    // Photos: inline data URIs, or files beside the report (relative paths).
    "img-src data: file: 'self'",
    "base-uri 'none'",
    "form-action 'none'",
  ].join("; ");
  return [
    "<!doctype html>",
    '<html lang="en">',
    "<head>",
    '<meta charset="utf-8">',
    `<meta http-equiv="Content-Security-Policy" content="${csp}">`,
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    '<meta name="referrer" content="no-referrer">',
    `<title>${escapeHtml(title)}</title>`,
    `<style>${css}</style>`,
    "</head>",
    "<body>",
    '<header><h1 id="title"></h1><p id="meta"></p></header>',
    '<main id="app"></main>',
    `<script type="application/json" id="report-data">${jsonForScript(data)}</script>`,
    ...scripts.map((s) => `<script>${s}</script>`),
    "</body>",
    "</html>",
    "",
  ].join("\n");
}
