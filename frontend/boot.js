// Starts the WebAssembly app. Trunk would put these lines inline in index.html; as a file of its
// own (Trunk.toml, `pattern_script`) the page runs under `script-src 'self'` with no inline
// script, so no hash or nonce has to follow every build (docs/SECURITY.md, "CSP").
const tag = document.querySelector("script[data-wasm]");
const { default: init } = await import(tag.dataset.js);
await init({ module_or_path: tag.dataset.wasm });
