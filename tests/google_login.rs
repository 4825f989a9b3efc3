//! The google_login example, driven as a browser drives it, over real HTTP on 127.0.0.1: its
//! page, the button to the (fake) provider, the provider's form, the callback, and this app's
//! token on an authed route. Then the attacks on the callback: no cookie, a replayed callback,
//! a forged `state`, another browser's callback (login CSRF), a cookie planted without the
//! `__Host-` prefix over HTTPS, a user declining at the provider, an error link without the
//! state, and markup in an email.

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
    /// Whether the app believes it is served over HTTPS (the transport stays plain HTTP).
    https: bool,
}

async fn start() -> Running {
    start_with(false).await
}

async fn start_with(https: bool) -> Running {
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
        https,
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
        https,
    }
}

/// Where a browser is between the provider and the callback.
struct AtCallback {
    /// The pending sign-in's cookie, as `name=value`.
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
        self.at_provider(Some(email)).await
    }

    /// Clicks the button, and presses Cancel on the provider's form.
    async fn cancelling_at_provider(&self) -> AtCallback {
        self.at_provider(None).await
    }

    async fn at_provider(&self, email: Option<&str>) -> AtCallback {
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
        let attributes: Vec<&str> = set_cookie.split("; ").skip(1).collect();
        let expected = if self.https {
            [
                "Path=/",
                "Secure",
                "HttpOnly",
                "SameSite=Lax",
                "Max-Age=600",
            ]
            .as_slice()
        } else {
            ["Path=/callback", "HttpOnly", "SameSite=Lax", "Max-Age=600"].as_slice()
        };
        assert_eq!(attributes, expected);
        let name = if self.https {
            "__Host-signin="
        } else {
            "signin="
        };
        assert!(set_cookie.starts_with(name), "{set_cookie}");
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

        // The provider's form, submitted with the email typed in (or cancelled).
        let form = self.get(authorize, None).await;
        assert_eq!(form.status(), StatusCode::OK);
        let form = form.text().await.expect("form");
        let submitted = match email {
            Some(email) => submission(&form, self.provider.issuer(), email, None),
            None => submission(&form, self.provider.issuer(), "", Some(("deny", "1"))),
        };
        let back = self.get(&submitted, None).await;
        assert_eq!(back.status(), StatusCode::SEE_OTHER);
        let callback = back.headers()[LOCATION].to_str().expect("location");
        assert!(callback.starts_with(&format!("{}/callback?", self.base)));
        AtCallback {
            cookie,
            callback: callback.to_owned(),
        }
    }
}

/// The URL a browser loads on submitting the provider's GET form at `origin`: the form's
/// action, then each input's name and value in document order (`login_hint` as typed), then
/// the pressed button's name and value when it has one.
fn submission(form: &str, origin: &str, typed: &str, button: Option<(&str, &str)>) -> String {
    let attribute = |tag: &str, name: &str| {
        let start = tag.find(&format!(r#" {name}=""#))? + name.len() + 3;
        let value = &tag[start..];
        Some(unescape(&value[..value.find('"')?]))
    };
    let tag_of = |start: usize| &form[start..start + form[start..].find('>').expect("tag end")];
    let action =
        attribute(tag_of(form.find("<form ").expect("a form")), "action").expect("an action");
    let mut url = reqwest::Url::parse(&format!("{origin}{action}")).expect("URL");
    url.set_query(None);
    {
        let mut query = url.query_pairs_mut();
        for (start, _) in form.match_indices("<input ") {
            let tag = tag_of(start);
            let name = attribute(tag, "name").expect("a named input");
            let value = match attribute(tag, "type").as_deref() {
                Some("hidden") => attribute(tag, "value").expect("a value"),
                _ => typed.to_owned(),
            };
            query.append_pair(&name, &value);
        }
        if let Some((name, value)) = button {
            query.append_pair(name, value);
        }
    }
    url.into()
}

/// HTML text back to what it stands for (the entities the fake provider writes).
fn unescape(text: &str) -> String {
    text.replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
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

/// Over HTTPS the cookie is `__Host-signin`, which browsers take only from this origin. An
/// attacker on a sibling subdomain can still plant a plain `signin` cookie naming their own
/// pending sign-in (cookie tossing) and send the victim to their callback: it counts for
/// nothing.
#[tokio::test]
async fn over_https_a_planted_cookie_without_the_host_prefix_is_ignored() {
    let app = start_with(true).await;
    let attacker = app.through_provider("mallory@example.com").await;
    let state = attacker
        .cookie
        .strip_prefix("__Host-signin=")
        .expect("a __Host- cookie");
    let planted = app
        .get(&attacker.callback, Some(&format!("signin={state}")))
        .await;
    assert_eq!(planted.status(), StatusCode::BAD_REQUEST);
    assert!(!planted.text().await.expect("page").contains("mallory"));
    assert_eq!(app.provider.requests().token, 0);

    let signed_in = app.get(&attacker.callback, Some(&attacker.cookie)).await;
    assert_eq!(signed_in.status(), StatusCode::OK);
    assert_eq!(
        signed_in.headers()[SET_COOKIE],
        "__Host-signin=; Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age=0"
    );
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

/// The user presses Cancel at the provider, which sends the browser back with
/// `error=access_denied` and no code.
#[tokio::test]
async fn declining_at_the_provider_is_a_page_not_an_exchange() {
    let app = start().await;
    let at = app.cancelling_at_provider().await;
    let query: Vec<(String, String)> = reqwest::Url::parse(&at.callback)
        .expect("URL")
        .query_pairs()
        .map(|(name, value)| (name.into_owned(), value.into_owned()))
        .collect();
    let names: Vec<&str> = query.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(names, ["error", "state"], "{}", at.callback);
    assert_eq!(query[0].1, "access_denied");
    let denied = app.get(&at.callback, Some(&at.cookie)).await;
    assert_eq!(denied.status(), StatusCode::UNAUTHORIZED);
    let page = denied.text().await.expect("page");
    assert!(
        page.contains("The provider did not sign you in (access_denied)."),
        "{page}"
    );
    assert!(page.contains(r#"href="/login">Start again"#), "{page}");
    let again = app.get(&at.callback, Some(&at.cookie)).await;
    assert_eq!(again.status(), StatusCode::BAD_REQUEST, "spent already");
    assert_eq!(app.provider.requests().token, 0);
}

/// A link to the callback with an `error` but not this sign-in's `state` is not the provider's
/// answer: its text (anyone's words, on this app's page) is not shown.
#[tokio::test]
async fn an_error_without_the_state_is_refused_and_not_shown() {
    let app = start().await;
    for forged in ["", "&state=forged"] {
        let at = app.through_provider("ada@example.com").await;
        let link = format!(
            "{}/callback?error=Your+account+is+locked%2C+call+555-0100{forged}",
            app.base
        );
        let refused = app.get(&link, Some(&at.cookie)).await;
        assert_eq!(refused.status(), StatusCode::UNAUTHORIZED, "{link}");
        let page = refused.text().await.expect("page");
        assert!(page.contains("state_mismatch"), "{page}");
        assert!(!page.contains("555"), "{page}");
    }
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
