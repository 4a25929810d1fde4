//! The texts of Portero's own pages, in English (`en.rs`) and Spanish (`es.rs`), beside the
//! components' texts (`crate::i18n`), in the same language.

use crate::i18n::{texts, use_i18n, Lang};

mod en;
mod es;

texts! {
    /// One language's texts of Portero's own pages. A `{placeholder}` (`{name}`, `{time}` …)
    /// is filled in by `crate::i18n::fill`.
    SpaTexts {
        /// The `aria-label` of the language switch.
        language,
        log_in_title,
        log_in_intro,
        signed_in_as,
        your_profile,
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
        sessions_failed,
        end_session_failed,
        not_found_title,
        not_found_text,
    }
}

/// The table of `lang`.
pub(crate) fn texts(lang: Lang) -> &'static SpaTexts {
    match lang {
        Lang::En => &en::EN,
        Lang::Es => &es::ES,
    }
}

/// One text of Portero's pages in the current language, for a view: `{text(|t| t.campus)}`.
/// Like `crate::i18n::tr`, one closure type for every text.
pub(crate) fn text(
    key: fn(&SpaTexts) -> &'static str,
) -> impl Fn() -> &'static str + Copy + Send + Sync + 'static {
    let i18n = use_i18n();
    move || key(texts(i18n.lang()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::i18n::check_tables;

    wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

    #[wasm_bindgen_test::wasm_bindgen_test]
    fn every_key_has_a_text_in_every_language() {
        check_tables(texts, SpaTexts::entries);
    }

    #[wasm_bindgen_test::wasm_bindgen_test]
    fn spanish_is_a_translation_not_a_copy() {
        let same: Vec<_> = texts(Lang::Es)
            .entries()
            .into_iter()
            .zip(texts(Lang::En).entries())
            .filter(|((_, es), (_, en))| es == en)
            .map(|((key, _), _)| key)
            .collect();
        // Words spelled alike in both languages.
        assert!(
            same.iter().all(|key| ["campus", "cursus"].contains(key)),
            "untranslated: {same:?}"
        );
    }
}
