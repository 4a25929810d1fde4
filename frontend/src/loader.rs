//! The answer of an API call as a page shows it: `None` while it loads — again after
//! [`Loaded::reload`], so a "Retry" button shows the skeleton instead of the old error;
//! [`Loaded::refresh`] keeps the old answer on screen until the new one is there.

use std::future::Future;

use leptos::{prelude::*, task::spawn_local};

use crate::api::ApiFailure;

pub struct Loaded<T: Send + Sync + 'static> {
    state: RwSignal<Option<Result<T, ApiFailure>>>,
    /// Calls again; `true` clears the answer first.
    run: StoredValue<Box<dyn Fn(bool)>, LocalStorage>,
}

impl<T: Send + Sync + 'static> Clone for Loaded<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T: Send + Sync + 'static> Copy for Loaded<T> {}

impl<T: Clone + Send + Sync + 'static> Loaded<T> {
    /// Starts the first call at once.
    pub fn new<F, Fut>(fetch: F) -> Self
    where
        F: Fn() -> Fut + 'static,
        Fut: Future<Output = Result<T, ApiFailure>> + 'static,
    {
        let state = RwSignal::new(None);
        let run = move |clear: bool| {
            if clear {
                state.set(None);
            }
            let answer = fetch();
            // When the page has gone meanwhile, the signal is disposed and `set` does nothing.
            spawn_local(async move { state.set(Some(answer.await)) });
        };
        run(true);
        Loaded {
            state,
            run: StoredValue::new_local(Box::new(run)),
        }
    }

    /// The answer, or `None` while it loads (reactive).
    pub fn get(&self) -> Option<Result<T, ApiFailure>> {
        self.state.get()
    }

    /// Calls again, showing the skeleton meanwhile.
    pub fn reload(&self) {
        self.run.with_value(|run| run(true));
    }

    /// Calls again, keeping the current answer until the new one arrives.
    pub fn refresh(&self) {
        self.run.with_value(|run| run(false));
    }
}
