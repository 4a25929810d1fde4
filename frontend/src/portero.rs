//! Who is signed in: the answer of `GET /api/me`, asked once at the root and shared with every
//! component below through Leptos's context.

use leptos::{prelude::*, task::spawn_local};
use shared::{MeResponse, User};

use crate::{
    api::{self, ApiFailure},
    i18n::I18n,
};

/// What the last answer of `GET /api/me` says.
#[derive(Clone, PartialEq)]
pub(crate) enum Session {
    /// No answer yet.
    Loading,
    /// A person is signed in, until `expires_at`.
    In(MeResponse),
    /// Nobody is (401).
    Out,
    /// The server could not be asked, or did not answer as it should.
    Failed(ApiFailure),
}

/// Who is signed in, for any component below [`provide_portero`]: a `Copy` handle on the
/// answer of `GET /api/me`. Get it with [`use_portero`].
#[derive(Clone, Copy)]
pub struct Portero {
    answer: RwSignal<Session>,
    /// The answer, changing only when it does: a new answer for the same person leaves the
    /// pages that show them as they are.
    session: Memo<Session>,
}

impl Portero {
    /// The signed-in person (reactive): `None` while the first answer is on its way, when
    /// nobody is signed in, and when the server could not be asked.
    pub fn user(&self) -> Option<User> {
        self.session.with(|session| match session {
            Session::In(me) => Some(me.user.clone()),
            _ => None,
        })
    }

    /// `true` until the first answer of `GET /api/me` (reactive): show a placeholder rather
    /// than the login buttons meanwhile.
    pub fn loading(&self) -> bool {
        self.session.with(|session| *session == Session::Loading)
    }

    /// Asks `GET /api/me` again (after your app logged in or out by other means, say); the
    /// current answer stays until the new one arrives.
    pub fn refetch(&self) {
        spawn_local(self.reload());
    }

    /// The last answer (reactive).
    pub(crate) fn session(&self) -> Session {
        self.session.get()
    }

    /// The last answer, read once (for a page that shows it as it was when it opened).
    pub(crate) fn session_untracked(&self) -> Session {
        self.session.get_untracked()
    }

    /// Asks again when there is an answer already: for a page that shows who is signed in,
    /// visited again (the first answer is on its way otherwise).
    #[cfg_attr(not(feature = "spa"), allow(dead_code))]
    pub(crate) fn revalidate(&self) {
        if self
            .answer
            .with_untracked(|answer| *answer != Session::Loading)
        {
            self.refetch();
        }
    }

    /// Asks again and waits for the answer: what a page that needs it shows next.
    pub(crate) async fn reload(self) {
        let session = match api::get("/api/me").await {
            Ok(me) => Session::In(me),
            Err(failure) if failure.is_unauthorized() => Session::Out,
            Err(failure) => Session::Failed(failure),
        };
        self.answer.set(session);
    }
}

/// Starts Portero in your app: asks `GET /api/me` once and shares the answer (see
/// [`use_portero`]) with every component below. Call it once, at the root of your app, before
/// any other Portero component.
///
/// The components speak the document's language (`<html lang="es">` gives Spanish texts), else
/// the browser's; English and Spanish are known.
pub fn provide_portero() {
    provide_context(I18n::detect());
    let answer = RwSignal::new(Session::Loading);
    let portero = Portero {
        answer,
        session: Memo::new(move |_| answer.get()),
    };
    portero.refetch();
    provide_context(portero);
}

/// The handle on who is signed in, anywhere below [`provide_portero`].
///
/// # Panics
///
/// When [`provide_portero`] was not called above this component: a mistake in the app's code,
/// said in the panic message.
pub fn use_portero() -> Portero {
    expect(use_context::<Portero>())
}

/// The context `provide_portero` sets, or a panic that says what to do.
pub(crate) fn expect<T>(context: Option<T>) -> T {
    match context {
        Some(context) => context,
        None => panic!("call portero_leptos::provide_portero() at the root of the app first"),
    }
}
