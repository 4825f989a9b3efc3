//! Sign-in with an OpenID Connect provider (Google as a preset): the authorization code is
//! exchanged at the provider's token endpoint, the ID token verified locally by the
//! [`Issuer`], the entity found by verified email (or created), and this app's own token
//! minted.

mod flow;

use std::fmt;
use std::future::Future;
use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use http::HeaderValue;
use serde::Deserialize;
use url::Url;

#[cfg(feature = "testing")]
pub(crate) use flow::challenge;
pub use flow::{Authorization, PendingSignIn};

use crate::error::AuthError;
use crate::{Entity, Issuer, IssuerBuilder, IssuerClaims, IssuerError, StoreError, Tokens};

/// Google's issuer, for [`Provider::google`].
pub const GOOGLE_ISSUER: &str = "https://accounts.google.com";

/// How the client authenticates at the token endpoint. The secret travels in the request's
/// body or its `Authorization` header, never in a URL, where proxies and logs keep it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum ClientAuth {
    /// `client_secret_post`: `client_id` and `client_secret` in the form body (the default;
    /// what Google documents).
    #[default]
    Post,
    /// `client_secret_basic`: HTTP Basic with the form-encoded id and secret (RFC 6749
    /// §2.3.1), which some providers require.
    Basic,
}

/// An OpenID Connect provider this app signs users in with: its [`Issuer`] (whose audience is
/// the client id), the client secret, and the endpoints discovery named.
///
/// Cheap to clone. Pass [`issuer`](Self::issuer) to
/// [`JwtRoutesBuilder::issuer`](crate::JwtRoutesBuilder::issuer) to accept the provider's
/// ID tokens as bearer tokens as well.
///
/// ```no_run
/// # extern crate jwt_router_runtime as jwt_router;
/// # use jwt_router::{AuthError, Entity, Exchange, Provider, StoreError, Tokens};
/// # #[derive(Clone)] struct Db;
/// # struct User { id: i64 }
/// # impl Entity for User { const TABLE_NAME: &'static str = "users"; type Id = i64;
/// #   type Store = Db; fn id(&self) -> i64 { self.id }
/// #   async fn load(_: &Db, _: &i64) -> Result<Option<Self>, StoreError> { Ok(None) } }
/// # async fn run(tokens: Tokens, db: Db, code: &str, verifier: &str) -> Result<(), Box<dyn std::error::Error>> {
/// let google = Provider::google("client-id", "client-secret")
///     .redirect_uri("https://app.example.com/signed-in")
///     .discover()
///     .await?;
/// // In a #[public] handler, with the code the browser brought back:
/// let signed_in = google
///     .sign_in_or_create::<User, _, _>(
///         &tokens,
///         &db,
///         Exchange::code(code).code_verifier(verifier),
///         |claims| async move { Ok(User { id: 1 }) }, // insert a user with claims.email
///     )
///     .await?;
/// println!("{} signed in; their token: {}", signed_in.entity.id, signed_in.token);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Provider {
    inner: Arc<Inner>,
}

struct Inner {
    issuer: Issuer,
    client_secret: String,
    authorization_endpoint: Url,
    token_endpoint: Url,
    redirect_uri: Option<String>,
    client_auth: ClientAuth,
    hosted_domain: Option<String>,
    scopes: String,
}

/// A provider's configuration; finish with [`discover`](Self::discover).
pub struct ProviderBuilder {
    issuer: IssuerBuilder,
    client_secret: String,
    redirect_uri: Option<String>,
    client_auth: ClientAuth,
    hosted_domain: Option<String>,
    scopes: String,
}

/// What one code exchange sends and checks: the code, and what the redirect that produced it
/// used. Build with [`Exchange::code`], or from a [`PendingSignIn`] in the redirect flow.
#[derive(Clone, Copy)]
pub struct Exchange<'a> {
    code: &'a str,
    redirect_uri: Option<&'a str>,
    code_verifier: Option<&'a str>,
    nonce: Option<&'a str>,
}

/// A successful sign-in: the entity, this app's token for it, and the provider's claims.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct SignedIn<E> {
    /// The entity the verified email names.
    pub entity: E,
    /// This app's token for it, minted by [`Tokens::create_token`].
    pub token: String,
    /// The verified claims of the provider's ID token.
    pub claims: IssuerClaims,
    /// Whether the entity was created by this sign-in.
    pub created: bool,
}

/// The token endpoint's answer (RFC 6749 §5.1, OpenID Connect Core §3.1.3.3): only the ID
/// token is used.
#[derive(Deserialize)]
struct TokenAnswer {
    id_token: Option<String>,
}

/// The token endpoint's refusal (RFC 6749 §5.2).
#[derive(Deserialize)]
struct TokenRefusal {
    error: String,
    error_description: Option<String>,
}

impl Provider {
    /// Google, with the client id and secret of an OAuth client from the Google Cloud console.
    /// Google's ID tokens spell their `iss` `https://accounts.google.com` or
    /// `accounts.google.com`; both are accepted.
    pub fn google(
        client_id: impl Into<String>,
        client_secret: impl Into<String>,
    ) -> ProviderBuilder {
        Self::builder(GOOGLE_ISSUER, client_id, client_secret)
    }

    /// Any OpenID Connect provider by its issuer URL (discovery is read from
    /// `{issuer}/.well-known/openid-configuration`).
    pub fn builder(
        issuer: impl Into<String>,
        client_id: impl Into<String>,
        client_secret: impl Into<String>,
    ) -> ProviderBuilder {
        ProviderBuilder {
            issuer: Issuer::builder(issuer, client_id),
            client_secret: client_secret.into(),
            redirect_uri: None,
            client_auth: ClientAuth::default(),
            hosted_domain: None,
            scopes: "openid email".to_owned(),
        }
    }

    /// The provider as an issuer, whose audience is the client id.
    pub fn issuer(&self) -> &Issuer {
        &self.inner.issuer
    }

    /// The client id.
    pub fn client_id(&self) -> &str {
        self.inner.issuer.audience()
    }

    /// Starts the redirect flow: the URL to send the browser to, with a fresh `state`, `nonce`
    /// and PKCE (S256) challenge, and what the callback needs to check them, which the app keeps
    /// with the browser's session. `redirect_uri` overrides the configured one.
    pub fn authorize(&self, redirect_uri: Option<&str>) -> Result<Authorization, AuthError> {
        let inner = &*self.inner;
        let redirect_uri = self.redirect_uri(redirect_uri)?;
        flow::authorize(
            &inner.authorization_endpoint,
            self.client_id(),
            redirect_uri,
            &inner.scopes,
            inner.hosted_domain.as_deref(),
        )
    }

    /// Exchanges a code at the token endpoint and verifies the ID token locally: signature
    /// by the cached key set, `iss`, `aud`, `azp`, `exp`, `nbf`, `iat`, the `nonce` when the
    /// exchange names one, a verified email, and the hosted domain when one is required.
    ///
    /// Refusals: [`AuthError::CodeRefused`] when the provider refuses the code (a PKCE or
    /// redirect URI mismatch included), the token's own checks' errors,
    /// [`AuthError::ProviderUnavailable`] when the provider can't be reached or answers
    /// nonsense.
    pub async fn exchange(&self, exchange: Exchange<'_>) -> Result<IssuerClaims, AuthError> {
        let inner = &*self.inner;
        let id_token = self.id_token(exchange).await?;
        let claims = inner.issuer.verify(&id_token).await?;
        if let Some(nonce) = exchange.nonce
            && !claims
                .nonce
                .as_deref()
                .is_some_and(|sent| crate::token::same_secret(sent, nonce))
        {
            return Err(AuthError::NonceMismatch);
        }
        claims.verified_email()?;
        if let Some(domain) = &inner.hosted_domain
            && claims.raw.get("hd").and_then(|hd| hd.as_str()) != Some(domain.as_str())
        {
            return Err(AuthError::WrongHostedDomain);
        }
        Ok(claims)
    }

    /// Signs in an existing entity: [`exchange`](Self::exchange), then the entity found by the
    /// verified email with [`Entity::load_by_claim`] (`"email"`; compare case-insensitively),
    /// and a token minted for it. No such entity is [`AuthError::EntityNotFound`].
    pub async fn sign_in<E: Entity>(
        &self,
        tokens: &Tokens,
        store: &E::Store,
        exchange: Exchange<'_>,
    ) -> Result<SignedIn<E>, AuthError> {
        type NoCreation<E> = fn(IssuerClaims) -> std::future::Ready<Result<E, StoreError>>;
        self.sign_in_with(tokens, store, exchange, None::<NoCreation<E>>)
            .await
    }

    /// Like [`sign_in`](Self::sign_in), but a first sign-in creates the entity with `create`,
    /// given the verified claims (the email by [`IssuerClaims::verified_email`]). `create` must
    /// cope with a concurrent first sign-in of the same email (e.g. insert or fetch).
    pub async fn sign_in_or_create<E, F, Fut>(
        &self,
        tokens: &Tokens,
        store: &E::Store,
        exchange: Exchange<'_>,
        create: F,
    ) -> Result<SignedIn<E>, AuthError>
    where
        E: Entity,
        F: FnOnce(IssuerClaims) -> Fut,
        Fut: Future<Output = Result<E, StoreError>>,
    {
        self.sign_in_with(tokens, store, exchange, Some(create))
            .await
    }

    async fn sign_in_with<E, F, Fut>(
        &self,
        tokens: &Tokens,
        store: &E::Store,
        exchange: Exchange<'_>,
        create: Option<F>,
    ) -> Result<SignedIn<E>, AuthError>
    where
        E: Entity,
        F: FnOnce(IssuerClaims) -> Fut,
        Fut: Future<Output = Result<E, StoreError>>,
    {
        let claims = self.exchange(exchange).await?;
        let found = E::load_by_claim(store, "email", claims.verified_email()?)
            .await
            .map_err(store_failed)?;
        let (entity, created) = match (found, create) {
            (Some(entity), _) => (entity, false),
            (None, Some(create)) => (create(claims.clone()).await.map_err(store_failed)?, true),
            (None, None) => return Err(AuthError::EntityNotFound),
        };
        if !entity.is_active() {
            return Err(AuthError::AccountDisabled);
        }
        let token = tokens.create_token::<E>(&entity.id())?;
        Ok(SignedIn {
            entity,
            token,
            claims,
            created,
        })
    }

    fn redirect_uri<'a>(&'a self, given: Option<&'a str>) -> Result<&'a str, AuthError> {
        given
            .or(self.inner.redirect_uri.as_deref())
            .ok_or(AuthError::Misconfigured(
                "no redirect URI: set ProviderBuilder::redirect_uri or pass one per call",
            ))
    }

    /// The ID token the token endpoint answers for `exchange`.
    async fn id_token(&self, exchange: Exchange<'_>) -> Result<String, AuthError> {
        let inner = &*self.inner;
        let mut form = vec![
            ("grant_type", "authorization_code"),
            ("code", exchange.code),
            ("redirect_uri", self.redirect_uri(exchange.redirect_uri)?),
        ];
        if let Some(verifier) = exchange.code_verifier {
            form.push(("code_verifier", verifier));
        }
        let authorization = match inner.client_auth {
            ClientAuth::Post => {
                form.push(("client_id", self.client_id()));
                form.push(("client_secret", &inner.client_secret));
                None
            }
            ClientAuth::Basic => Some(basic(self.client_id(), &inner.client_secret)?),
        };
        let unavailable = |reason: &dyn fmt::Display| {
            tracing::warn!(issuer = %inner.issuer.issuer(), %reason, "jwt-router: sign-in: token endpoint failed");
            AuthError::ProviderUnavailable
        };
        let (status, body) = inner
            .issuer
            .http()
            .post_form(&inner.token_endpoint, &form, authorization)
            .await
            .map_err(|err| unavailable(&err))?;
        match status {
            200 => match serde_json::from_slice::<TokenAnswer>(&body) {
                Ok(TokenAnswer {
                    id_token: Some(id_token),
                }) => Ok(id_token),
                Ok(_) => Err(unavailable(
                    &"no `id_token` in the answer (is `openid` a scope?)",
                )),
                Err(err) => Err(unavailable(&err)),
            },
            400 | 401 => {
                let refusal = serde_json::from_slice::<TokenRefusal>(&body).ok();
                let error = refusal.as_ref().map_or("", |r| r.error.as_str());
                let description = refusal
                    .as_ref()
                    .and_then(|r| r.error_description.as_deref());
                if matches!(error, "invalid_client" | "unauthorized_client") {
                    // This server's credentials, not the user's code: worth an operator's eye.
                    tracing::error!(issuer = %inner.issuer.issuer(), error, description, "jwt-router: sign-in: the provider refused this client");
                } else {
                    tracing::info!(issuer = %inner.issuer.issuer(), error, description, "jwt-router: sign-in: the provider refused the code");
                }
                Err(AuthError::CodeRefused)
            }
            status => Err(unavailable(&format_args!("status {status}"))),
        }
    }
}

/// `Basic base64(urlencode(id):urlencode(secret))`, as RFC 6749 §2.3.1 asks.
fn basic(id: &str, secret: &str) -> Result<HeaderValue, AuthError> {
    let encode = |text: &str| form_urlencoded::byte_serialize(text.as_bytes()).collect::<String>();
    let credentials = STANDARD.encode(format!("{}:{}", encode(id), encode(secret)));
    HeaderValue::try_from(format!("Basic {credentials}"))
        .map_err(|_| AuthError::Misconfigured("the client credentials can't form a header"))
}

fn store_failed(err: StoreError) -> AuthError {
    tracing::warn!(error = %err, "jwt-router: sign-in: the entity store failed");
    AuthError::StoreUnavailable
}

impl ProviderBuilder {
    /// The redirect URI registered with the provider, used when a call names none.
    pub fn redirect_uri(mut self, uri: impl Into<String>) -> Self {
        self.redirect_uri = Some(uri.into());
        self
    }

    /// How the client authenticates at the token endpoint (default [`ClientAuth::Post`]).
    pub fn client_auth(mut self, auth: ClientAuth) -> Self {
        self.client_auth = auth;
        self
    }

    /// Only accounts of this hosted domain (Google Workspace's `hd` claim) may sign in; the
    /// authorization URL asks the provider for it too.
    pub fn hosted_domain(mut self, domain: impl Into<String>) -> Self {
        self.hosted_domain = Some(domain.into());
        self
    }

    /// The scopes requested in the redirect flow (default `openid email`; `openid` is needed
    /// for an ID token, `email` for the email).
    pub fn scopes(mut self, scopes: impl Into<String>) -> Self {
        self.scopes = scopes.into();
        self
    }

    /// The issuer's own options: timeouts, body cap, key refresh, leeway.
    pub fn issuer_options(mut self, options: impl FnOnce(IssuerBuilder) -> IssuerBuilder) -> Self {
        self.issuer = options(self.issuer);
        self
    }

    /// Discovers the provider (see [`IssuerBuilder::discover`]); a discovery document without
    /// an authorization or token endpoint is [`IssuerError::MissingEndpoint`].
    pub async fn discover(self) -> Result<Provider, IssuerError> {
        let issuer = self.issuer.discover().await?;
        let endpoints = issuer.endpoints();
        let token_endpoint = endpoints
            .token
            .clone()
            .ok_or(IssuerError::MissingEndpoint {
                field: "token_endpoint",
            })?;
        let authorization_endpoint =
            endpoints
                .authorization
                .clone()
                .ok_or(IssuerError::MissingEndpoint {
                    field: "authorization_endpoint",
                })?;
        Ok(Provider {
            inner: Arc::new(Inner {
                issuer,
                client_secret: self.client_secret,
                authorization_endpoint,
                token_endpoint,
                redirect_uri: self.redirect_uri,
                client_auth: self.client_auth,
                hosted_domain: self.hosted_domain,
                scopes: self.scopes,
            }),
        })
    }
}

impl<'a> Exchange<'a> {
    /// The authorization code the provider redirected back with.
    pub fn code(code: &'a str) -> Self {
        Self {
            code,
            redirect_uri: None,
            code_verifier: None,
            nonce: None,
        }
    }

    /// The redirect URI the authorization request used, if not the provider's configured one.
    pub fn redirect_uri(mut self, uri: &'a str) -> Self {
        self.redirect_uri = Some(uri);
        self
    }

    /// The PKCE verifier whose challenge the authorization request carried.
    pub fn code_verifier(mut self, verifier: &'a str) -> Self {
        self.code_verifier = Some(verifier);
        self
    }

    /// The `nonce` the authorization request carried; the ID token must repeat it.
    pub fn nonce(mut self, nonce: &'a str) -> Self {
        self.nonce = Some(nonce);
        self
    }
}

impl fmt::Debug for Exchange<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The code and verifier are one-time secrets: kept out of logs.
        f.debug_struct("Exchange")
            .field("redirect_uri", &self.redirect_uri)
            .field("code_verifier", &self.code_verifier.map(|_| "<redacted>"))
            .field("nonce", &self.nonce)
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for Provider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = &*self.inner;
        f.debug_struct("Provider")
            .field("issuer", &inner.issuer)
            .field("token_endpoint", &inner.token_endpoint.as_str())
            .field("redirect_uri", &inner.redirect_uri)
            .field("client_auth", &inner.client_auth)
            .field("hosted_domain", &inner.hosted_domain)
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for ProviderBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProviderBuilder")
            .field("issuer", &self.issuer)
            .field("redirect_uri", &self.redirect_uri)
            .field("client_auth", &self.client_auth)
            .field("hosted_domain", &self.hosted_domain)
            .field("scopes", &self.scopes)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_credentials_are_form_encoded_first() {
        // RFC 6749 §2.3.1: "a:b" as an id would otherwise split at the wrong colon.
        let header = basic("id:1", "s ecret/+").expect("header");
        let encoded = header.to_str().expect("ascii").trim_start_matches("Basic ");
        let decoded = STANDARD.decode(encoded).expect("base64");
        assert_eq!(decoded, b"id%3A1:s+ecret%2F%2B");
    }

    #[test]
    fn debug_never_shows_the_code_or_verifier() {
        let shown = format!(
            "{:?}",
            Exchange::code("the-code").code_verifier("the-verifier")
        );
        assert!(
            !shown.contains("the-code") && !shown.contains("the-verifier"),
            "{shown}"
        );
    }
}
