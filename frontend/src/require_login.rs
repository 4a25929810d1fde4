//! Pages only a signed-in person may see, and, with a policy, only the people it admits with a
//! login as recent as it wants.

use leptos::{prelude::*, task::spawn_local};
use leptos_router::{hooks::use_navigate, NavigateOptions};

use crate::{
    api::{self, ApiFailure},
    portero::{use_portero, Portero, Session},
    step_up::{current_page, reauthenticate_as, wanted_max_age},
    views::{error_notice, session_failed, Retry, Skeleton},
};

/// Shows its children to a signed-in person only. A visitor without a session goes to `/`,
/// with `?return_to=` this page, so that the [`LoginButtons`] there bring them back after the
/// login.
///
/// With `policy`, the children show only once Portero's `GET /api/auth?policy=NAME` admits the
/// person: someone the policy refuses sees why (403 `access_denied`), and a login older than
/// the policy's `max_age_secs` (401 `reauthentication_required`) logs in again at the same
/// provider, asking for that `max_age`, and comes back to this page.
///
/// While an answer is on its way, a placeholder stands in; when the server cannot be reached, a
/// notice says so with a "Retry" button. Place it inside a `leptos_router` `<Router>`.
///
/// ```ignore
/// <Route path=path!("/games") view=|| view! { <RequireLogin><Games /></RequireLogin> } />
/// <Route path=path!("/admin") view=|| view! { <RequireLogin policy="admins"><Admin /></RequireLogin> } />
/// ```
///
/// [`LoginButtons`]: crate::LoginButtons
#[component]
pub fn RequireLogin(
    children: ChildrenFn,
    /// A `[policies.NAME]` of Portero's configuration the person must pass.
    #[prop(optional, into)]
    policy: Option<String>,
) -> impl IntoView {
    let portero = use_portero();
    let navigate = use_navigate();
    Effect::new(move |_| {
        if portero.session() == Session::Out {
            navigate(
                &login_path(),
                NavigateOptions {
                    replace: true,
                    ..Default::default()
                },
            );
        }
    });
    let verdict = Verdict::new(policy);
    move || match portero.session() {
        Session::In(_) => match verdict.get() {
            Gate::Open => children().into_any(),
            Gate::Refused(failure) => {
                let retry = Retry("retry", Box::new(move || verdict.ask()));
                error_notice("policy-refused", None, failure, None, Some(retry)).into_any()
            }
            Gate::Asking => loading().into_any(),
        },
        Session::Failed(failure) => session_failed(portero, failure),
        // A visitor without a session is on the way to the start page: progress, not an error.
        Session::Loading | Session::Out => loading().into_any(),
    }
}

fn loading() -> impl IntoView {
    view! {
        <section class="card">
            <Skeleton id="loading" lines=4 avatar=true />
        </section>
    }
}

/// Whether the children may show.
#[derive(Clone)]
enum Gate {
    /// The policy is being asked, or a new login is starting.
    Asking,
    Open,
    /// Refused (403), or the policy could not be asked: shown with the failure.
    Refused(ApiFailure),
}

/// The policy's answer for this page, asked once the person is signed in (and asked again
/// when it changes).
#[derive(Clone, Copy)]
struct Verdict {
    gate: RwSignal<Gate>,
    policy: StoredValue<Option<String>>,
    portero: Portero,
}

impl Verdict {
    fn new(policy: Option<String>) -> Verdict {
        let portero = use_portero();
        let open = policy.is_none();
        let verdict = Verdict {
            gate: RwSignal::new(if open { Gate::Open } else { Gate::Asking }),
            policy: StoredValue::new(policy),
            portero,
        };
        if !open {
            Effect::new(move |_| {
                if let Session::In(_) = portero.session() {
                    verdict.ask();
                }
            });
        }
        verdict
    }

    fn get(self) -> Gate {
        self.gate.get()
    }

    /// `GET /api/auth?policy=…`, with `x-csrf: 1` as every call of the app.
    fn ask(self) {
        let (Some(policy), Session::In(me)) =
            (self.policy.get_value(), self.portero.session_untracked())
        else {
            return;
        };
        self.gate.set(Gate::Asking);
        spawn_local(async move {
            let path = format!(
                "/api/auth?policy={}",
                String::from(js_sys::encode_uri_component(&policy))
            );
            let gate = match api::get::<()>(&path).await {
                Ok(()) => Gate::Open,
                Err(failure) => match wanted_max_age(&failure) {
                    // The browser leaves for the provider; back here after the new login.
                    Some(max_age) => {
                        Gate::Refused(reauthenticate_as(&me, max_age, current_page()).await)
                    }
                    None => Gate::Refused(failure),
                },
            };
            self.gate.set(gate);
        });
    }
}

/// `/?return_to=` the page in the address bar, with its query, percent-encoded.
fn login_path() -> String {
    format!(
        "/?return_to={}",
        String::from(js_sys::encode_uri_component(&current_page()))
    )
}
