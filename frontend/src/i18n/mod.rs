//! Every text the SPA shows, in English (`en.rs`) and Spanish (`es.rs`): one table per
//! language, nothing written inline in the pages.
//!
//! A table is a [`Texts`] value, so a key missing from one language is a compile error; the
//! tests below also check that both tables fill every key and agree on the `{placeholders}`.
//! The language comes from `localStorage` (the switch in the header remembers it there), else
//! from `navigator.language`, else English.

use leptos::prelude::*;

mod en;
mod es;

/// Declares [`Texts`] with one `&'static str` field per key.
macro_rules! texts {
    ($($(#[$doc:meta])* $key:ident),* $(,)?) => {
        /// One language's texts. A `{placeholder}` (`{provider}`, `{name}`, `{time}` …) is filled
        /// in by [`fill`].
        pub struct Texts {
            $($(#[$doc])* pub $key: &'static str,)*
        }

        impl Texts {
            /// Every key with its text, in declaration order.
            pub fn entries(&self) -> Vec<(&'static str, &'static str)> {
                vec![$((stringify!($key), self.$key)),*]
            }
        }
    };
}

texts! {
    /// The `aria-label` of the language switch.
    language,
    loading,
    retry,
    try_again,
    back_home,
    log_in_title,
    log_in_intro,
    /// A provider button: `{provider}` is its name.
    log_in_with,
    no_providers,
    signed_in_as,
    your_profile,
    log_out,
    /// After a logout whose provider offers RP-initiated logout (OpenID Connect).
    logged_out,
    also_log_out_of,
    /// Callback steps.
    step_checking,
    step_signing_in,
    login_failed,
    error_code,
    error_details,
    /// Failures in plain words, by machine code (see [`failure_text`]).
    err_access_denied,
    err_state,
    err_state_expired,
    err_provider,
    err_provider_refused,
    err_interaction,
    err_issuer,
    err_incomplete,
    err_rate_limited,
    err_network,
    err_unknown_provider,
    err_store,
    err_server,
    err_blocked,
    err_session_expired,
    err_unknown,
    /// Stands in for `{provider}` when the name is unknown.
    the_provider,
    /// The profile page.
    profile_login,
    profile_email,
    profile_provider,
    profile_session_ends,
    not_shared,
    avatar_of,
    details_title,
    details_none,
    details_failed,
    campus,
    cursus,
    level,
    public_repos,
    followers,
    profile_page,
    log_in_again,
    /// The card "What your app sees" (`GET /api/demo/whoami`).
    app_sees_title,
    app_sees_intro,
    app_sees_app,
    app_sees_signature,
    app_sees_verified,
    app_sees_not_verified,
    app_sees_subject,
    app_sees_name,
    not_sent,
    /// The sessions list (`GET /api/sessions`).
    sessions_title,
    this_browser,
    /// A browser named from its `User-Agent`: "Firefox on Linux".
    browser_on_os,
    unknown_browser,
    /// `{time}` is a relative time from the browser's `Intl.RelativeTimeFormat`.
    last_seen,
    signed_in_at,
    just_now,
    end_session,
    /// The accessible name of a session's "End" button.
    end_session_of,
    log_out_everywhere,
    sessions_failed,
    end_session_failed,
    /// The callback page when the backend's access rules refuse the person (403 `access_denied`).
    denied_title,
    denied_lead,
    try_another_account,
    not_found_title,
    not_found_text,
}

/// The languages the SPA speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lang {
    En,
    Es,
}

impl Lang {
    pub const ALL: [Lang; 2] = [Lang::En, Lang::Es];

    /// The BCP 47 tag, for `<html lang>`, `localStorage` and dates.
    pub fn tag(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Es => "es",
        }
    }

    /// The language's own name, shown on the switch.
    pub fn name(self) -> &'static str {
        match self {
            Lang::En => "English",
            Lang::Es => "Español",
        }
    }

    /// `es`, `es-AR`, `ES` … → Spanish; `en-GB` → English; anything else → `None`.
    pub fn from_tag(tag: &str) -> Option<Lang> {
        let primary = tag.split(['-', '_']).next()?.to_ascii_lowercase();
        Lang::ALL.into_iter().find(|lang| lang.tag() == primary)
    }

    pub fn texts(self) -> &'static Texts {
        match self {
            Lang::En => &en::EN,
            Lang::Es => &es::ES,
        }
    }
}

/// Puts `value` in the text's first placeholder (`{provider}`, `{name}`, `{time}` …); a text
/// with two (`{browser} on {os}`) is filled twice.
pub fn fill(text: &str, value: &str) -> String {
    let placeholder = text
        .find('{')
        .and_then(|start| Some(start..start + text[start..].find('}')? + 1));
    match placeholder {
        Some(range) => {
            let mut filled = text.to_owned();
            filled.replace_range(range, value);
            filled
        }
        None => text.to_owned(),
    }
}

/// "3 minutes ago", "hace 2 horas": how long before `now` the moment `then` was (both in
/// seconds since the Unix epoch), in the reader's language, by the browser's
/// `Intl.RelativeTimeFormat`. Under a minute: [`Texts::just_now`].
pub fn time_ago(lang: Lang, then: i64, now: i64) -> String {
    let seconds = now.saturating_sub(then).max(0);
    let (amount, unit) = match seconds {
        0..=59 => return lang.texts().just_now.to_owned(),
        60..=3599 => (seconds / 60, "minute"),
        3600..=86_399 => (seconds / 3600, "hour"),
        _ => (seconds / 86_400, "day"),
    };
    let locales = js_sys::Array::of1(&lang.tag().into());
    js_sys::Intl::RelativeTimeFormat::new(&locales, &js_sys::Object::new())
        .format(-(amount as f64), unit)
        .into()
}

/// Seconds since the Unix epoch, by the browser's clock.
pub fn now_seconds() -> i64 {
    (js_sys::Date::now() / 1000.0) as i64
}

/// The plain-words sentence for a machine code: an OAuth `error` from the provider's redirect
/// (RFC 6749 §4.1.2.1) or the backend's `error` (`shared::codes`). `None` for a code this table
/// does not know, so the caller can fall back on the backend's own sentence.
pub fn failure_text(t: &Texts, code: &str) -> Option<&'static str> {
    use shared::codes;
    Some(match code {
        "access_denied" => t.err_access_denied,
        codes::INVALID_STATE => t.err_state,
        codes::STATE_EXPIRED => t.err_state_expired,
        codes::PROVIDER_ERROR | "server_error" | "temporarily_unavailable" => t.err_provider,
        "invalid_request"
        | "unauthorized_client"
        | "unsupported_response_type"
        | "invalid_scope"
        | "invalid_client" => t.err_provider_refused,
        "login_required"
        | "consent_required"
        | "interaction_required"
        | "account_selection_required" => t.err_interaction,
        codes::ISSUER_MISMATCH => t.err_issuer,
        codes::BAD_REQUEST => t.err_incomplete,
        codes::RATE_LIMITED => t.err_rate_limited,
        crate::api::NETWORK_ERROR => t.err_network,
        codes::UNKNOWN_PROVIDER => t.err_unknown_provider,
        codes::STORE_UNAVAILABLE => t.err_store,
        codes::INTERNAL => t.err_server,
        codes::CSRF | codes::FORBIDDEN_ORIGIN => t.err_blocked,
        codes::SESSION_EXPIRED | codes::NOT_LOGGED_IN => t.err_session_expired,
        code if code.starts_with("http_5") => t.err_server,
        _ => return None,
    })
}

/// The current language, shared through the context by [`App`](crate::App).
#[derive(Clone, Copy)]
pub struct I18n(RwSignal<Lang>);

const STORAGE_KEY: &str = "portero.lang";

impl I18n {
    /// The remembered choice, else the browser's language, else English.
    pub fn detect() -> I18n {
        let window = web_sys::window();
        let stored = window
            .as_ref()
            .and_then(|w| w.local_storage().ok().flatten())
            .and_then(|storage| storage.get_item(STORAGE_KEY).ok().flatten());
        let browser = window.as_ref().and_then(|w| w.navigator().language());
        let lang = stored
            .or(browser)
            .and_then(|tag| Lang::from_tag(&tag))
            .unwrap_or(Lang::En);
        set_document_lang(lang);
        I18n(RwSignal::new(lang))
    }

    /// The current language (reactive).
    pub fn lang(self) -> Lang {
        self.0.get()
    }

    /// The current texts (reactive: read them inside a closure in the view).
    pub fn t(self) -> &'static Texts {
        self.lang().texts()
    }

    /// Switches, remembers the choice and updates `<html lang>` for screen readers.
    pub fn set(self, lang: Lang) {
        self.0.set(lang);
        set_document_lang(lang);
        if let Some(storage) = web_sys::window().and_then(|w| w.local_storage().ok().flatten()) {
            let _ = storage.set_item(STORAGE_KEY, lang.tag());
        }
    }
}

fn set_document_lang(lang: Lang) {
    if let Some(html) = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.document_element())
    {
        let _ = html.set_attribute("lang", lang.tag());
    }
}

/// The language of the page being rendered.
pub fn use_i18n() -> I18n {
    expect_context::<I18n>()
}

/// One text in the current language, for a view: `{tr(|t| t.log_out)}`. It follows the
/// language switch. Every call returns the same closure type, so the renderer is compiled once
/// for all texts instead of once per text (which cost tens of KB of WebAssembly).
pub fn tr(
    key: fn(&Texts) -> &'static str,
) -> impl Fn() -> &'static str + Copy + Send + Sync + 'static {
    let i18n = use_i18n();
    move || key(i18n.t())
}

#[cfg(test)]
mod tests {
    use super::{en::EN, *};

    #[cfg(target_arch = "wasm32")]
    wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

    fn placeholders(text: &str) -> Vec<&str> {
        let mut found: Vec<&str> = text
            .match_indices('{')
            .filter_map(|(start, _)| {
                let end = text[start..].find('}')?;
                Some(&text[start..start + end + 1])
            })
            .collect();
        found.sort_unstable();
        found
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn every_key_has_a_text_in_every_language() {
        let english = Lang::En.texts().entries();
        for lang in Lang::ALL {
            let entries = lang.texts().entries();
            assert_eq!(entries.len(), english.len(), "{lang:?}");
            for ((key, text), (en_key, en_text)) in entries.iter().zip(&english) {
                assert_eq!(key, en_key);
                assert!(!text.trim().is_empty(), "{lang:?}: `{key}` is empty");
                assert_eq!(
                    placeholders(text),
                    placeholders(en_text),
                    "{lang:?}: `{key}` must use the same placeholders as English"
                );
            }
        }
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn spanish_is_a_translation_not_a_copy() {
        let same: Vec<_> = Lang::Es
            .texts()
            .entries()
            .into_iter()
            .zip(Lang::En.texts().entries())
            .filter(|((_, es), (_, en))| es == en)
            .map(|((key, _), _)| key)
            .collect();
        // Words spelled alike in both languages.
        assert!(
            same.iter().all(|key| ["campus", "cursus"].contains(key)),
            "untranslated: {same:?}"
        );
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn fill_puts_the_value_in_the_first_placeholder() {
        assert_eq!(
            fill("Log in with {provider}", "GitHub"),
            "Log in with GitHub"
        );
        assert_eq!(fill("Avatar of {name}", "Ada"), "Avatar of Ada");
        let once = fill(EN.browser_on_os, "Firefox");
        assert_eq!(once, "Firefox on {os}");
        assert_eq!(fill(&once, "Linux"), "Firefox on Linux");
        assert_eq!(fill("No placeholder", "x"), "No placeholder");
        assert_eq!(fill("Unclosed {brace", "x"), "Unclosed {brace");
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn the_browser_language_picks_the_table() {
        assert_eq!(Lang::from_tag("es-AR"), Some(Lang::Es));
        assert_eq!(Lang::from_tag("ES"), Some(Lang::Es));
        assert_eq!(Lang::from_tag("en-GB"), Some(Lang::En));
        assert_eq!(Lang::from_tag("fr-FR"), None);
        assert_eq!(Lang::from_tag(""), None);
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn every_code_the_issue_names_has_a_sentence() {
        for lang in Lang::ALL {
            let t = lang.texts();
            for code in [
                "access_denied",
                "state_expired",
                "invalid_state",
                "provider_error",
                "rate_limited",
                "network_error",
                "session_expired",
                "http_502",
            ] {
                assert!(failure_text(t, code).is_some(), "{lang:?}: {code}");
            }
            assert_eq!(failure_text(t, "no_such_code"), None);
        }
    }
}
