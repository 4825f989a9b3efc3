//! Sign in with Google: a page with a button, the full redirect flow with PKCE, state and
//! nonce, and this app's own token afterwards. See the README's "Sign in with Google".
//!
//! Offline, against a fake provider started on 127.0.0.1 (it asks which email signs in):
//!
//! ```text
//! cargo run --example google_login --features testing
//! ```
//!
//! Against Google, with an OAuth client whose authorized redirect URI is
//! `http://localhost:3000/callback`:
//!
//! ```text
//! GOOGLE_CLIENT_ID=... GOOGLE_CLIENT_SECRET=... cargo run --example google_login --features oidc
//! ```
//!
//! Then open <http://localhost:3000/>. `PORT` (default 3000) and `PUBLIC_URL` (default
//! `http://localhost:$PORT`, the address the browser uses, from which the redirect URI is made)
//! move it; `SECRET_KEY` signs this app's tokens (random per run when unset).

mod app;

use std::env;
use std::error::Error;

use jwt_router::Provider;

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    jwt_router::install_default_tls_provider();
    let port: u16 = match env::var("PORT") {
        Ok(port) => port.parse().map_err(|_| "PORT must be a port number")?,
        Err(_) => 3000,
    };
    let public_url = env::var("PUBLIC_URL").unwrap_or_else(|_| format!("http://localhost:{port}"));
    let redirect_uri = format!("{}/callback", public_url.trim_end_matches('/'));
    let secret = match env::var("SECRET_KEY") {
        Ok(secret) => secret.into_bytes(),
        Err(_) => {
            let mut secret = vec![0; 32];
            getrandom::fill(&mut secret).map_err(|err| format!("no random SECRET_KEY: {err}"))?;
            secret
        }
    };

    let (provider, name, _fake) = match (
        env::var("GOOGLE_CLIENT_ID"),
        env::var("GOOGLE_CLIENT_SECRET"),
    ) {
        (Ok(id), Ok(client_secret)) => {
            let google = Provider::google(id, client_secret)
                .redirect_uri(&redirect_uri)
                .discover()
                .await?;
            (google, "Google", None)
        }
        (Err(env::VarError::NotPresent), Err(env::VarError::NotPresent)) => {
            offline(&redirect_uri).await?
        }
        // One of the two alone is a mistake, not a wish to run offline.
        _ => return Err("set both GOOGLE_CLIENT_ID and GOOGLE_CLIENT_SECRET (or neither)".into()),
    };

    let app = app::router(provider, name, &secret, public_url.starts_with("https://"))?;
    println!("{}", app.route_table());
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    println!("signing in with {name}; open {public_url}/");
    axum::serve(listener, app).await?;
    Ok(())
}

/// The fake provider, for a flow with no Google account and no network. It runs as long as
/// the value returned with it lives.
#[cfg(feature = "testing")]
async fn offline(
    redirect_uri: &str,
) -> Result<
    (
        Provider,
        &'static str,
        Option<jwt_router::testing::provider::FakeProvider>,
    ),
    Box<dyn Error>,
> {
    use jwt_router::testing::provider::FakeProvider;

    const CLIENT_ID: &str = "google-login-example";
    const CLIENT_SECRET: &str = "offline-secret";
    println!("GOOGLE_CLIENT_ID/GOOGLE_CLIENT_SECRET unset: starting a fake provider on 127.0.0.1");
    let fake = FakeProvider::start().await?;
    fake.register_client(CLIENT_ID, CLIENT_SECRET);
    let provider = Provider::builder(fake.issuer(), CLIENT_ID, CLIENT_SECRET)
        .redirect_uri(redirect_uri)
        .discover()
        .await?;
    Ok((provider, "a fake provider (offline)", Some(fake)))
}

#[cfg(not(feature = "testing"))]
async fn offline(_: &str) -> Result<(Provider, &'static str, Option<()>), Box<dyn Error>> {
    Err(
        "set GOOGLE_CLIENT_ID and GOOGLE_CLIENT_SECRET, or run offline with the fake \
         provider: cargo run --example google_login --features testing"
            .into(),
    )
}
