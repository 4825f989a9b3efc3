//! HTTP to the provider: https only (http to loopback), no redirects, timeouts, capped bodies.
//! Key sets and discovery are GETs; sign-in POSTs the code to the token endpoint.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use http::HeaderValue;
use http::header::{ACCEPT, AUTHORIZATION, CACHE_CONTROL, CONTENT_TYPE, HeaderMap};
use reqwest::redirect::Policy;
use rustls_platform_verifier::BuilderVerifierExt;
use url::{Host, Url};

use super::IssuerError;

/// An issuer's or key set's URL, refused unless https, or http to a loopback address (tests
/// and local providers: nothing on the path can read or change the traffic).
pub(super) fn checked_url(raw: &str) -> Result<Url, IssuerError> {
    let invalid = |reason| IssuerError::InvalidUrl {
        url: raw.to_owned(),
        reason,
    };
    let url = Url::parse(raw).map_err(|_| invalid("not an absolute URL"))?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(invalid("credentials in a URL end up in logs"));
    }
    if url.fragment().is_some() {
        return Err(invalid("a fragment is never sent"));
    }
    let loopback = match url.host() {
        Some(Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        Some(Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        None => return Err(invalid("no host")),
    };
    match url.scheme() {
        "https" => Ok(url),
        "http" if loopback => Ok(url),
        _ => Err(IssuerError::NotHttps {
            url: raw.to_owned(),
        }),
    }
}

/// A body and how long the server says it may be cached.
pub(super) struct Fetched {
    pub(super) body: Vec<u8>,
    pub(super) max_age: Option<Duration>,
}

/// The client every request of one issuer goes through.
pub(crate) struct Http {
    client: reqwest::Client,
    max_body: usize,
}

impl Http {
    pub(super) fn new(
        connect_timeout: Duration,
        timeout: Duration,
        max_body: usize,
    ) -> Result<Self, IssuerError> {
        // Our own TLS config with the ring provider: reqwest would otherwise need a
        // process-wide default provider installed, which is the application's choice.
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .and_then(|builder| builder.with_platform_verifier())
            .map_err(|err| IssuerError::Client(err.into()))?
            .with_no_client_auth();
        let client = reqwest::Client::builder()
            .tls_backend_preconfigured(tls)
            // A redirect could lead a key fetch anywhere, http included: refused instead.
            .redirect(Policy::none())
            .connect_timeout(connect_timeout)
            .timeout(timeout)
            .user_agent(concat!("jwt-router/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|err| IssuerError::Client(err.into()))?;
        Ok(Self { client, max_body })
    }

    /// GETs `url`; anything but `200 OK` is an error.
    pub(super) async fn get(&self, url: &Url) -> Result<Fetched, IssuerError> {
        let response = self
            .client
            .get(url.clone())
            .header(ACCEPT, "application/json")
            .send()
            .await
            .map_err(|err| failed(url, err))?;
        if response.status() != reqwest::StatusCode::OK {
            return Err(IssuerError::Status {
                url: url.to_string(),
                status: response.status().as_u16(),
            });
        }
        let max_age = max_age(response.headers());
        let body = self.read(url, response).await?;
        Ok(Fetched { body, max_age })
    }

    /// POSTs `form` (`application/x-www-form-urlencoded`) to `url`, with `authorization` as
    /// that header if given; answers the status and the body, whatever the status, since an
    /// OAuth error answer carries its reason in the body.
    pub(crate) async fn post_form(
        &self,
        url: &Url,
        form: &[(&str, &str)],
        authorization: Option<HeaderValue>,
    ) -> Result<(u16, Vec<u8>), IssuerError> {
        let body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form)
            .finish();
        let mut request = self
            .client
            .post(url.clone())
            .header(ACCEPT, "application/json")
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(body);
        if let Some(authorization) = authorization {
            request = request.header(AUTHORIZATION, authorization);
        }
        let response = request.send().await.map_err(|err| failed(url, err))?;
        let status = response.status().as_u16();
        Ok((status, self.read(url, response).await?))
    }

    /// The body, read chunk by chunk so an oversized one is never held whole.
    async fn read(
        &self,
        url: &Url,
        mut response: reqwest::Response,
    ) -> Result<Vec<u8>, IssuerError> {
        let too_large = || IssuerError::TooLarge {
            url: url.to_string(),
            limit: self.max_body,
        };
        if response
            .content_length()
            .is_some_and(|length| length > self.max_body as u64)
        {
            return Err(too_large());
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|err| failed(url, err))? {
            if body.len() + chunk.len() > self.max_body {
                return Err(too_large());
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }
}

fn failed(url: &Url, err: reqwest::Error) -> IssuerError {
    if err.is_timeout() {
        IssuerError::TimedOut {
            url: url.to_string(),
        }
    } else {
        IssuerError::Unreachable {
            url: url.to_string(),
            source: err,
        }
    }
}

/// `Cache-Control: max-age`, unless the answer may not be stored at all (`no-store`,
/// `no-cache`): then no hint, and the issuer's default schedule applies.
fn max_age(headers: &HeaderMap) -> Option<Duration> {
    let mut max_age = None;
    for directive in headers
        .get_all(CACHE_CONTROL)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
    {
        let directive = directive.trim();
        if directive.eq_ignore_ascii_case("no-store") || directive.eq_ignore_ascii_case("no-cache")
        {
            return None;
        }
        if let Some((name, seconds)) = directive.split_once('=')
            && name.trim().eq_ignore_ascii_case("max-age")
            && let Ok(seconds) = seconds.trim().trim_matches('"').parse()
        {
            max_age = Some(Duration::from_secs(seconds));
        }
    }
    max_age
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cache_control(values: &[&str]) -> Option<Duration> {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append(CACHE_CONTROL, value.parse().expect("header value"));
        }
        max_age(&headers)
    }

    #[test]
    fn max_age_is_read_from_any_directive_position() {
        assert_eq!(cache_control(&[]), None);
        assert_eq!(
            cache_control(&["public, max-age=21600, must-revalidate"]),
            Some(Duration::from_secs(21600))
        );
        assert_eq!(
            cache_control(&["public", "Max-Age = 60"]),
            Some(Duration::from_secs(60))
        );
        assert_eq!(cache_control(&["max-age=soon"]), None);
        assert_eq!(cache_control(&["max-age=60, no-store"]), None);
    }

    #[test]
    fn only_https_or_loopback_http_is_accepted() {
        for ok in [
            "https://accounts.google.com",
            "http://127.0.0.1:8080/realms/a",
            "http://127.8.9.10/",
            "http://[::1]:9000",
            "http://LOCALHOST:1",
        ] {
            assert!(checked_url(ok).is_ok(), "{ok}");
        }
        for not_https in [
            "http://accounts.google.com",
            "http://10.0.0.1",
            "http://localhost.evil.example",
            "http://[::2]",
            "ftp://127.0.0.1",
        ] {
            assert!(
                matches!(checked_url(not_https), Err(IssuerError::NotHttps { .. })),
                "{not_https}"
            );
        }
        for invalid in [
            "accounts.google.com",
            "https://user:pw@example.com",
            "https://example.com/#x",
        ] {
            assert!(
                matches!(checked_url(invalid), Err(IssuerError::InvalidUrl { .. })),
                "{invalid}"
            );
        }
    }
}
