// Copies the pinned npm packages the dashboard uses into the Flask package's static
// directory, so the dashboard is served locally (no CDN) and works offline.
import { copyFileSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const target = join(here, "..", "webapi", "dashboard", "static", "vendor");
const files = [
  ["chart.js/dist/chart.umd.min.js", "chart.umd.min.js"],
  ["chart.js/LICENSE.md", "chart.js.LICENSE.md"],
];

mkdirSync(target, { recursive: true });
for (const [source, name] of files) {
  copyFileSync(join(here, "node_modules", source), join(target, name));
  console.log(`vendored ${source} -> webapi/dashboard/static/vendor/${name}`);
}
