//! Claims, minting and strict verification against the configured key set; jsonwebtoken's
//! `Header` for the header checks, the rest checked here.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::Header;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::Entity;
use crate::error::AuthError;
use crate::keys::Key;

/// The claims of a jwt-router token: the seeds' (`sub`, `table_name`, `iat`, `exp`), the
/// registered ones this server mints or checks (`nbf`, `jti`, `iss`, `aud`), and the entity's
/// grants (`roles`, `scope`) that routes declaring `roles = [..]` or `scopes = [..]` require.
/// The application's own claims are read with [`get`](Self::get).
///
/// Also an extractor: a handler that takes `Claims` gets the verified claims of the request
/// (401 if the route carries no verified token, e.g. a public route called without one).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// The entity's id, as a string; for an external issuer's token mapped by email, the email
    /// (then [`lookup`](Self::lookup) says `Some("email")`).
    pub sub: String,
    /// The entity's table, e.g. `users`: which [`Entity`] the id belongs to.
    pub table_name: String,
    /// Issued at, seconds since the Unix epoch.
    pub iat: u64,
    /// Expires at, seconds since the Unix epoch. Required.
    pub exp: u64,
    /// Not valid before, seconds since the Unix epoch. Checked when present.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<u64>,
    /// The token's unique id: every token this server mints has one (for revocation).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jti: Option<String>,
    /// Who issued the token; checked when [`token_issuer`](crate::JwtRoutesBuilder::token_issuer)
    /// is set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
    /// Who the token is for; checked when present (RFC 7519 §4.1.3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aud: Option<Audience>,
    /// The entity's roles ([`Entity::roles`]), minted by
    /// [`create_token_for`](crate::Tokens::create_token_for). Any other JSON type than an
    /// array of strings makes the token invalid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub roles: Option<Vec<String>>,
    /// The entity's scopes ([`Entity::scopes`]), space-separated (RFC 8693 §4.2, RFC 9068 §2.2.3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// The login this token comes from (its session family), for tokens minted as a pair by
    /// [`create_pair_for`](crate::Tokens::create_pair_for) and their refreshes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fam: Option<String>,
    /// Whether this is a refresh token: accepted by [`refresh`](crate::Tokens::refresh) only,
    /// never as an access token.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub refresh: bool,
    /// Whether a login minted this token (not a refresh or a renewal): routes declared with
    /// `#[authed(..., fresh)]` accept only these.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub fresh: bool,
    /// A browser session's CSRF token, which unsafe requests authenticated by the cookie must
    /// repeat (feature `cookies`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) csrf: Option<String>,
    /// When the token was issued, in microseconds: "log out everywhere" tells tokens of one
    /// second apart by it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    iat_us: Option<u64>,
    /// When the session this token continues began (its login), in microseconds, on a token
    /// minted by a refresh or a renewal: "log out everywhere" cuts off every token of a session
    /// begun before it, also one a refresh in flight minted just after it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    auth_us: Option<u64>,
    /// The whole claims JSON, for [`get`](Self::get).
    #[serde(skip)]
    raw: Arc<str>,
    /// For an external issuer's token mapped by a claim (`email`): that claim's name; `sub`
    /// then holds its value, not an id.
    #[serde(skip)]
    lookup: Option<&'static str>,
    /// Whether an external issuer minted the token (never renewed into one of ours).
    #[serde(skip)]
    external: bool,
}

/// The `aud` claim: one audience or several (RFC 7519 §4.1.3).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Audience {
    /// A single audience.
    One(String),
    /// Several audiences.
    Many(Vec<String>),
}

impl Audience {
    /// Whether `audience` is one of them.
    pub fn contains(&self, audience: &str) -> bool {
        match self {
            Self::One(one) => one == audience,
            Self::Many(many) => many.iter().any(|a| a == audience),
        }
    }
}

impl Claims {
    /// The token's claims as the application's own type: `T` reads the fields it declares
    /// (minted with [`create_token_with`](crate::Tokens::create_token_with)).
    ///
    /// ```
    /// # extern crate jwt_router_runtime as jwt_router;
    /// #[derive(serde::Deserialize)]
    /// struct Plan { plan: String }
    ///
    /// async fn billing(claims: jwt_router::Claims) -> Result<String, jwt_router::AuthError> {
    ///     Ok(claims.get::<Plan>()?.plan)
    /// }
    /// ```
    pub fn get<T: DeserializeOwned>(&self) -> Result<T, AuthError> {
        serde_json::from_str(&self.raw).map_err(|_| {
            AuthError::InvalidToken("the token's claims are not of the type the server reads")
        })
    }

    /// The claim `sub` holds when it is not the entity's id: `Some("email")` for an external
    /// issuer's token mapped by verified email, `None` otherwise.
    pub fn lookup(&self) -> Option<&'static str> {
        self.lookup
    }

    /// Claims of the entity `table_name`/`sub`, issued at `iat`, expiring at `exp`, and
    /// nothing else: what every constructor starts from.
    fn bare(sub: String, table_name: &str, iat: u64, exp: u64) -> Self {
        Self {
            sub,
            table_name: table_name.to_owned(),
            iat,
            exp,
            nbf: None,
            jti: None,
            iss: None,
            aud: None,
            roles: None,
            scope: None,
            fam: None,
            refresh: false,
            fresh: false,
            csrf: None,
            iat_us: None,
            auth_us: None,
            raw: Arc::from(""),
            lookup: None,
            external: false,
        }
    }

    /// The claims of an external issuer's token, for the entity of `table`, found by `sub`
    /// (its id, or the value of the `lookup` claim).
    #[cfg(feature = "oidc")]
    pub(crate) fn external(
        issued: crate::IssuerClaims,
        table: &'static str,
        sub: String,
        lookup: Option<&'static str>,
    ) -> Self {
        Self {
            nbf: issued.nbf,
            jti: issued
                .raw
                .get("jti")
                .and_then(Value::as_str)
                .map(str::to_owned),
            iss: Some(issued.iss),
            aud: Some(Audience::Many(issued.aud)),
            // `roles` and `scope` are never taken from another issuer's token: a provider's
            // `roles` would otherwise grant roles on our routes. Routes that declare roles
            // refuse issuer tokens.
            raw: Arc::from(Value::Object(issued.raw).to_string()),
            lookup,
            external: true,
            ..Self::bare(sub, table, issued.iat.unwrap_or(0), issued.exp)
        }
    }

    /// When the token's session began, in microseconds since the Unix epoch: its login's time
    /// (`auth_us`) for a refreshed or renewed token, else its own. A token without the precise
    /// time (minted before sessions existed) counts as issued at the start of its `iat` second,
    /// so "log out everywhere" later in that second cuts it off too.
    pub(crate) fn session_us(&self) -> u64 {
        self.auth_us
            .or(self.iat_us)
            .unwrap_or_else(|| self.iat.saturating_mul(1_000_000))
    }

    /// The application's own claims: every claim that is not one of [`Claims`]' fields.
    fn custom(&self) -> Map<String, Value> {
        let mut all: Map<String, Value> = serde_json::from_str(&self.raw).unwrap_or_default();
        all.retain(|name, _| !REGISTERED.contains(&name.as_str()));
        all
    }
}

/// The claims jwt-router sets itself; the application's own claims can't take these names.
const REGISTERED: [&str; 16] = [
    "sub",
    "table_name",
    "iat",
    "exp",
    "nbf",
    "jti",
    "iss",
    "aud",
    "roles",
    "scope",
    "fam",
    "refresh",
    "fresh",
    "csrf",
    "iat_us",
    "auth_us",
];

/// The refusal of a token over the size cap, wherever the cap is checked first.
pub(crate) const TOO_LARGE: AuthError = AuthError::InvalidToken("the token is larger than allowed");

/// The refusal of a token whose signature does not verify.
pub(crate) const BAD_SIGNATURE: AuthError =
    AuthError::InvalidToken("the token's signature does not match");

/// The three segments of a compact JWS, size-capped before anything is decoded.
pub(crate) struct Segments<'a> {
    pub(crate) header: &'a str,
    pub(crate) payload: &'a str,
    pub(crate) signature: &'a str,
    /// `header.payload`: what the signature covers.
    pub(crate) signed: &'a str,
}

impl<'a> Segments<'a> {
    pub(crate) fn split(token: &'a str, max_bytes: usize) -> Result<Self, AuthError> {
        if token.len() > max_bytes {
            return Err(TOO_LARGE);
        }
        let mut segments = token.split('.');
        let (Some(header), Some(payload), Some(signature), None) = (
            segments.next(),
            segments.next(),
            segments.next(),
            segments.next(),
        ) else {
            return Err(AuthError::InvalidToken(
                "a token has three dot-separated segments",
            ));
        };
        Ok(Self {
            header,
            payload,
            signature,
            signed: &token[..header.len() + 1 + payload.len()],
        })
    }
}

/// Token settings fixed at build time: the keys, the time rules, who issues and who listens.
pub(crate) struct TokenKeys {
    keys: Vec<Key>,
    /// Per key, the header this server writes for it, base64url-encoded once: what its tokens
    /// carry, and what `verify` recognises without parsing.
    headers: Vec<String>,
    /// The key (an index) that signs new tokens.
    signing: Option<usize>,
    pub(crate) expire: Duration,
    /// How long a login's refresh tokens are valid, from the login.
    pub(crate) refresh_expire: Duration,
    pub(crate) leeway: u64,
    pub(crate) max_token_bytes: usize,
    /// The registered entity tables: a token for any other table is refused, and never minted.
    pub(crate) tables: Vec<&'static str>,
    /// `iss` minted and required, when set.
    pub(crate) issuer: Option<String>,
    /// `aud` minted and required, when set.
    pub(crate) audience: Option<String>,
}

/// How `TokenKeys` checks and mints times and sizes.
pub(crate) struct Rules {
    pub(crate) expire: Duration,
    pub(crate) refresh_expire: Duration,
    pub(crate) leeway: Duration,
    pub(crate) max_token_bytes: usize,
    pub(crate) tables: Vec<&'static str>,
    pub(crate) issuer: Option<String>,
    pub(crate) audience: Option<String>,
}

impl TokenKeys {
    /// `keys`, of which `signing` (an index) signs new tokens.
    pub(crate) fn new(keys: Vec<Key>, signing: Option<usize>, rules: Rules) -> Self {
        let headers = keys
            .iter()
            .map(|key| {
                let mut header = Header::new(key.algorithm());
                header.kid = key.kid.clone();
                URL_SAFE_NO_PAD.encode(serde_json::to_vec(&header).unwrap_or_default())
            })
            .collect();
        Self {
            keys,
            headers,
            signing,
            expire: rules.expire,
            refresh_expire: rules.refresh_expire,
            leeway: rules.leeway.as_secs(),
            max_token_bytes: rules.max_token_bytes,
            tables: rules.tables,
            issuer: rules.issuer,
            audience: rules.audience,
        }
    }

    /// Every configured key, for the JWKS document.
    #[cfg(feature = "asymmetric")]
    pub(crate) fn keys(&self) -> &[Key] {
        &self.keys
    }

    /// A fresh token for the entity `table_name`/`sub` with its `grants` and the application's
    /// `custom` claims, of `kind`. `table_name` is a registered entity's: `issue_for` checks
    /// it, and a successor's comes from a token `verify` accepted.
    pub(crate) fn issue(
        &self,
        table_name: &str,
        sub: String,
        grants: Grants,
        custom: Map<String, Value>,
        kind: Kind,
    ) -> Result<String, AuthError> {
        let signer = self.signing.ok_or(AuthError::Misconfigured(
            "no signing key: set one with .secret(...) or .signing_key(...)",
        ))?;
        if let Some(name) = custom
            .keys()
            .find(|name| REGISTERED.contains(&name.as_str()))
        {
            tracing::error!(claim = %name, "jwt-router: a custom claim takes a registered name");
            return Err(AuthError::Misconfigured(
                "a custom claim takes the name of a claim jwt-router sets",
            ));
        }
        let iat_us = now_us();
        let iat = iat_us / 1_000_000;
        let lifetime = if kind.refresh {
            self.refresh_expire
        } else {
            self.expire
        };
        let exp = kind
            .exp
            .unwrap_or_else(|| iat.saturating_add(lifetime.as_secs()));
        let claims = Claims {
            // 128 bits: unguessable, unique in practice.
            jti: Some(random_base64url::<16>()?),
            iss: self.issuer.clone(),
            aud: self.audience.clone().map(Audience::One),
            roles: grants.roles,
            scope: grants.scope,
            fam: kind.family,
            refresh: kind.refresh,
            fresh: kind.fresh,
            csrf: kind.csrf,
            iat_us: Some(iat_us),
            auth_us: kind.since_us,
            ..Claims::bare(sub, table_name, iat, exp)
        };
        let json = if custom.is_empty() {
            serde_json::to_vec(&claims)
        } else {
            let mut all = match serde_json::to_value(&claims) {
                Ok(Value::Object(all)) => all,
                _ => Map::new(),
            };
            all.extend(custom);
            serde_json::to_vec(&all)
        }
        .map_err(|_| AuthError::Misconfigured("the token's claims could not be encoded"))?;
        let mut token = format!("{}.{}", self.headers[signer], URL_SAFE_NO_PAD.encode(json));
        let signature = self.keys[signer]
            .sign(token.as_bytes())
            .ok_or(AuthError::Misconfigured("the token could not be signed"))?;
        token.push('.');
        token.push_str(&signature);
        Ok(token)
    }

    /// A token of `kind` for an entity of type `E` with `grants` and the application's
    /// `custom` claims.
    pub(crate) fn issue_for<E: Entity>(
        &self,
        id: &E::Id,
        grants: Grants,
        custom: Map<String, Value>,
        kind: Kind,
    ) -> Result<String, AuthError> {
        if !self.tables.contains(&E::TABLE_NAME) {
            return Err(unregistered::<E>());
        }
        self.issue(E::TABLE_NAME, id.to_string(), grants, custom, kind)
    }

    /// A token of `kind` for `entity` with its roles and scopes.
    pub(crate) fn issue_entity<E: Entity>(
        &self,
        entity: &E,
        kind: Kind,
    ) -> Result<String, AuthError> {
        self.issue_for::<E>(&entity.id(), Grants::of(entity)?, Map::new(), kind)
    }

    /// A fresh token for the same entity as `claims`, with its grants, its custom claims and a
    /// new expiry. The grants are kept, not re-derived: renewal has the verified claims, not the
    /// entity, and loading it would cost a store read; it never widens them. An app that revokes
    /// roles mints from the loaded entity with `create_token_for` instead.
    pub(crate) fn renew(&self, claims: &Claims) -> Result<String, AuthError> {
        let kind = Kind {
            family: claims.fam.clone(),
            ..Kind::default()
        };
        self.successor(claims, kind)
    }

    /// A token for the same entity as `claims`, with its grants and custom claims, of `kind`,
    /// in the session of `claims`.
    pub(crate) fn successor(&self, claims: &Claims, kind: Kind) -> Result<String, AuthError> {
        // A provider's short-lived token must not become one of ours that outlives it.
        if claims.external {
            return Err(AuthError::InvalidRequest(
                "tokens of another issuer are not renewed: sign in again",
            ));
        }
        let grants = Grants {
            roles: claims.roles.clone(),
            scope: claims.scope.clone(),
        };
        let kind = Kind {
            since_us: Some(claims.session_us()),
            ..kind
        };
        self.issue(
            &claims.table_name,
            claims.sub.clone(),
            grants,
            claims.custom(),
            kind,
        )
    }

    /// Verifies `token` strictly and returns its claims. Each part is decoded once, cheap
    /// checks first, so a forged token costs no more than a valid one: size, shape, header
    /// (no key-choosing fields; its `kid` selects one of our keys, whose algorithm it must
    /// name), signature, and only then the claims. jsonwebtoken's own `decode` is not used: it
    /// parses header and claims twice, and its time checks (60 s default leeway, no `nbf`,
    /// `exp == now` accepted) are too lax.
    pub(crate) fn verify(&self, token: &str) -> Result<Claims, AuthError> {
        let segments = Segments::split(token, self.max_token_bytes)?;
        let key = match self.headers.iter().position(|ours| ours == segments.header) {
            // Byte for byte the header this server writes for one of its keys: parsing it
            // could only find that key and pass every check. Every token it minted has one.
            Some(key) => &self.keys[key],
            None => self.key_of(segments.header)?,
        };
        if !key.verifies(segments.signed.as_bytes(), segments.signature) {
            return Err(BAD_SIGNATURE);
        }
        let json = segment_text(segments.payload)?;
        let mut claims: Claims = parse_segment(&json)?;
        check_times(&claims, now(), self.leeway)?;
        if !self.tables.contains(&claims.table_name.as_str()) {
            return Err(AuthError::InvalidToken(
                "the token's `table_name` is not a registered entity",
            ));
        }
        self.check_parties(&claims)?;
        claims.raw = Arc::from(json);
        Ok(claims)
    }

    /// The key a header written elsewhere names: parsed, checked (no key-choosing fields), its
    /// `kid` selecting one of our keys, whose algorithm its `alg` must be.
    fn key_of(&self, header: &str) -> Result<&Key, AuthError> {
        let parsed: Header = decode_segment(header)?;
        check_header(&parsed)?;
        let key = self.key_for(parsed.kid.as_deref())?;
        if parsed.alg != key.algorithm() {
            return Err(AuthError::InvalidToken(
                "the token's algorithm is not the one its key uses",
            ));
        }
        Ok(key)
    }

    /// The key a token's `kid` names; a token without one is for the key without one.
    fn key_for(&self, kid: Option<&str>) -> Result<&Key, AuthError> {
        self.keys
            .iter()
            .find(|key| key.kid.as_deref() == kid)
            .ok_or(match kid {
                Some(_) => AuthError::UnknownKey,
                None => AuthError::InvalidToken("the token names no key (`kid`)"),
            })
    }

    /// `iss` when an issuer is configured; `aud` whenever the token has one (a token for
    /// others is refused even by a server that names no audience: RFC 7519 §4.1.3).
    fn check_parties(&self, claims: &Claims) -> Result<(), AuthError> {
        if let Some(issuer) = &self.issuer
            && claims.iss.as_deref() != Some(issuer)
        {
            return Err(AuthError::WrongIssuer);
        }
        match (&self.audience, &claims.aud) {
            (Some(ours), Some(aud)) if aud.contains(ours) => Ok(()),
            (None, None) => Ok(()),
            _ => Err(AuthError::WrongAudience),
        }
    }
}

/// What kind of token [`TokenKeys::issue`] mints: a plain access token by default.
#[derive(Debug, Default)]
pub(crate) struct Kind {
    /// The login (session family) it belongs to.
    pub(crate) family: Option<String>,
    /// A refresh token rather than an access token.
    pub(crate) refresh: bool,
    /// Minted by a login, not by a refresh or a renewal.
    pub(crate) fresh: bool,
    /// A browser session's CSRF token.
    pub(crate) csrf: Option<String>,
    /// An expiry other than the configured lifetime: a rotated refresh token keeps its family's.
    pub(crate) exp: Option<u64>,
    /// When the session it continues began, in microseconds (`auth_us`); `None` for a login's.
    pub(crate) since_us: Option<u64>,
}

impl Kind {
    /// An access token minted by a login.
    pub(crate) fn login() -> Self {
        Self {
            fresh: true,
            ..Self::default()
        }
    }
}

/// What a token grants its entity: the `roles` and `scope` claims, absent when empty.
#[derive(Debug, Default, Clone)]
pub(crate) struct Grants {
    roles: Option<Vec<String>>,
    scope: Option<String>,
}

impl Grants {
    /// `entity`'s roles and scopes. A scope that is empty or holds a space would not survive
    /// the space-separated `scope` claim (or would grant two), so it is refused.
    pub(crate) fn of<E: Entity>(entity: &E) -> Result<Self, AuthError> {
        let roles = entity.roles();
        let scopes = entity.scopes();
        if scopes.iter().any(|s| s.is_empty() || s.contains(' ')) {
            tracing::error!(
                entity = std::any::type_name::<E>(),
                "jwt-router: a scope is empty or holds a space"
            );
            return Err(AuthError::Misconfigured(
                "an entity's scope is empty or holds a space",
            ));
        }
        Ok(Self {
            roles: (!roles.is_empty()).then_some(roles),
            scope: (!scopes.is_empty()).then(|| scopes.join(" ")),
        })
    }
}

/// `N` random bytes from the OS, base64url: token ids, and sign-in's state, nonce and PKCE
/// verifier.
pub(crate) fn random_base64url<const N: usize>() -> Result<String, AuthError> {
    let mut bytes = [0; N];
    getrandom::fill(&mut bytes)
        .map_err(|_| AuthError::Misconfigured("the OS gave no randomness"))?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

/// The refusal for an entity type the builder does not know, logged: it is the server's bug.
pub(crate) fn unregistered<E: Entity>() -> AuthError {
    let entity = std::any::type_name::<E>();
    tracing::error!(
        entity,
        "jwt-router: entity type used but not registered with the builder"
    );
    AuthError::UnregisteredEntity(entity)
}

/// A base64url (unpadded) JSON segment of a token, into `T`; duplicate keys are refused.
pub(crate) fn decode_segment<T: DeserializeOwned>(segment: &str) -> Result<T, AuthError> {
    parse_segment(&segment_text(segment)?)
}

/// The text of a base64url (unpadded) segment, checked to be UTF-8.
pub(crate) fn segment_text(segment: &str) -> Result<String, AuthError> {
    let json = URL_SAFE_NO_PAD
        .decode(segment)
        .map_err(|_| AuthError::InvalidToken("the token is not valid base64url"))?;
    // JSON is UTF-8 (RFC 8259 §8.1); serde_json would skip an unread field's bad bytes.
    String::from_utf8(json)
        .map_err(|_| AuthError::InvalidToken("the token's header or claims are not UTF-8"))
}

/// A segment's JSON text into `T`; a typed struct refuses duplicate keys.
pub(crate) fn parse_segment<T: DeserializeOwned>(json: &str) -> Result<T, AuthError> {
    serde_json::from_str(json).map_err(|_| {
        AuthError::InvalidToken("the token's header or claims are not the expected JSON")
    })
}

/// Refuses header fields that would let the token choose its own key or demand extensions
/// this verifier does not implement (RFC 8725 §2.5, RFC 7515 §4.1.11).
pub(crate) fn check_header(header: &Header) -> Result<(), AuthError> {
    if header.crit.is_some() {
        return Err(AuthError::InvalidToken(
            "the token has a `crit` header this server does not understand",
        ));
    }
    if header.jku.is_some() || header.jwk.is_some() || header.x5u.is_some() || header.x5c.is_some()
    {
        return Err(AuthError::InvalidToken(
            "the token names its own key (`jku`, `jwk`, `x5u` or `x5c`); keys are never taken from tokens",
        ));
    }
    match &header.typ {
        Some(typ) if !typ.eq_ignore_ascii_case("JWT") => {
            Err(AuthError::InvalidToken("the token's `typ` is not JWT"))
        }
        _ => Ok(()),
    }
}

/// The time claims of a token, ours or an issuer's.
#[derive(Clone, Copy)]
pub(crate) struct Times {
    pub(crate) exp: u64,
    pub(crate) nbf: Option<u64>,
    pub(crate) iat: Option<u64>,
}

impl From<&Claims> for Times {
    fn from(claims: &Claims) -> Self {
        Self {
            exp: claims.exp,
            nbf: claims.nbf,
            iat: Some(claims.iat),
        }
    }
}

/// `exp` (required), `nbf` and `iat` against `now`, with an explicit leeway in seconds.
pub(crate) fn check_times(times: impl Into<Times>, now: u64, leeway: u64) -> Result<(), AuthError> {
    let times = times.into();
    if now >= times.exp.saturating_add(leeway) {
        return Err(AuthError::ExpiredToken);
    }
    if times
        .nbf
        .is_some_and(|nbf| nbf > now.saturating_add(leeway))
    {
        return Err(AuthError::InvalidToken(
            "the token is not valid yet (`nbf`)",
        ));
    }
    if times
        .iat
        .is_some_and(|iat| iat > now.saturating_add(leeway))
    {
        return Err(AuthError::InvalidToken(
            "the token was issued in the future (`iat`)",
        ));
    }
    Ok(())
}

pub(crate) fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs())
}

/// Equality whose time doesn't depend on where the strings differ, for values an attacker
/// guesses at (sign-in's state and nonce, CSRF tokens).
#[cfg(any(feature = "oidc", feature = "cookies"))]
pub(crate) fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0, |diff, (a, b)| diff | (a ^ b))
            == 0
}

/// Now, in microseconds since the Unix epoch.
pub(crate) fn now_us() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| {
            u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(iat: u64, exp: u64, nbf: Option<u64>) -> Claims {
        Claims {
            nbf,
            ..Claims::bare("1".into(), "users", iat, exp)
        }
    }

    #[test]
    #[cfg(any(feature = "oidc", feature = "cookies"))]
    fn same_secret_compares_whole_strings() {
        assert!(same_secret("abc", "abc"));
        assert!(!same_secret("abc", "abd"));
        assert!(!same_secret("abc", "ab"));
        assert!(!same_secret("", "a"));
    }

    #[test]
    fn exp_boundary_is_exclusive_after_leeway() {
        let c = claims(0, 1000, None);
        assert_eq!(check_times(&c, 999, 0), Ok(()));
        assert_eq!(check_times(&c, 1000, 0), Err(AuthError::ExpiredToken));
        assert_eq!(check_times(&c, 1004, 5), Ok(()));
        assert_eq!(check_times(&c, 1005, 5), Err(AuthError::ExpiredToken));
    }

    #[test]
    fn nbf_and_iat_in_the_future_are_refused_beyond_leeway() {
        let c = claims(0, 5000, Some(1000));
        assert_eq!(check_times(&c, 1000, 0), Ok(()));
        assert!(check_times(&c, 999, 0).is_err());
        assert_eq!(check_times(&c, 995, 5), Ok(()));
        assert!(check_times(&c, 994, 5).is_err());
        let c = claims(1000, 5000, None);
        assert!(check_times(&c, 999, 0).is_err());
        assert_eq!(check_times(&c, 995, 5), Ok(()));
    }

    fn rules() -> Rules {
        Rules {
            refresh_expire: Duration::from_secs(600),
            expire: Duration::from_secs(60),
            leeway: Duration::ZERO,
            max_token_bytes: 4096,
            tables: vec!["users"],
            issuer: None,
            audience: None,
        }
    }

    fn keys() -> TokenKeys {
        let key = Key::hs256(b"a unit-test secret of at least 32 bytes");
        TokenKeys::new(vec![key], Some(0), rules())
    }

    #[test]
    fn minted_header_is_the_one_jsonwebtoken_writes() {
        let expected =
            serde_json::to_vec(&Header::new(jsonwebtoken::Algorithm::HS256)).expect("serializes");
        let keys = keys();
        let header = keys.signing.map(|key| keys.headers[key].clone());
        assert_eq!(header, Some(URL_SAFE_NO_PAD.encode(expected)));
    }

    #[test]
    fn signature_must_be_exact_in_length_and_bytes() {
        let keys = keys();
        let token = keys
            .issue(
                "users",
                "1".into(),
                Grants::default(),
                Map::new(),
                Kind::default(),
            )
            .expect("signs");
        assert_eq!(keys.verify(&token).map(|c| c.sub), Ok("1".to_owned()));
        let (signed, signature) = token.rsplit_once('.').expect("three segments");
        let decoded = URL_SAFE_NO_PAD.decode(signature).expect("base64url");
        assert_eq!(decoded.len(), 32);
        let longer = URL_SAFE_NO_PAD.encode([&decoded[..], &[0]].concat());
        let shorter = URL_SAFE_NO_PAD.encode(&decoded[..31]);
        let much_longer = URL_SAFE_NO_PAD.encode([0; 100]);
        let key = &keys.keys[0];
        for bad in [longer, shorter, much_longer, String::new()] {
            assert!(!key.verifies(signed.as_bytes(), &bad), "{bad}");
        }
        assert!(key.verifies(signed.as_bytes(), signature));
    }

    #[test]
    fn every_minted_token_has_a_unique_jti_and_keeps_custom_claims_on_renewal() {
        let keys = keys();
        let mut custom = Map::new();
        custom.insert("plan".into(), Value::from("gold"));
        let first = keys.verify(
            &keys
                .issue(
                    "users",
                    "1".into(),
                    Grants::default(),
                    custom,
                    Kind::default(),
                )
                .expect("signs"),
        );
        let first = first.expect("verifies");
        let renewed = keys
            .verify(&keys.renew(&first).expect("renews"))
            .expect("verifies");
        assert_ne!(first.jti, renewed.jti);
        assert_eq!(first.jti.as_ref().map(String::len), Some(22));
        #[derive(Deserialize)]
        struct Plan {
            plan: String,
        }
        assert_eq!(renewed.get::<Plan>().map(|p| p.plan), Ok("gold".to_owned()));
    }

    #[test]
    fn custom_claims_cannot_take_registered_names() {
        for name in REGISTERED {
            let mut custom = Map::new();
            custom.insert(name.into(), Value::from(1));
            assert!(
                keys()
                    .issue(
                        "users",
                        "1".into(),
                        Grants::default(),
                        custom,
                        Kind::default()
                    )
                    .is_err(),
                "{name}"
            );
        }
    }

    #[test]
    fn huge_exp_does_not_overflow() {
        assert_eq!(
            check_times(&claims(0, u64::MAX, None), 10, u64::MAX),
            Ok(())
        );
    }
}
