//! axe-core, the accessibility audit the browser tests run in every page people see.

use anyhow::{bail, Context, Result};

use crate::Browser;

/// The audit's script, to inject into a page.
pub fn source() -> Result<String> {
    let script = crate::npm_package("axe-core")?.join("axe.min.js");
    std::fs::read_to_string(&script).with_context(|| format!("reading {}", script.display()))
}

/// Runs axe-core in the page: one line per serious or critical violation.
pub async fn serious_violations(browser: &Browser, axe: &str) -> Result<Vec<String>> {
    browser.client.execute(axe, vec![]).await?;
    let found = browser
        .client
        .execute_async(
            "const done = arguments[0];
             axe.run(document, { resultTypes: ['violations'] }).then(
               r => done({
                 passed: r.passes.length,
                 serious: r.violations
                   .filter(v => v.impact === 'serious' || v.impact === 'critical')
                   .map(v => `${v.impact} ${v.id}: ${v.help} — ${v.nodes.map(n => n.target.join(' ')).join(', ')}`),
               }),
               e => done({ passed: 0, serious: ['axe failed: ' + e] }));",
            vec![],
        )
        .await?;
    // Guards against an audit that silently checked nothing (a page not rendered yet).
    if found["passed"].as_u64().unwrap_or(0) == 0 {
        bail!("axe-core checked no rule: {found}");
    }
    serde_json::from_value(found["serious"].clone()).context("axe's answer")
}
