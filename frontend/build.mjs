// Bundle the portal's front-end sources with esbuild, one bundle per folder of frontend/:
// designer (bpmn-js, the Camunda 7 properties panel, their CSS), charts (Apache ECharts, for
// the consoles' charts), signature (signature_pad, the handwritten signature of an
// approval) and kanban (SortableJS: the CRM's pipeline board, with the sales pages' CSS)
// into var/frontend/<name>/<name>.{js,css}, which Django serves as /static/<name>/...
// (portal/settings.py STATICFILES_DIRS).
// Run by `make setup` through `npm run build`; node_modules and the output are never committed.
import { build } from "esbuild";
import { fileURLToPath } from "node:url";
import path from "node:path";

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const started = Date.now();

const bundles = ["designer", "charts", "signature", "kanban"];
await Promise.all(bundles.map((name) => build({
  absWorkingDir: root,
  entryPoints: { [name]: `frontend/${name}/index.js` },
  outdir: `var/frontend/${name}`,
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
})));

console.log(`frontend: var/frontend/{${bundles.join(",")}} built in ${Date.now() - started} ms`);
