// Starts the WebAssembly app. Trunk would put these lines inline in index.html; as a file of its
// own (Trunk.toml, `pattern_script`) the page runs under `script-src 'self'` with no inline
// script, so no hash or nonce has to follow every build (docs/SECURITY.md, "CSP").
//
// On the start page, the two answers it needs before it can show anything are asked for now,
// while the wasm downloads and compiles, instead of one after the other once the app runs
// (src/api.rs takes each once). Only on "/": elsewhere a login may happen before the app would
// ask, and an early answer would be stale.
if (location.pathname === "/") {
  const ask = (path) => {
    const answer = fetch(path, {
      headers: { "x-csrf": "1", accept: "application/json" },
      cache: "no-store",
    });
    answer.catch(() => {}); // a failure is reported when the app takes the answer
    return answer;
  };
  window.__porteroEarly = { "/api/me": ask("/api/me"), "/api/providers": ask("/api/providers") };
}
const tag = document.querySelector("script[data-wasm]");
const { default: init } = await import(tag.dataset.js);
await init({ module_or_path: tag.dataset.wasm });
