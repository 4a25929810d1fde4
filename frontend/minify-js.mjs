// Trunk's post_build hook (Trunk.toml): in release builds, minifies the JavaScript of the
// staging dist/ — wasm-bindgen's glue and boot.js — with terser, and rewrites the sha384
// `integrity` attributes index.html carries for them, so Subresource Integrity still holds.
//
// Trunk's own minifier gives up on the glue ("Failed to minify JS": it does not parse
// `export default`) and never touches copied files such as boot.js: ≈ 2 KB of the first
// visit's gzip (docs/BENCHMARKS.md, "The bundle"). terser is pinned and installed into .tools/
// by xtask (xtask/src/tools.rs), as wasm-opt is.
import { createHash } from "node:crypto";
import { readdir, readFile, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { join } from "node:path";

if (process.env.TRUNK_PROFILE !== "release") process.exit(0);

let minify;
try {
  ({ minify } = createRequire(new URL("../.tools/package.json", import.meta.url))("terser"));
} catch {
  // The build stays whole without it, only ≈ 2 KB larger (its files and hashes untouched).
  console.warn(
    "minify-js: terser is not in .tools/, the JavaScript stays unminified " +
      "(`cargo xtask dist` installs it)",
  );
  process.exit(0);
}

const dir = process.env.TRUNK_STAGING_DIR;
const sha384 = (bytes) => createHash("sha384").update(bytes).digest("base64");
const htmlPath = join(dir, "index.html");
let html = await readFile(htmlPath, "utf8");

for (const name of await readdir(dir)) {
  if (!name.endsWith(".js")) continue;
  const path = join(dir, name);
  const source = await readFile(path, "utf8");
  const { code } = await minify(source, {
    module: true,
    compress: { passes: 2 },
    mangle: true,
  });
  await writeFile(path, code);
  html = html.replaceAll(`sha384-${sha384(source)}`, `sha384-${sha384(code)}`);
}

// Every hash index.html names must be that of a file here, or the browser refuses the file.
const hashes = new Set();
for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
  if (entry.isFile()) hashes.add(sha384(await readFile(join(entry.parentPath ?? entry.path, entry.name))));
}
for (const [, hash] of html.matchAll(/sha384-([A-Za-z0-9+/=]+)/g)) {
  if (!hashes.has(hash)) {
    console.error(`minify-js: index.html names sha384-${hash}, which no file has`);
    process.exit(1);
  }
}
await writeFile(htmlPath, html);
