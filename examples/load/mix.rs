//! The accounts, the tokens good and bad, and the request mix each worker sends and checks.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::{Client, Method};
use serde_json::{Value, json};

use super::Error;
use super::report::Stats;
use super::server::SECRET;

const WRONG_SECRET: &[u8] = b"load test: not the server's secret, also over 32 bytes";
const USERS: usize = 8;
const BOOKS_PER_USER: usize = 5;
/// Logins kept for logouts during the load: one per `LOGOUT_EVERY` operations, while they last.
const SESSIONS: usize = 32;
const LOGOUT_EVERY: u64 = 1000;

struct Account {
    id: i64,
    token: String,
    /// Signed with the server's secret, `exp` in the past.
    expired: String,
    books: Vec<i64>,
}

pub(crate) struct Fixtures {
    /// The servers' base URLs; the first one did the setup.
    bases: Vec<String>,
    /// Whether a logout on one server is honoured by the others (a shared session store).
    shared_sessions: bool,
    users: Vec<Account>,
    teacher: Account,
    /// (the user whose id the token claims, the token)
    forged: Vec<(usize, String)>,
    /// Access tokens of the first user's logins, each logged out once during the load.
    sessions: Vec<String>,
    next_session: AtomicUsize,
}

impl Fixtures {
    /// Registers the users (each with a few books) and a teacher, and logs the first user in a
    /// few times: the only Argon2 work of the run.
    pub(crate) async fn new(bases: Vec<String>, shared_sessions: bool) -> Result<Self, Error> {
        let base = bases.first().ok_or("no server")?;
        let client = super::client()?;
        let send = async |path: &str, token: Option<&str>, body: Value| -> Result<Value, Error> {
            let mut request = client.post(format!("{base}/api/v1{path}")).json(&body);
            if let Some(token) = token {
                request = request.bearer_auth(token);
            }
            Ok(request.send().await?.json().await?)
        };
        let register = async |table: &str, n: usize| -> Result<Account, Error> {
            let body = json!({"name": format!("load {n}"), "email": format!("load{n}@example.com"),
                "password": "correct horse battery staple"});
            let answer = send(&format!("/{table}"), None, body).await?;
            let (Some(id), Some(token)) = (answer["data"]["id"].as_i64(), answer["token"].as_str())
            else {
                return Err(format!("registration failed: {answer}").into());
            };
            let expired = sign(
                &claims(id, table, now() - 7200, now() - 1),
                Algorithm::HS256,
                SECRET,
            )?;
            let token = token.to_owned();
            Ok(Account {
                id,
                token,
                expired,
                books: Vec::new(),
            })
        };
        let mut users = Vec::new();
        for n in 0..USERS {
            let mut user = register("users", n).await?;
            for b in 0..BOOKS_PER_USER {
                let book = json!({"title": format!("book {b}"), "author": "Anon"});
                let answer = send("/books", Some(&user.token), book).await?;
                user.books
                    .push(answer["data"]["id"].as_i64().ok_or("no book id")?);
            }
            users.push(user);
        }
        let teacher = register("teachers", 0).await?;
        let forged = forged_tokens(&users)?;
        let mut sessions = Vec::new();
        for _ in 0..SESSIONS {
            let login = json!({"email": "load0@example.com",
                "password": "correct horse battery staple"});
            let answer = send("/users/login", None, login).await?;
            let token = answer["token"].as_str();
            sessions.push(
                token
                    .ok_or_else(|| format!("login failed: {answer}"))?
                    .to_owned(),
            );
        }
        Ok(Self {
            bases,
            shared_sessions,
            users,
            teacher,
            forged,
            sessions,
            next_session: AtomicUsize::new(0),
        })
    }

    pub(crate) fn describe(&self) -> String {
        format!(
            "{} users with {BOOKS_PER_USER} books each, 1 teacher, {} forged tokens, {} logins",
            self.users.len(),
            self.forged.len(),
            self.sessions.len()
        )
    }

    /// A login not logged out yet, if any is left.
    fn take_session(&self) -> Option<&str> {
        let next = self.next_session.fetch_add(1, Ordering::Relaxed);
        self.sessions.get(next).map(String::as_str)
    }

    /// Whether every user has exactly the books of the setup: no forged or expired write
    /// landed, and every valid create was deleted again.
    pub(crate) async fn books_intact(&self, client: &Client) -> Result<bool, Error> {
        for user in &self.users {
            let url = format!("{}/api/v1/books", self.bases[0]);
            let answer: Value = client
                .get(url)
                .bearer_auth(&user.token)
                .send()
                .await?
                .json()
                .await?;
            let ids: BTreeSet<i64> = answer["data"]
                .as_array()
                .ok_or("no book list")?
                .iter()
                .filter_map(|book| book["id"].as_i64())
                .collect();
            if ids != user.books.iter().copied().collect() {
                println!("user {}: books {ids:?}, expected {:?}", user.id, user.books);
                return Ok(false);
            }
        }
        Ok(true)
    }
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn claims(id: i64, table: &str, iat: u64, exp: u64) -> Value {
    json!({"sub": id.to_string(), "table_name": table, "iat": iat, "exp": exp})
}

fn sign(claims: &Value, alg: Algorithm, secret: &[u8]) -> Result<String, Error> {
    Ok(jsonwebtoken::encode(
        &Header::new(alg),
        claims,
        &EncodingKey::from_secret(secret),
    )?)
}

/// For each user, claiming the next user's id: signed with a wrong secret, the claims swapped
/// under this user's real signature, `alg: none`, HS384 with the right secret, no signature.
fn forged_tokens(users: &[Account]) -> Result<Vec<(usize, String)>, Error> {
    let mut forged = Vec::new();
    for (n, user) in users.iter().enumerate() {
        let victim = (n + 1) % users.len();
        let stolen = claims(users[victim].id, "users", now(), now() + 3600);
        let payload = B64.encode(stolen.to_string());
        let mut parts = user.token.split('.');
        let (Some(header), Some(_), Some(signature)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err("a token is not a JWT".into());
        };
        let none = B64.encode(r#"{"alg":"none","typ":"JWT"}"#);
        forged.extend(
            [
                sign(&stolen, Algorithm::HS256, WRONG_SECRET)?,
                format!("{header}.{payload}.{signature}"),
                format!("{none}.{payload}."),
                sign(&stolen, Algorithm::HS384, SECRET)?,
                format!("{header}.{payload}."),
            ]
            .map(|token| (victim, token)),
        );
    }
    Ok(forged)
}

/// What a request is, hence how it must be answered.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Class {
    Valid,
    Expired,
    Forged,
    WrongEntity,
    NoToken,
    /// Logged out (on another server, when there are several).
    Revoked,
}

impl Class {
    pub(crate) const ALL: [Class; 6] = [
        Self::Valid,
        Self::Expired,
        Self::Forged,
        Self::WrongEntity,
        Self::NoToken,
        Self::Revoked,
    ];

    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Valid => "valid",
            Self::Expired => "expired",
            Self::Forged => "forged",
            Self::WrongEntity => "wrong entity",
            Self::NoToken => "no token",
            Self::Revoked => "logged out",
        }
    }

    /// The refusal a class other than `Valid` must get: status and error code.
    fn refusal(self) -> Option<(u16, &'static str)> {
        match self {
            Self::Valid => None,
            Self::Expired => Some((401, "token_expired")),
            Self::Forged => Some((401, "invalid_token")),
            Self::WrongEntity => Some((403, "wrong_entity")),
            Self::NoToken => Some((401, "missing_token")),
            Self::Revoked => Some((401, "token_revoked")),
        }
    }
}

/// How a request carries its token.
#[derive(Clone, Copy)]
enum Auth<'a> {
    None,
    Bearer(&'a str),
    Query(&'a str),
}

/// One connection's share of the load.
pub(crate) struct Worker {
    client: Client,
    fx: Arc<Fixtures>,
    /// The server this worker loads, and the one where its logouts are checked.
    base: String,
    other: String,
    sent: Arc<AtomicU64>,
    pub(crate) stats: Stats,
}

impl Worker {
    /// Worker `n`: the servers take the workers in turn.
    pub(crate) fn new(n: usize, client: Client, fx: Arc<Fixtures>, sent: Arc<AtomicU64>) -> Self {
        let servers = fx.bases.len();
        let base = fx.bases[n % servers].clone();
        let other = if fx.shared_sessions {
            fx.bases[(n + 1) % servers].clone()
        } else {
            base.clone()
        };
        Self {
            client,
            fx,
            base,
            other,
            sent,
            stats: Stats::default(),
        }
    }

    /// Requests sent by all workers so far.
    pub(crate) fn sent(&self) -> u64 {
        self.sent.load(Ordering::Relaxed)
    }

    /// Operation `i` of the mix. Per 20: 11 valid (one a create + delete pair), 2 expired, 4
    /// forged, 2 wrong entity, 1 without a token; every third token rides in `?auth=`. Once
    /// per `LOGOUT_EVERY`, while logins last: a login's token used on the other server, logged
    /// out here, then refused on the other server.
    pub(crate) async fn op(&mut self, i: u64) {
        use Class::*;
        let fx = Arc::clone(&self.fx);
        if i % LOGOUT_EVERY == LOGOUT_EVERY / 2
            && let Some(session) = fx.take_session()
        {
            let (session, other) = (Auth::Bearer(session), self.other.clone());
            // Seen on the other server first, so that its not-revoked cache (if any) holds it.
            self.send_to(&other, Valid, 200, Method::GET, "/users/me", session, None)
                .await;
            self.send(Valid, 204, Method::POST, "/auth/logout", session, None)
                .await;
            self.send_to(&other, Revoked, 0, Method::GET, "/users/me", session, None)
                .await;
            return;
        }
        let round = (i / 20) as usize;
        let user = &fx.users[round % fx.users.len()];
        let auth = |token| {
            if i.is_multiple_of(3) {
                Auth::Query(token)
            } else {
                Auth::Bearer(token)
            }
        };
        let book = |user: &Account| format!("/books/{}", user.books[round % user.books.len()]);
        let new_book = || Some(json!({"title": format!("load {i}"), "author": "Load"}));
        let (token, expired) = (auth(&user.token), auth(&user.expired));
        let teacher = auth(&fx.teacher.token);
        let (get, post) = (Method::GET, Method::POST);
        let (books, me) = ("/books".to_owned(), "/users/me".to_owned());
        let teacher_me = "/teachers/me".to_owned();
        let (class, expect, method, path, auth, body) = match i % 20 {
            0..=3 => (Valid, 200, get, books, token, None),
            4 | 5 => (Valid, 200, get, me, token, None),
            6 | 7 => (Valid, 200, get, book(user), token, None),
            8 => {
                let created = self.send(Valid, 201, post, &books, token, new_book()).await;
                if let Some(id) = created["data"]["id"].as_i64() {
                    let path = format!("/books/{id}");
                    self.send(Valid, 204, Method::DELETE, &path, token, None)
                        .await;
                }
                return;
            }
            9 => {
                let name = Some(json!({"name": format!("load {i}")}));
                (Valid, 200, Method::PATCH, me, token, name)
            }
            10 => (Valid, 200, get, teacher_me, teacher, None),
            11 => (Expired, 0, get, books, expired, None),
            12 => (Expired, 0, post, books, expired, new_book()),
            13..=16 => {
                let (victim, forged) = &fx.forged[(round * 4 + (i % 4) as usize) % fx.forged.len()];
                let (method, path, body) = match i % 4 {
                    0 => (get, books, None),
                    1 => (get, me, None),
                    2 => (post, books, new_book()),
                    _ => (Method::DELETE, book(&fx.users[*victim]), None),
                };
                (Forged, 0, method, path, auth(forged), body)
            }
            17 if round.is_multiple_of(2) => (WrongEntity, 0, get, books, teacher, None),
            17 => (WrongEntity, 0, get, me, teacher, None),
            18 => (WrongEntity, 0, get, teacher_me, token, None),
            _ => (NoToken, 0, post, books, Auth::None, new_book()),
        };
        self.send(class, expect, method, &path, auth, body).await;
    }

    /// Sends one request to this worker's server; see [`Self::send_to`].
    async fn send(
        &mut self,
        class: Class,
        expect: u16,
        method: Method,
        path: &str,
        auth: Auth<'_>,
        body: Option<Value>,
    ) -> Value {
        let base = self.base.clone();
        self.send_to(&base, class, expect, method, path, auth, body)
            .await
    }

    /// Sends one request to the server at `base`, checks its answer against `class` (`expect`:
    /// a valid one's status) and records it; the JSON body, or `Null`.
    #[allow(clippy::too_many_arguments)]
    async fn send_to(
        &mut self,
        base: &str,
        class: Class,
        expect: u16,
        method: Method,
        path: &str,
        auth: Auth<'_>,
        body: Option<Value>,
    ) -> Value {
        let mut url = format!("{base}/api/v1{path}");
        if let Auth::Query(token) = auth {
            url = format!("{url}?auth={token}");
        }
        let mut request = self.client.request(method.clone(), &url);
        if let Auth::Bearer(token) = auth {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        self.sent.fetch_add(1, Ordering::Relaxed);
        let started = Instant::now();
        let answer = match request.send().await {
            Ok(response) => {
                let status = response.status().as_u16();
                let challenge = response.headers().contains_key("www-authenticate");
                response.text().await.map(|text| (status, challenge, text))
            }
            Err(err) => Err(err),
        };
        let latency = started.elapsed();
        let (status, challenge, text) = match answer {
            Ok(answer) => answer,
            Err(err) => {
                let failure = format!("{} {method} {path}: {err}", class.name());
                self.stats.record(class, 0, latency, Some(failure));
                return Value::Null;
            }
        };
        let json: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        let ok = match class.refusal() {
            None => status == expect,
            Some((refused, code)) => {
                status == refused
                    && json["error"] == code
                    && json["message"].is_string()
                    && (refused != 401 || challenge)
            }
        };
        let failure = (!ok).then(|| format!("{} {method} {path}: {status} {text}", class.name()));
        self.stats.record(class, status, latency, failure);
        json
    }
}
