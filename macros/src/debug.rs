//! `JWT_ROUTER_MACROS_DEBUG`: print an expansion to stderr at compile time.
//!
//! `JWT_ROUTER_MACROS_DEBUG=1` prints every handler's expansion, `=show,index` only those of
//! the handlers named `show` and `index`, formatted by prettyplease. Cargo does not track the
//! variable (stable Rust has no `proc_macro::tracked_env`), so setting it alone rebuilds
//! nothing: touch the file, or run `cargo expand` for the whole module.

use proc_macro2::TokenStream;
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
        formatted(tokens)
    );
}

/// The expansion as formatted Rust; as one line of tokens if it is not a list of items (the
/// user's item as written after an error, when it is not one).
fn formatted(tokens: &TokenStream) -> String {
    match syn::parse2::<syn::File>(tokens.clone()) {
        Ok(file) => prettyplease::unparse(&file),
        Err(_) => format!("{tokens}\n"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::quote;

    #[test]
    fn expansions_print_as_formatted_rust() {
        assert_eq!(
            formatted(&quote!(
                #[doc(hidden)]
                const X: u8 = 1;
                fn f() {
                    g(X)
                }
            )),
            "#[doc(hidden)]\nconst X: u8 = 1;\nfn f() {\n    g(X)\n}\n"
        );
        assert_eq!(formatted(&quote!(not an item)), "not an item\n");
    }
}
