//! The google_login example, driven as a browser drives it, over real HTTP on 127.0.0.1: its
//! page, the button to the (fake) provider, the provider's form, the callback, and this app's
//! token on an authed route. Then the attacks on the callback: no cookie, a replayed callback,
//! a forged `state`, another browser's callback (login CSRF), a provider's error, and markup
//! in an email.

#[allow(dead_code)]
#[path = "../examples/google_login/app.rs"]
mod app;

use jwt_router::Provider;
use jwt_router::testing::provider::FakeProvider;
use reqwest::header::{CACHE_CONTROL, COOKIE, LOCATION, SET_COOKIE};
use reqwest::{Client, StatusCode};
use serde_json::Value;
use tokio::net::TcpListener;

const CLIENT_ID: &str = "google-login-test";
const CLIENT_SECRET: &str = "test-secret";

/// The example's app serving on a free port, its fake provider, and a browser that follows no
/// redirect by itself.
struct Running {
    base: String,
    provider: FakeProvider,
    browser: Client,
}

async fn start() -> Running {
    jwt_router::install_default_tls_provider();
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("address"));
    let provider = FakeProvider::start().await.expect("fake provider");
    provider.register_client(CLIENT_ID, CLIENT_SECRET);
    let oidc = Provider::builder(provider.issuer(), CLIENT_ID, CLIENT_SECRET)
        .redirect_uri(format!("{base}/callback"))
        .discover()
        .await
        .expect("discovery");
    let app = app::router(
        oidc,
        "a fake provider",
        b"a test secret of 32 bytes or more",
        false,
    )
    .expect("valid configuration");
    tokio::spawn(async move { axum::serve(listener, app).await });
    let browser = Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    Running {
        base,
        provider,
        browser,
    }
}

/// Where a browser is between the provider and the callback.
struct AtCallback {
    /// The `signin` cookie, as `name=value`.
    cookie: String,
    /// The callback URL the provider redirected to.
    callback: String,
}

impl Running {
    async fn get(&self, url: &str, cookie: Option<&str>) -> reqwest::Response {
        let mut request = self.browser.get(url);
        if let Some(cookie) = cookie {
            request = request.header(COOKIE, cookie);
        }
        request.send().await.expect("an answer")
    }

    /// Clicks the button, and signs in at the provider's form as `email`.
    async fn through_provider(&self, email: &str) -> AtCallback {
        let home = self.get(&format!("{}/", self.base), None).await;
        assert_eq!(home.status(), StatusCode::OK);
        assert!(
            home.text()
                .await
                .expect("page")
                .contains(r#"<a class="button" href="/login">Sign in with Google</a>"#)
        );

        let login = self.get(&format!("{}/login", self.base), None).await;
        assert_eq!(login.status(), StatusCode::FOUND);
        let set_cookie = login.headers()[SET_COOKIE].to_str().expect("cookie");
        for attribute in ["HttpOnly", "SameSite=Lax", "Path=/callback", "Max-Age=600"] {
            assert!(set_cookie.contains(attribute), "{set_cookie}");
        }
        assert!(
            !set_cookie.contains("Secure"),
            "plain http here: {set_cookie}"
        );
        let cookie = set_cookie.split(';').next().expect("name=value").to_owned();
        let authorize = login.headers()[LOCATION].to_str().expect("location");
        assert!(authorize.starts_with(&format!("{}/authorize?", self.provider.issuer())));
        for parameter in [
            "state=",
            "nonce=",
            "code_challenge=",
            "code_challenge_method=S256",
        ] {
            assert!(authorize.contains(parameter), "{authorize}");
        }

        // The provider's form, submitted with the email typed in.
        let form = self.get(authorize, None).await;
        assert_eq!(form.status(), StatusCode::OK);
        assert!(form.text().await.expect("form").contains("login_hint"));
        let mut submitted = reqwest::Url::parse(authorize).expect("URL");
        submitted.query_pairs_mut().append_pair("login_hint", email);
        let back = self.get(submitted.as_str(), None).await;
        assert_eq!(back.status(), StatusCode::SEE_OTHER);
        let callback = back.headers()[LOCATION].to_str().expect("location");
        assert!(callback.starts_with(&format!("{}/callback?code=", self.base)));
        AtCallback {
            cookie,
            callback: callback.to_owned(),
        }
    }
}

/// The text of the element with `id` (no nested elements), HTML entities left as they are.
fn element<'a>(page: &'a str, id: &str) -> &'a str {
    let start = page
        .find(&format!(r#"id="{id}">"#))
        .unwrap_or_else(|| panic!("no #{id} in {page}"));
    let text = &page[start..];
    let text = &text[text.find('>').expect("tag end") + 1..];
    &text[..text.find('<').expect("closing tag")]
}

#[tokio::test]
async fn a_browser_signs_in_and_uses_the_token() {
    let app = start().await;
    let at = app.through_provider("Ada@Example.com").await;
    let signed_in = app.get(&at.callback, Some(&at.cookie)).await;
    assert_eq!(signed_in.status(), StatusCode::OK);
    assert_eq!(signed_in.headers()[CACHE_CONTROL], "no-store");
    let cleared = signed_in.headers()[SET_COOKIE].to_str().expect("cookie");
    assert!(cleared.starts_with("signin=;") && cleared.contains("Max-Age=0"));
    let page = signed_in.text().await.expect("page");
    assert!(page.contains("Welcome,"), "{page}");
    assert_eq!(element(&page, "email"), "ada@example.com");
    let token = element(&page, "token").to_owned();

    let me = app
        .browser
        .get(format!("{}/me", app.base))
        .bearer_auth(&token)
        .send()
        .await
        .expect("an answer");
    assert_eq!(me.status(), StatusCode::OK);
    let me: Value = me.json().await.expect("JSON");
    assert_eq!(
        (&me["id"], &me["email"]),
        (&Value::from(0), &Value::from("ada@example.com"))
    );
    let without = app.get(&format!("{}/me", app.base), None).await;
    assert_eq!(without.status(), StatusCode::UNAUTHORIZED);

    // A second sign-in, in another case, finds the same user.
    let at = app.through_provider("ADA@example.COM").await;
    let page = app
        .get(&at.callback, Some(&at.cookie))
        .await
        .text()
        .await
        .expect("page");
    assert!(page.contains("Welcome back,"), "{page}");
    assert!(page.contains("(user 0)"), "{page}");
    assert_eq!(app.provider.requests().token, 2);
}

#[tokio::test]
async fn a_callback_without_the_browser_cookie_is_refused_before_any_exchange() {
    let app = start().await;
    let at = app.through_provider("ada@example.com").await;
    for cookie in [
        None,
        Some("signin="),
        Some("signin=made-up"),
        Some("other=1"),
    ] {
        let refused = app.get(&at.callback, cookie).await;
        assert_eq!(refused.status(), StatusCode::BAD_REQUEST, "{cookie:?}");
        let page = refused.text().await.expect("page");
        assert!(page.contains("not started in this browser"), "{page}");
    }
    assert_eq!(app.provider.requests().token, 0, "no code was exchanged");
    // The real cookie still works: the attempts spent nothing of it.
    let signed_in = app.get(&at.callback, Some(&at.cookie)).await;
    assert_eq!(signed_in.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_callback_is_answered_once() {
    let app = start().await;
    let at = app.through_provider("ada@example.com").await;
    let first = app.get(&at.callback, Some(&at.cookie)).await;
    assert_eq!(first.status(), StatusCode::OK);
    let replayed = app.get(&at.callback, Some(&at.cookie)).await;
    assert_eq!(replayed.status(), StatusCode::BAD_REQUEST);
    assert!(
        !replayed
            .text()
            .await
            .expect("page")
            .contains("id=\"token\"")
    );
    assert_eq!(app.provider.requests().token, 1);
}

#[tokio::test]
async fn a_forged_state_is_refused_and_spends_the_pending_sign_in() {
    let app = start().await;
    let at = app.through_provider("ada@example.com").await;
    let mut forged = reqwest::Url::parse(&at.callback).expect("URL");
    let pairs: Vec<(String, String)> = forged
        .query_pairs()
        .map(|(name, value)| {
            let value = if name == "state" {
                "forged".to_owned()
            } else {
                value.into_owned()
            };
            (name.into_owned(), value)
        })
        .collect();
    forged.query_pairs_mut().clear().extend_pairs(pairs);
    let refused = app.get(forged.as_str(), Some(&at.cookie)).await;
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    assert!(
        refused
            .text()
            .await
            .expect("page")
            .contains("state_mismatch")
    );
    assert_eq!(app.provider.requests().token, 0);
    let genuine = app.get(&at.callback, Some(&at.cookie)).await;
    assert_eq!(
        genuine.status(),
        StatusCode::BAD_REQUEST,
        "spent by the forgery"
    );
}

/// Login CSRF: an attacker signs in at the provider as themselves and sends a victim's browser
/// to the resulting callback. The victim's own pending sign-in names another `state`.
#[tokio::test]
async fn another_browsers_callback_is_refused() {
    let app = start().await;
    let attacker = app.through_provider("mallory@example.com").await;
    let victim = app.through_provider("ada@example.com").await;
    let refused = app.get(&attacker.callback, Some(&victim.cookie)).await;
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    assert!(!refused.text().await.expect("page").contains("mallory"));
    assert_eq!(app.provider.requests().token, 0);
}

#[tokio::test]
async fn a_provider_error_is_a_page_not_an_exchange() {
    let app = start().await;
    let at = app.through_provider("ada@example.com").await;
    let state = reqwest::Url::parse(&at.callback)
        .expect("URL")
        .query_pairs()
        .find(|(name, _)| name == "state")
        .map(|(_, value)| value.into_owned())
        .expect("state");
    let denied = app
        .get(
            &format!("{}/callback?error=access_denied&state={state}", app.base),
            Some(&at.cookie),
        )
        .await;
    assert_eq!(denied.status(), StatusCode::UNAUTHORIZED);
    assert!(denied.text().await.expect("page").contains("access_denied"));
    let missing = app
        .get(&format!("{}/callback", app.base), Some(&at.cookie))
        .await;
    assert_eq!(missing.status(), StatusCode::BAD_REQUEST, "spent already");
    assert_eq!(app.provider.requests().token, 0);
}

#[tokio::test]
async fn markup_in_an_email_is_shown_as_text() {
    let app = start().await;
    let at = app
        .through_provider("\"<script>alert(1)</script>\"@example.com")
        .await;
    let page = app
        .get(&at.callback, Some(&at.cookie))
        .await
        .text()
        .await
        .expect("page");
    assert!(!page.contains("<script>alert(1)"), "{page}");
    assert!(
        page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "{page}"
    );
}
