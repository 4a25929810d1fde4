// Starts the app (Trunk.toml, pattern_script): a file of its own, so the page needs no inline
// script under Portero's Content-Security-Policy.
const tag = document.querySelector("script[data-wasm]");
const { default: init } = await import(tag.dataset.js);
await init({ module_or_path: tag.dataset.wasm });
