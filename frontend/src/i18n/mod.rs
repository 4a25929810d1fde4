//! Every text the components show, in English (`en.rs`) and Spanish (`es.rs`): one table per
//! language, nothing written inline in the views.
//!
//! A table is a [`Texts`] value, so a key missing from one language is a compile error; the
//! tests below also check that both tables fill every key and agree on the `{placeholders}`.
//! The language is the document's (`<html lang>`), else the browser's, else English: an app
//! written in Spanish gets Spanish buttons, whatever the browser says.

use leptos::prelude::*;

mod en;
mod es;

/// Declares a table of texts: a struct with one `&'static str` field per key.
macro_rules! texts {
    ($(#[$outer:meta])* $table:ident { $($(#[$doc:meta])* $key:ident),* $(,)? }) => {
        $(#[$outer])*
        pub(crate) struct $table {
            $($(#[$doc])* pub $key: &'static str,)*
        }

        #[cfg(test)]
        impl $table {
            /// Every key with its text, in declaration order.
            pub fn entries(&self) -> Vec<(&'static str, &'static str)> {
                vec![$((stringify!($key), self.$key)),*]
            }
        }
    };
}
#[cfg_attr(not(feature = "spa"), allow(unused_imports))]
pub(crate) use texts;

texts! {
    /// One language's texts. A `{placeholder}` (`{provider}`, `{name}` …) is filled in by
    /// [`fill`].
    Texts {
        loading,
        retry,
        try_again,
        back_home,
        /// A provider button: `{provider}` is its name.
        log_in_with,
        no_providers,
        log_out,
        log_out_everywhere,
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
        /// 403 `another_person`: a step-up login came back as someone else.
        err_another_person,
        /// 401 `reauthentication_required`: a policy wants a more recent login.
        err_reauthenticate,
        err_unknown,
        /// Stands in for `{provider}` when the name is unknown.
        the_provider,
        /// The callback page when the backend's access rules refuse the person (403
        /// `access_denied`).
        denied_title,
        denied_lead,
        try_another_account,
    }
}

/// The languages the components speak.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Lang {
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

    /// The document's language (`<html lang>`), else the browser's, else English.
    fn of_page() -> Lang {
        let window = web_sys::window();
        let document = window
            .as_ref()
            .and_then(|w| w.document())
            .and_then(|d| d.document_element())
            .and_then(|html| html.get_attribute("lang"));
        let browser = window.as_ref().and_then(|w| w.navigator().language());
        [document, browser]
            .into_iter()
            .flatten()
            .find_map(|tag| Lang::from_tag(&tag))
            .unwrap_or(Lang::En)
    }
}

/// Puts `value` in the text's first placeholder (`{provider}`, `{name}`, `{time}` …); a text
/// with two (`{browser} on {os}`) is filled twice.
pub(crate) fn fill(text: &str, value: &str) -> String {
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

/// The plain-words sentence for a machine code: an OAuth `error` from the provider's redirect
/// (RFC 6749 §4.1.2.1) or the backend's `error` (`shared::codes`). `None` for a code this table
/// does not know, so the caller can fall back on the server's own sentence.
pub(crate) fn failure_text(t: &Texts, code: &str) -> Option<&'static str> {
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
        codes::ANOTHER_PERSON => t.err_another_person,
        codes::REAUTHENTICATION_REQUIRED => t.err_reauthenticate,
        code if code.starts_with("http_5") => t.err_server,
        _ => return None,
    })
}

/// The current language, shared through the context by `provide_portero`.
#[derive(Clone, Copy)]
pub(crate) struct I18n(RwSignal<Lang>);

impl I18n {
    pub fn detect() -> I18n {
        I18n(RwSignal::new(Lang::of_page()))
    }

    /// The current language (reactive).
    pub fn lang(self) -> Lang {
        self.0.get()
    }

    /// The current texts (reactive: read them inside a closure in the view).
    pub fn t(self) -> &'static Texts {
        self.lang().texts()
    }

    /// Switches every component to `lang`, and `<html lang>` with them for screen readers.
    #[cfg_attr(not(feature = "spa"), allow(dead_code))]
    pub fn set(self, lang: Lang) {
        self.0.set(lang);
        if let Some(html) = web_sys::window()
            .and_then(|w| w.document())
            .and_then(|d| d.document_element())
        {
            let _ = html.set_attribute("lang", lang.tag());
        }
    }
}

/// The language of the page being rendered.
pub(crate) fn use_i18n() -> I18n {
    crate::portero::expect(use_context::<I18n>())
}

/// One text in the current language, for a view: `{tr(|t| t.log_out)}`. It follows the
/// language. Every call returns the same closure type, so the renderer is compiled once for all
/// texts instead of once per text (which cost tens of KB of WebAssembly).
pub(crate) fn tr(
    key: fn(&Texts) -> &'static str,
) -> impl Fn() -> &'static str + Copy + Send + Sync + 'static {
    let i18n = use_i18n();
    move || key(i18n.t())
}

/// Checks of one table's languages: every key filled, the same placeholders as English.
#[cfg(test)]
pub(crate) fn check_tables<T>(
    table: fn(Lang) -> &'static T,
    entries: fn(&T) -> Vec<(&'static str, &'static str)>,
) {
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
    let english = entries(table(Lang::En));
    for lang in Lang::ALL {
        let these = entries(table(lang));
        assert_eq!(these.len(), english.len(), "{lang:?}");
        for ((key, text), (en_key, en_text)) in these.iter().zip(&english) {
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

#[cfg(test)]
mod tests {
    use super::*;

    wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

    #[wasm_bindgen_test::wasm_bindgen_test]
    fn every_key_has_a_text_in_every_language() {
        check_tables(Lang::texts, Texts::entries);
    }

    #[wasm_bindgen_test::wasm_bindgen_test]
    fn spanish_is_a_translation_not_a_copy() {
        let same: Vec<_> = Lang::Es
            .texts()
            .entries()
            .into_iter()
            .zip(Lang::En.texts().entries())
            .filter(|((_, es), (_, en))| es == en)
            .map(|((key, _), _)| key)
            .collect();
        assert!(same.is_empty(), "untranslated: {same:?}");
    }

    #[wasm_bindgen_test::wasm_bindgen_test]
    fn fill_puts_the_value_in_the_first_placeholder() {
        assert_eq!(
            fill("Log in with {provider}", "GitHub"),
            "Log in with GitHub"
        );
        assert_eq!(fill("Avatar of {name}", "Ada"), "Avatar of Ada");
        let once = fill("{browser} on {os}", "Firefox");
        assert_eq!(once, "Firefox on {os}");
        assert_eq!(fill(&once, "Linux"), "Firefox on Linux");
        assert_eq!(fill("No placeholder", "x"), "No placeholder");
        assert_eq!(fill("Unclosed {brace", "x"), "Unclosed {brace");
    }

    #[wasm_bindgen_test::wasm_bindgen_test]
    fn the_page_or_browser_language_picks_the_table() {
        assert_eq!(Lang::from_tag("es-AR"), Some(Lang::Es));
        assert_eq!(Lang::from_tag("ES"), Some(Lang::Es));
        assert_eq!(Lang::from_tag("en-GB"), Some(Lang::En));
        assert_eq!(Lang::from_tag("fr-FR"), None);
        assert_eq!(Lang::from_tag(""), None);
    }

    #[wasm_bindgen_test::wasm_bindgen_test]
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
