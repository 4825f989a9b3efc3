//! The path of the `jwt-router` facade in the user's crate.

use proc_macro_crate::{FoundCrate, crate_name};
use proc_macro2::{Ident, Span, TokenStream};
use quote::quote;

/// `::jwt_router`, or `::<name>` when the user's Cargo.toml renames the dependency
/// (`jwt = { package = "jwt-router", .. }`).
///
/// `FoundCrate::Itself` means the code is being compiled inside the `jwt-router` package: its
/// examples, binaries and doctests, which reach the library as `::jwt_router` too.
pub(crate) fn path() -> TokenStream {
    match crate_name("jwt-router") {
        Ok(FoundCrate::Name(name)) => {
            let name = Ident::new(&name, Span::call_site());
            quote!(::#name)
        }
        Ok(FoundCrate::Itself) | Err(_) => quote!(::jwt_router),
    }
}
