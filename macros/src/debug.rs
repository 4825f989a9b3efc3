//! `JWT_ROUTER_MACROS_DEBUG`: print an expansion to stderr at compile time.
//!
//! `JWT_ROUTER_MACROS_DEBUG=1` prints every handler's expansion, `=show,index` only those of
//! the handlers named `show` and `index`. Cargo does not rebuild when only the variable
//! changes: touch the file, or run `cargo expand` for the whole module.

use proc_macro2::{Delimiter, TokenStream, TokenTree};
use syn::Ident;
use syn::ext::IdentExt;

use crate::ast::Policy;

const VAR: &str = "JWT_ROUTER_MACROS_DEBUG";

/// Prints `tokens`, the expansion of `#[policy]` on the handler `name`, if asked to.
pub(crate) fn print(policy: Policy, name: Option<&Ident>, tokens: &TokenStream) {
    let Ok(filter) = std::env::var(VAR) else {
        return;
    };
    let name = name.map(|name| name.unraw().to_string());
    let wanted = match filter.trim() {
        "" | "0" | "false" => false,
        "1" | "true" | "all" | "*" => true,
        names => names
            .split(',')
            .any(|wanted| Some(wanted.trim()) == name.as_deref()),
    };
    if !wanted {
        return;
    }
    let site = proc_macro::Span::call_site();
    eprintln!(
        "// {VAR}: #[{}] on `{}` ({}:{}) expands to:\n{}",
        policy.name(),
        name.as_deref().unwrap_or("?"),
        site.file(),
        site.line(),
        lines(tokens)
    );
}

/// The tokens with each top-level attribute and item on its own line.
fn lines(tokens: &TokenStream) -> String {
    let tokens: Vec<TokenTree> = tokens.clone().into_iter().collect();
    let is = |at: usize, c: char| matches!(tokens.get(at), Some(TokenTree::Punct(punct)) if punct.as_char() == c);
    let mut out = String::new();
    let mut line = TokenStream::new();
    for (i, token) in tokens.iter().enumerate() {
        let ends_line = match token {
            TokenTree::Punct(punct) => punct.as_char() == ';',
            TokenTree::Group(group) => match group.delimiter() {
                Delimiter::Brace => !is(i + 1, ';'),
                Delimiter::Bracket => i > 0 && is(i - 1, '#'),
                _ => false,
            },
            _ => false,
        };
        line.extend([token.clone()]);
        if ends_line || i + 1 == tokens.len() {
            out.push_str(&std::mem::take(&mut line).to_string());
            out.push('\n');
        }
    }
    out
}
