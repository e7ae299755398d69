// Bundle the portal's front-end sources with esbuild: frontend/designer/index.js (bpmn-js, the
// Camunda 7 properties panel, their CSS) into var/frontend/designer/designer.{js,css}, which
// Django serves as /static/designer/... (portal/settings.py STATICFILES_DIRS).
// Run by `make setup` through `npm run build`; node_modules and the output are never committed.
import { build } from "esbuild";
import { fileURLToPath } from "node:url";
import path from "node:path";

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const started = Date.now();

await build({
  absWorkingDir: root,
  entryPoints: { designer: "frontend/designer/index.js" },
  outdir: "var/frontend/designer",
  bundle: true,
  format: "iife",
  target: ["es2020"],
  minify: true,
  sourcemap: "linked",
  legalComments: "linked",
  // The bpmn font is embedded (bpmn-embedded.css); anything else a stylesheet names is copied.
  loader: { ".woff": "file", ".woff2": "file", ".ttf": "file", ".eot": "file", ".svg": "file" },
  assetNames: "[name]-[hash]",
  logLevel: "warning",
});

console.log(`frontend: var/frontend/designer built in ${Date.now() - started} ms`);
