//! What the parse step produces: the attribute's arguments ([`Args`]) and the annotated
//! function ([`Handler`]), as written. Nothing here is checked against anything else; that is
//! `valid`'s job.

use proc_macro2::{Delimiter, Group, Ident, Span, TokenStream};
use quote::{ToTokens, TokenStreamExt};
use syn::parse::{Parse, ParseStream};
use syn::{Attribute, LitStr, Signature, Type, Visibility};

/// Which macro is expanding.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Policy {
    Public,
    Ignored,
    Authed,
}

impl Policy {
    /// The attribute's name.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Public => "public",
            Self::Ignored => "ignored",
            Self::Authed => "authed",
        }
    }

    /// The runtime's `Policy` variant.
    pub(crate) fn variant(self) -> Ident {
        Ident::new(&capitalized(self.name()), Span::call_site())
    }

    /// Where the route is mounted: API routes under the prefix, ignored ones at the root.
    pub(crate) fn mounted(self) -> &'static str {
        match self {
            Self::Public | Self::Authed => "under the API prefix",
            Self::Ignored => "at the root",
        }
    }

    /// The named arguments the attribute takes.
    pub(crate) fn keys(self) -> &'static [&'static str] {
        match self {
            Self::Authed => &["entity", "roles", "scopes", "state"],
            Self::Public | Self::Ignored => &["state"],
        }
    }

    pub(crate) fn keys_help(self) -> &'static str {
        match self {
            Self::Authed => {
                "`roles = [\"role\"]`, `scopes = [\"scope\"]`, `entity = \"table\"` and \
                 `state = Type`, and the flag `fresh`"
            }
            Self::Public | Self::Ignored => "`state = Type`",
        }
    }
}

/// The HTTP methods a route can declare, as written in the attribute: the one list the
/// parser, the messages and the runtime variants are derived from.
pub(crate) const METHODS: [&str; 7] = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"];

/// One of [`METHODS`].
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct Method(&'static str);

impl Method {
    pub(crate) fn from_name(name: &str) -> Option<Self> {
        METHODS.into_iter().find(|method| *method == name).map(Self)
    }

    /// As written in the attribute: `GET`.
    pub(crate) fn as_str(self) -> &'static str {
        self.0
    }

    /// The runtime's `Method` variant: `Get`.
    pub(crate) fn variant(self) -> Ident {
        Ident::new(&capitalized(self.0), Span::call_site())
    }

    /// "GET, POST, ... or OPTIONS", for messages.
    pub(crate) fn help() -> String {
        let (last, rest) = METHODS.split_last().expect("METHODS is not empty");
        format!("{} or {last}", rest.join(", "))
    }
}

/// `GET` -> `Get`, `public` -> `Public`.
fn capitalized(name: &str) -> String {
    let lower = name.to_ascii_lowercase();
    let mut chars = lower.chars();
    chars
        .next()
        .map(|first| first.to_ascii_uppercase().to_string() + chars.as_str())
        .unwrap_or_default()
}

/// A declared route.
pub(crate) struct Route {
    pub(crate) method: Method,
    pub(crate) path: LitStr,
}

/// The attribute's arguments. Each field is `None` when absent or when its error is already
/// recorded, so validation can go on and report everything else.
pub(crate) struct Args {
    pub(crate) route: Option<Route>,
    pub(crate) entity: Option<LitStr>,
    pub(crate) state: Option<Type>,
    pub(crate) roles: Option<Grant>,
    pub(crate) scopes: Option<Grant>,
    /// The `fresh` flag: only a token minted by a login, not by a refresh.
    pub(crate) fresh: Option<Ident>,
}

/// `roles = ["a", "b"]` or `scopes = [..]`: the key, for errors, and the names, each checked
/// to be a non-empty RFC 6749 §3.3 scope token, listed once.
pub(crate) struct Grant {
    pub(crate) key: Ident,
    pub(crate) names: Vec<LitStr>,
}

/// The annotated function; its body stays unparsed tokens.
pub(crate) struct Handler {
    pub(crate) attrs: Vec<Attribute>,
    pub(crate) vis: Visibility,
    pub(crate) sig: Signature,
    pub(crate) body: Group,
}

impl Parse for Handler {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let attrs = input.call(Attribute::parse_outer)?;
        let vis = input.parse()?;
        let sig = input.parse()?;
        let body: Group = input.parse()?;
        if body.delimiter() != Delimiter::Brace {
            return Err(syn::Error::new(body.span(), "expected the function's body"));
        }
        Ok(Self {
            attrs,
            vis,
            sig,
            body,
        })
    }
}

/// The function as written.
impl ToTokens for Handler {
    fn to_tokens(&self, tokens: &mut TokenStream) {
        tokens.append_all(&self.attrs);
        self.vis.to_tokens(tokens);
        self.sig.to_tokens(tokens);
        self.body.to_tokens(tokens);
    }
}

impl Handler {
    /// Parses the annotated item; anything but a function is refused here.
    pub(crate) fn parse(policy: Policy, item: TokenStream) -> syn::Result<Self> {
        syn::parse2(item).map_err(|error| {
            syn::Error::new(
                error.span(),
                format!(
                    "`#[{}]` goes on an `async fn` handler ({error})",
                    policy.name()
                ),
            )
        })
    }

    /// The `#[cfg(..)]` attributes: every generated item shares the handler's configuration.
    pub(crate) fn cfgs(&self) -> impl Iterator<Item = &Attribute> {
        self.attrs.iter().filter(|attr| attr.path().is_ident("cfg"))
    }

    /// Attributes for the renamed function that holds the body: `cfg`s and lint levels.
    pub(crate) fn body_attrs(&self) -> impl Iterator<Item = &Attribute> {
        self.attrs.iter().filter(|attr| {
            ["cfg", "allow", "expect", "warn", "deny", "forbid"]
                .iter()
                .any(|name| attr.path().is_ident(name))
        })
    }

    /// Attributes for the mountable wrapper: all of the user's but `#[expect(..)]`, which the
    /// wrapper's generated body would leave unfulfilled.
    pub(crate) fn wrapper_attrs(&self) -> impl Iterator<Item = &Attribute> {
        self.attrs
            .iter()
            .filter(|attr| !attr.path().is_ident("expect"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variants_are_the_runtime_spellings() {
        let variants: Vec<String> = METHODS
            .iter()
            .map(|name| {
                Method::from_name(name)
                    .expect("listed")
                    .variant()
                    .to_string()
            })
            .collect();
        assert_eq!(
            variants,
            ["Get", "Post", "Put", "Patch", "Delete", "Head", "Options"]
        );
        assert_eq!(Policy::Ignored.variant().to_string(), "Ignored");
        assert_eq!(
            Method::help(),
            "GET, POST, PUT, PATCH, DELETE, HEAD or OPTIONS"
        );
        assert_eq!(Method::from_name("get"), None);
    }
}
