use leptos::prelude::*;
use shared::ProviderKind;

/// A provider's mark, drawn inline (no request to a third party), in the text colour.
/// Decorative: the button's text already names the provider.
#[component]
pub(crate) fn BrandMark(kind: ProviderKind) -> impl IntoView {
    match kind {
        // GitHub's "mark" (the Octicons `mark-github` glyph).
        ProviderKind::Github => view! {
            <svg class="mark" viewBox="0 0 16 16" aria-hidden="true" focusable="false">
                <path
                    fill="currentColor"
                    d="M8 0C3.58 0 0 3.58 0 8c0 3.54 2.29 6.53 5.47 7.59.4.07.55-.17.55-.38 0-.19-.01-.82-.01-1.49-2.01.37-2.53-.49-2.69-.94-.09-.23-.48-.94-.82-1.13-.28-.15-.68-.52-.01-.53.63-.01 1.08.58 1.23.82.72 1.21 1.87.87 2.33.66.07-.52.28-.87.51-1.07-1.78-.2-3.64-.89-3.64-3.95 0-.87.31-1.59.82-2.15-.08-.2-.36-1.02.08-2.12 0 0 .67-.21 2.2.82.64-.18 1.32-.27 2-.27.68 0 1.36.09 2 .27 1.53-1.04 2.2-.82 2.2-.82.44 1.1.16 1.92.08 2.12.51.56.82 1.27.82 2.15 0 3.07-1.87 3.75-3.65 3.95.29.25.54.73.54 1.48 0 1.07-.01 1.93-.01 2.2 0 .21.15.46.55.38A8.01 8.01 0 0016 8c0-4.42-3.58-8-8-8z"
                />
            </svg>
        }
        .into_any(),
        // The 42 network's "42": a "4" of two slanted blocks and a "2" of three.
        ProviderKind::Intra42 => view! {
            <svg class="mark" viewBox="0 -5.5 42 42" aria-hidden="true" focusable="false">
                <g fill="currentColor">
                    <polygon points="0,22.8 16.2,22.8 16.2,31.1 24.2,31.1 24.2,16.2 8.1,16.2 24.2,0 16.2,0 0,16.2" />
                    <polygon points="25.8,8 33.9,0 25.8,0" />
                    <polygon points="33.9,8 25.8,16 25.8,24 33.9,24 33.9,16 42,8 42,0 33.9,0" />
                    <polygon points="42,16 33.9,24 42,24" />
                </g>
            </svg>
        }
        .into_any(),
        // Everything else (OpenID Connect, Google, GitLab, OAuth 2.0): a key.
        _ => view! {
            <svg
                class="mark"
                viewBox="0 0 24 24"
                aria-hidden="true"
                focusable="false"
                fill="none"
                stroke="currentColor"
                stroke-width="2"
                stroke-linecap="round"
                stroke-linejoin="round"
            >
                <circle cx="7.5" cy="16.5" r="4.5" />
                <path d="M10.7 13.3 21 3M17 7l3 3M14.5 9.5l2 2" />
            </svg>
        }
        .into_any(),
    }
}
