//! The API's JSON bodies to and from the `shared` types, through the browser's own `JSON.parse`
//! and `JSON.stringify` instead of serde_json: serde's generated visitors and serde_json's
//! parser and error messages cost ~35 KB of WebAssembly, the code below a few.
//!
//! Each body is read as serde would read the `shared` type: a missing required field or a
//! value of the wrong type refuses the whole body; an `Option` field may be missing or `null`;
//! unknown fields are skipped. `tests/json.rs` checks every type both ways against serde_json,
//! so the `shared` crate stays the single definition of the bodies.

use std::collections::BTreeMap;

use js_sys::{Array, Object, Reflect, JSON};
use shared::{
    ApiError, AppSees, LoginRequest, LoginResponse, LogoutRequest, LogoutResponse, MeResponse,
    ProfileDetails, ProviderInfo, ProviderKind, SessionInfo, SessionRequest, SessionResponse, User,
};
use wasm_bindgen::{JsCast, JsValue};

/// A response body the SPA reads.
pub trait Decode: Sized {
    fn decode(value: &JsValue) -> Option<Self>;
}

/// A request body the SPA sends.
pub trait Encode {
    fn encode(&self) -> JsValue;
}

/// Parses `text` as JSON into `T`; `None` when it is not JSON or not a `T`.
pub fn from_str<T: Decode>(text: &str) -> Option<T> {
    T::decode(&JSON::parse(text).ok()?)
}

/// The JSON text of a request body.
pub fn to_string(body: &(impl Encode + ?Sized)) -> Option<String> {
    JSON::stringify(&body.encode()).ok()?.as_string()
}

/// A JSON object's fields, read by name.
struct Fields(JsValue);

impl Fields {
    fn of(value: &JsValue) -> Option<Fields> {
        // Arrays are objects to JavaScript, never to serde.
        (value.is_object() && !Array::is_array(value)).then(|| Fields(value.clone()))
    }

    fn get(&self, key: &str) -> JsValue {
        Reflect::get(&self.0, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
    }

    /// A required field.
    fn req<T: Decode>(&self, key: &str) -> Option<T> {
        T::decode(&self.get(key))
    }

    /// An `Option` field: `Some(None)` when missing or `null`, `None` when of the wrong type.
    fn opt<T: Decode>(&self, key: &str) -> Option<Option<T>> {
        let value = self.get(key);
        if value.is_null() || value.is_undefined() {
            Some(None)
        } else {
            T::decode(&value).map(Some)
        }
    }
}

impl Decode for String {
    fn decode(value: &JsValue) -> Option<Self> {
        value.as_string()
    }
}

impl Decode for bool {
    fn decode(value: &JsValue) -> Option<Self> {
        value.as_bool()
    }
}

impl Decode for f64 {
    fn decode(value: &JsValue) -> Option<Self> {
        value.as_f64()
    }
}

/// Integers as serde reads them: a JSON number without a fraction, in range.
impl Decode for i64 {
    fn decode(value: &JsValue) -> Option<Self> {
        let number = value.as_f64()?;
        (number.fract() == 0.0 && number.abs() <= 9_007_199_254_740_992.0).then_some(number as i64)
    }
}

impl Decode for u64 {
    fn decode(value: &JsValue) -> Option<Self> {
        u64::try_from(i64::decode(value)?).ok()
    }
}

impl<T: Decode> Decode for Vec<T> {
    fn decode(value: &JsValue) -> Option<Self> {
        let array = value.dyn_ref::<Array>()?;
        array.iter().map(|item| T::decode(&item)).collect()
    }
}

impl Decode for BTreeMap<String, String> {
    fn decode(value: &JsValue) -> Option<Self> {
        let fields = Fields::of(value)?;
        // One insert at a time: collecting into a BTreeMap sorts a Vec first, with the
        // standard library's stable sort (~3 KB of WebAssembly).
        let mut map = BTreeMap::new();
        for key in Object::keys(fields.0.unchecked_ref::<Object>()).iter() {
            let key = key.as_string()?;
            let value = fields.req(&key)?;
            map.insert(key, value);
        }
        Some(map)
    }
}

impl Decode for ProviderKind {
    fn decode(value: &JsValue) -> Option<Self> {
        Some(match value.as_string()?.as_str() {
            "github" => ProviderKind::Github,
            "intra42" => ProviderKind::Intra42,
            "google" => ProviderKind::Google,
            "gitlab" => ProviderKind::Gitlab,
            "oidc" => ProviderKind::Oidc,
            "oauth2" => ProviderKind::Oauth2,
            _ => return None,
        })
    }
}

impl Decode for ProviderInfo {
    fn decode(value: &JsValue) -> Option<Self> {
        let f = Fields::of(value)?;
        Some(ProviderInfo {
            id: f.req("id")?,
            name: f.req("name")?,
            kind: f.req("kind")?,
        })
    }
}

impl Decode for LoginResponse {
    fn decode(value: &JsValue) -> Option<Self> {
        let f = Fields::of(value)?;
        Some(LoginResponse {
            authorize_endpoint: f.req("authorize_endpoint")?,
            params: f.req("params")?,
        })
    }
}

impl Decode for User {
    fn decode(value: &JsValue) -> Option<Self> {
        let f = Fields::of(value)?;
        Some(User {
            provider: f.req("provider")?,
            subject: f.req("subject")?,
            login: f.opt("login")?,
            name: f.opt("name")?,
            email: f.opt("email")?,
            avatar_url: f.opt("avatar_url")?,
        })
    }
}

impl Decode for SessionResponse {
    fn decode(value: &JsValue) -> Option<Self> {
        let f = Fields::of(value)?;
        Some(SessionResponse {
            user: f.req("user")?,
            return_to: f.req("return_to")?,
        })
    }
}

impl Decode for MeResponse {
    fn decode(value: &JsValue) -> Option<Self> {
        let f = Fields::of(value)?;
        Some(MeResponse {
            user: f.req("user")?,
            expires_at: f.req("expires_at")?,
        })
    }
}

impl Decode for ProfileDetails {
    fn decode(value: &JsValue) -> Option<Self> {
        let f = Fields::of(value)?;
        Some(ProfileDetails {
            profile_url: f.opt("profile_url")?,
            campus: f.opt("campus")?,
            cursus: f.opt("cursus")?,
            level: f.opt("level")?,
            public_repos: f.opt("public_repos")?,
            followers: f.opt("followers")?,
        })
    }
}

impl Decode for crate::api::Profile {
    fn decode(value: &JsValue) -> Option<Self> {
        let f = Fields::of(value)?;
        Some(crate::api::Profile {
            user: f.req("user")?,
            details: f.req("details")?,
        })
    }
}

impl Decode for LogoutResponse {
    fn decode(value: &JsValue) -> Option<Self> {
        let f = Fields::of(value)?;
        Some(LogoutResponse {
            end_session_url: f.opt("end_session_url")?,
        })
    }
}

impl Decode for SessionInfo {
    fn decode(value: &JsValue) -> Option<Self> {
        let f = Fields::of(value)?;
        Some(SessionInfo {
            id: f.req("id")?,
            provider: f.req("provider")?,
            created_at: f.req("created_at")?,
            last_seen_at: f.req("last_seen_at")?,
            user_agent: f.opt("user_agent")?,
            current: f.req("current")?,
        })
    }
}

impl Decode for AppSees {
    fn decode(value: &JsValue) -> Option<Self> {
        let f = Fields::of(value)?;
        Some(AppSees {
            app: f.req("app")?,
            verified: f.req("verified")?,
            subject: f.req("subject")?,
            login: f.opt("login")?,
            email: f.opt("email")?,
            name: f.opt("name")?,
        })
    }
}

impl Decode for ApiError {
    fn decode(value: &JsValue) -> Option<Self> {
        let f = Fields::of(value)?;
        Some(ApiError {
            error: f.req("error")?,
            message: f.req("message")?,
        })
    }
}

/// A JSON object under construction; fields `serde` would skip are left out the same way.
struct Body(Object);

impl Body {
    fn new() -> Body {
        Body(Object::new())
    }

    fn set(self, key: &str, value: impl Into<JsValue>) -> Body {
        let _ = Reflect::set(&self.0, &JsValue::from_str(key), &value.into());
        self
    }

    fn set_some(self, key: &str, value: Option<&String>) -> Body {
        match value {
            Some(value) => self.set(key, value.as_str()),
            None => self,
        }
    }
}

impl Encode for LoginRequest {
    fn encode(&self) -> JsValue {
        let body = Body::new().set_some("return_to", self.return_to.as_ref());
        // `skip_serializing_if = "std::ops::Not::not"`.
        let body = match self.another_account {
            true => body.set("another_account", true),
            false => body,
        }
        .set_some("prompt", self.prompt.as_ref())
        .set_some("login_hint", self.login_hint.as_ref());
        // A JSON number, as serde writes a u64 (the values allowed fit an f64 exactly).
        match self.max_age {
            Some(age) => body.set("max_age", age as f64),
            None => body,
        }
        .0
        .into()
    }
}

impl Encode for SessionRequest {
    fn encode(&self) -> JsValue {
        Body::new()
            .set("provider", self.provider.as_str())
            .set("code", self.code.as_str())
            .set("state", self.state.as_str())
            .set_some("iss", self.iss.as_ref())
            .0
            .into()
    }
}

impl Encode for LogoutRequest {
    fn encode(&self) -> JsValue {
        Body::new().set("everywhere", self.everywhere).0.into()
    }
}
