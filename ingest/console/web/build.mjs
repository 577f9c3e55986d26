// Builds the console bundle: src/main.tsx (Preact + uPlot) -> console.js + console.css, minified,
// next to index.html in ingest/console/ (what the API serves and the Lambda zip carries).
// OUT_DIR=<dir> builds elsewhere: tests/integration/test_console_bundle.py compares that build with
// the committed files.
import { build } from "esbuild";
import { fileURLToPath } from "node:url";
import path from "node:path";

const here = path.dirname(fileURLToPath(import.meta.url));
const outdir = process.env.OUT_DIR ? path.resolve(process.env.OUT_DIR) : path.resolve(here, "..");

await build({
  entryPoints: { console: path.join(here, "src/main.tsx") },
  bundle: true,
  minify: true,
  format: "iife",
  target: ["es2020"],
  jsx: "automatic",
  jsxImportSource: "preact",
  legalComments: "none",
  charset: "utf8",
  outdir,
  logLevel: "warning",
});
