//! The google_login example's app: a page with a "Sign in with Google" button, the redirect
//! flow (state, nonce, PKCE) through [`Provider::authorize`] and [`PendingSignIn::exchange`],
//! first sign-ins creating users, and this app's own token for an `#[authed]` route.
//!
//! The pending sign-in is kept on the server, found by a random `state` that an HttpOnly
//! cookie binds to the browser that started it (`__Host-` over HTTPS); it is single-use and
//! expires after ten minutes. Tests include this file (`tests/google_login.rs`).

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use axum::Json;
use axum::extract::{FromRef, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use jwt_router::{
    AuthError, Entity, GuardedRouter, JwtRoutes, PendingSignIn, Provider, SignedIn, StoreError,
    Tokens, authed, ignored, public,
};
use serde::Serialize;

/// How long a sign-in may stay at the provider.
const PENDING_FOR: Duration = Duration::from_secs(600);
/// At most this many sign-ins in progress: beyond, `/login` answers 503 rather than letting
/// anyone grow the server's memory by following the button in a loop.
const MAX_PENDING: usize = 10_000;

/// Users by id, each with a unique (lowercased) email.
#[derive(Clone, Default)]
pub struct Users(Arc<Mutex<Vec<String>>>);

/// A user, as the `#[authed]` route receives it.
#[derive(Debug, Clone, Serialize)]
pub struct User {
    id: usize,
    email: String,
}

impl Entity for User {
    const TABLE_NAME: &'static str = "users";
    type Id = usize;
    type Store = Users;

    fn id(&self) -> usize {
        self.id
    }

    async fn load(users: &Users, id: &usize) -> Result<Option<Self>, StoreError> {
        let rows = users.0.lock().unwrap_or_else(PoisonError::into_inner);
        Ok(rows.get(*id).map(|email| User {
            id: *id,
            email: email.clone(),
        }))
    }

    async fn load_by_claim(
        users: &Users,
        claim: &str,
        value: &str,
    ) -> Result<Option<Self>, StoreError> {
        let rows = users.0.lock().unwrap_or_else(PoisonError::into_inner);
        Ok(rows
            .iter()
            .position(|email| claim == "email" && email.eq_ignore_ascii_case(value))
            .map(|id| User {
                id,
                email: rows[id].clone(),
            }))
    }
}

impl Users {
    /// The user with `email`, created if new (one user per email, whatever its case).
    fn find_or_insert(&self, email: &str) -> User {
        let email = email.to_lowercase();
        let mut rows = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let id = match rows.iter().position(|known| *known == email) {
            Some(id) => id,
            None => {
                rows.push(email.clone());
                rows.len() - 1
            }
        };
        User { id, email }
    }
}

/// Sign-ins sent to the provider and not back yet, by `state`.
#[derive(Clone, Default)]
struct Pending(Arc<Mutex<HashMap<String, (PendingSignIn, Instant)>>>);

impl Pending {
    fn insert(&self, pending: PendingSignIn) -> Result<(), Page> {
        let mut all = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        all.retain(|_, (_, since)| since.elapsed() < PENDING_FOR);
        if all.len() >= MAX_PENDING {
            return Err(Page::error(
                StatusCode::SERVICE_UNAVAILABLE,
                "Too many sign-ins in progress; try again in a few minutes.",
            ));
        }
        all.insert(pending.state().to_owned(), (pending, Instant::now()));
        Ok(())
    }

    /// The pending sign-in `state` names, removed: a callback is answered once.
    fn take(&self, state: &str) -> Option<PendingSignIn> {
        let mut all = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        all.remove(state)
            .filter(|(_, since)| since.elapsed() < PENDING_FOR)
            .map(|(pending, _)| pending)
    }
}

/// The app's state.
#[derive(Clone)]
pub struct App {
    provider: Provider,
    users: Users,
    pending: Pending,
    /// What the home page says signs users in.
    provider_name: &'static str,
    /// Whether the app is served over HTTPS, so its cookie is `__Host-` and `Secure`.
    https: bool,
}

impl App {
    /// The cookie naming the browser's pending sign-in, and its path and security attributes.
    /// Over HTTPS it is `__Host-signin`: browsers accept a `__Host-` cookie only from this very
    /// origin, over HTTPS, so a sibling subdomain can't plant its own pending sign-in (and so
    /// its account) in this app's browsers. The prefix requires `Secure` and `Path=/`.
    fn cookie(&self) -> (&'static str, &'static str) {
        if self.https {
            ("__Host-signin", "Path=/; Secure")
        } else {
            ("signin", "Path=/callback")
        }
    }

    /// The `Set-Cookie` value that binds the pending sign-in `state` to this browser, or with
    /// `None`, that removes it.
    fn set_cookie(&self, state: Option<&str>) -> String {
        let (name, attributes) = self.cookie();
        let max_age = match state {
            Some(_) => PENDING_FOR.as_secs(),
            None => 0,
        };
        let value = state.unwrap_or_default();
        format!("{name}={value}; {attributes}; HttpOnly; SameSite=Lax; Max-Age={max_age}")
    }
}

impl FromRef<App> for Users {
    fn from_ref(app: &App) -> Users {
        app.users.clone()
    }
}

/// The app around a discovered `provider` (whose redirect URI is this app's `/callback`), and
/// the routes with their guard. `https`: the app is served over HTTPS (see [`App::cookie`]).
pub fn router(
    provider: Provider,
    provider_name: &'static str,
    secret: &[u8],
    https: bool,
) -> Result<GuardedRouter<App>, jwt_router::ConfigError> {
    let jwt = JwtRoutes::<App>::builder()
        .secret(secret)
        .entity::<User>()
        .module(module_path!())
        .build()?;
    Ok(jwt.router(App {
        provider,
        users: Users::default(),
        pending: Pending::default(),
        provider_name,
        https,
    }))
}

/// An HTML answer: a status and a page.
struct Page {
    status: StatusCode,
    body: String,
    set_cookie: Option<String>,
}

impl Page {
    fn new(status: StatusCode, title: &str, content: &str) -> Self {
        let body = format!(
            r#"<!doctype html><html lang="en"><meta charset="utf-8">
<meta name="viewport" content="width=device-width">
<title>{title} · jwt-router</title>
<style>body{{font:16px system-ui,sans-serif;max-width:40rem;margin:3rem auto;padding:0 1rem}}
a.button,button{{display:inline-block;padding:.6rem 1rem;border:1px solid #888;border-radius:.4rem;
background:#fff;color:#222;text-decoration:none;font:inherit;cursor:pointer}}
code,pre{{word-break:break-all;white-space:pre-wrap}}</style>
<h1>{title}</h1>
{content}
</html>"#,
            title = escape(title)
        );
        Self {
            status,
            body,
            set_cookie: None,
        }
    }

    /// A page that explains a failure and offers to start again.
    fn error(status: StatusCode, message: &str) -> Self {
        let content = format!(
            r#"<p>{}</p><p><a class="button" href="/login">Start again</a></p>"#,
            escape(message)
        );
        Self::new(status, "Not signed in", &content)
    }

    /// A refusal of the library's, with its code, e.g. `state_mismatch` or `code_refused`.
    fn refused(error: &AuthError) -> Self {
        Self::error(
            error.status(),
            &format!("Sign-in failed ({}): {error}.", error.code()),
        )
    }
}

impl IntoResponse for Page {
    fn into_response(self) -> Response {
        let mut response = (self.status, Html(self.body)).into_response();
        if let Some(Ok(cookie)) = self.set_cookie.as_deref().map(HeaderValue::from_str) {
            response.headers_mut().insert(header::SET_COOKIE, cookie);
        }
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        response
    }
}

/// Text for HTML, attribute values included.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// The home page; never guarded.
#[ignored(GET, "/")]
async fn home(State(app): State<App>) -> Page {
    let content = format!(
        r#"<p>Signs you in with {} through the OpenID Connect redirect flow (state, nonce and
PKCE), then gives you this app's own token.</p>
<p><a class="button" href="/login">Sign in with Google</a></p>"#,
        escape(app.provider_name)
    );
    Page::new(StatusCode::OK, "jwt-router: sign in with Google", &content)
}

/// First leg: off to the provider, with a fresh `state`, `nonce` and PKCE challenge. The
/// cookie is `SameSite=Lax`, not `Strict`: the provider sends the browser back by a top-level
/// navigation from its own site, which a strict cookie would not come along with.
#[public(GET, "/login")]
async fn login(State(app): State<App>) -> Response {
    let authorization = match app.provider.authorize(None) {
        Ok(authorization) => authorization,
        Err(error) => return Page::refused(&error).into_response(),
    };
    let cookie = app.set_cookie(Some(authorization.pending.state()));
    if let Err(page) = app.pending.insert(authorization.pending) {
        return page.into_response();
    }
    let mut response = StatusCode::FOUND.into_response();
    let headers = response.headers_mut();
    match (
        HeaderValue::from_str(&authorization.url),
        HeaderValue::from_str(&cookie),
    ) {
        (Ok(location), Ok(cookie)) => {
            headers.insert(header::LOCATION, location);
            headers.insert(header::SET_COOKIE, cookie);
            headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            response
        }
        _ => Page::error(
            StatusCode::BAD_GATEWAY,
            "The provider's address is unusable.",
        )
        .into_response(),
    }
}

/// The value of the cookie `name`, if the request carries one.
fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .find_map(|pair| pair.trim().strip_prefix(name)?.strip_prefix('='))
        .filter(|value| !value.is_empty())
}

/// Second leg: the provider sent the browser back with a code, or with an error. The pending
/// sign-in the cookie names is spent whatever happens next.
#[public(GET, "/callback")]
async fn callback(
    State(app): State<App>,
    tokens: Tokens,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Page {
    let mut page = finish(&app, &tokens, &headers, &query).await;
    page.set_cookie = Some(app.set_cookie(None));
    page
}

async fn finish(
    app: &App,
    tokens: &Tokens,
    headers: &HeaderMap,
    query: &HashMap<String, String>,
) -> Page {
    let Some(pending) = cookie(headers, app.cookie().0).and_then(|state| app.pending.take(state))
    else {
        return Page::error(
            StatusCode::BAD_REQUEST,
            "This sign-in was not started in this browser, was already used, or has expired.",
        );
    };
    if let Some(error) = query.get("error") {
        // Believed (and shown) only with this sign-in's state: else it is anyone's link.
        let state = query.get("state").map_or("", String::as_str);
        if let Err(refused) = pending.check_state(state) {
            return Page::refused(&refused);
        }
        return Page::error(
            StatusCode::UNAUTHORIZED,
            &format!("The provider did not sign you in ({error})."),
        );
    }
    let (Some(code), Some(state)) = (query.get("code"), query.get("state")) else {
        return Page::error(
            StatusCode::BAD_REQUEST,
            "The provider's answer has no code or no state.",
        );
    };
    let exchange = match pending.exchange(code, state) {
        Ok(exchange) => exchange,
        Err(error) => return Page::refused(&error),
    };
    let users = app.users.clone();
    let signed_in = app
        .provider
        .sign_in_or_create::<User, _, _>(tokens, &app.users, exchange, |claims| async move {
            let email = claims.verified_email().map_err(StoreError::new)?;
            Ok(users.find_or_insert(email))
        })
        .await;
    match signed_in {
        Ok(signed_in) => signed_in_page(&signed_in),
        Err(error) => Page::refused(&error),
    }
}

fn signed_in_page(signed_in: &SignedIn<User>) -> Page {
    let mut content = String::new();
    let welcome = if signed_in.created {
        "Welcome"
    } else {
        "Welcome back"
    };
    let _ = write!(
        content,
        r#"<p>{welcome}, <strong id="email">{}</strong> (user {}).</p>
<p>This app's token for you, to send as <code>Authorization: Bearer …</code>:</p>
<pre id="token">{}</pre>
<p><button id="me">Call GET /me with it</button></p>
<pre id="answer"></pre>
<script>
document.getElementById("me").onclick = async () => {{
  const token = document.getElementById("token").textContent;
  const answer = await fetch("/me", {{ headers: {{ Authorization: "Bearer " + token }} }});
  document.getElementById("answer").textContent = answer.status + " " + await answer.text();
}};
</script>"#,
        escape(&signed_in.entity.email),
        signed_in.entity.id,
        escape(&signed_in.token),
    );
    Page::new(StatusCode::OK, "Signed in", &content)
}

/// Needs this app's token; the user is loaded from it.
#[authed(GET, "/me", entity = "users")]
async fn me(user: User) -> Json<User> {
    Json(user)
}
