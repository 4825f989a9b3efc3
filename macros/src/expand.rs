//! What the attributes generate (the internal spec's "Example expansion").

use proc_macro2::{Span, TokenStream};
use quote::{ToTokens, format_ident, quote, quote_spanned};
use syn::ext::IdentExt;
use syn::spanned::Spanned;
use syn::{FnArg, LitStr, PatType, Type};

use crate::attr::{self, Args, Policy, Route};
use crate::errors::both;
use crate::handler::{self, Handler};
use crate::{debug, facade, route_path};

/// One attribute, start to end: parse and validate the arguments and the function, then
/// generate. On any error the function is emitted unchanged after the errors, so the only
/// errors are the attribute's own.
pub(crate) fn attribute(policy: Policy, args: TokenStream, item: TokenStream) -> TokenStream {
    let checked = both(
        attr::parse(policy, args),
        handler::inspect(policy, item.clone()),
    )
    .and_then(|(args, handler)| {
        let entity = match &args.entity {
            Some(table) => Some(handler.entity_param(table)?.clone()),
            None => None,
        };
        Ok((args, handler, entity))
    });
    match checked {
        Ok((args, handler, entity)) => {
            let tokens = expand(policy, &args, &handler, entity.as_ref(), item);
            debug::print(policy, Some(&handler.sig.ident), &tokens);
            tokens
        }
        Err(error) => {
            let errors = error.to_compile_error();
            let tokens = quote!(#errors #item);
            debug::print(policy, None, &tokens);
            tokens
        }
    }
}

fn expand(
    policy: Policy,
    args: &Args,
    handler: &Handler,
    entity: Option<&PatType>,
    item: TokenStream,
) -> TokenStream {
    let facade = facade::path();
    let private = quote!(#facade::__private);
    let mut tokens = match (&args.entity, entity) {
        (Some(table), Some(param)) => {
            let mut tokens = entity_handler(&private, handler, param);
            tokens.extend(table_check(&private, handler, table, &param.ty));
            tokens
        }
        _ => item,
    };
    if let Some(route) = &args.route {
        let unit: Type = syn::parse_quote!(());
        let state = args
            .state
            .as_ref()
            .or_else(|| handler.state_type())
            .unwrap_or(&unit);
        let entity_type = entity.map(|param| type_name(&param.ty));
        tokens.extend(route_items(
            &private,
            policy,
            route,
            args,
            handler,
            state,
            entity_type,
        ));
    }
    tokens
}

/// The user's function renamed (body untouched), and a mountable wrapper with the user's name,
/// visibility and attributes whose first parameter extracts the entity.
fn entity_handler(private: &TokenStream, handler: &Handler, param: &PatType) -> TokenStream {
    let Handler { vis, sig, body, .. } = handler;
    let name = &sig.ident;
    let inner = format_ident!("__jwt_router_{}", name.unraw(), span = name.span());
    let entity = format_ident!("__jwt_router_entity", span = name.span());
    let ty = &param.ty;
    let entity_param = quote_spanned! {ty.span()=>
        #private::Authed(#entity): #private::Authed<#ty>
    };
    let (vars, params): (Vec<_>, Vec<_>) = sig
        .inputs
        .iter()
        .enumerate()
        .skip(1)
        .filter_map(|(i, input)| match input {
            FnArg::Typed(PatType { ty, .. }) => {
                let var = format_ident!("__jwt_router_arg{}", i, span = name.span());
                let param = quote!(#var: #ty);
                Some((var, param))
            }
            FnArg::Receiver(_) => None,
        })
        .unzip();
    let mut inner_sig = sig.clone();
    inner_sig.ident = inner.clone();
    let inner_doc = doc(format!(
        "jwt-router: `{0}` as written; the `{0}` below loads the caller's `{1}` and calls it.",
        name.unraw(),
        type_name(&param.ty)
    ));
    let body_attrs = handler.body_attrs();
    let wrapper_attrs = handler.wrapper_attrs();
    let asyncness = &sig.asyncness;
    let generics = &sig.generics;
    let where_clause = &sig.generics.where_clause;
    let output = &sig.output;
    quote! {
        #(#body_attrs)*
        #inner_doc
        #[doc(hidden)]
        #[allow(non_snake_case)]
        #inner_sig #body

        #(#wrapper_attrs)*
        #vis #asyncness fn #name #generics (#entity_param, #(#params),*) #output #where_clause {
            #inner(#entity, #(#vars),*).await
        }
    }
}

/// A constant that fails to evaluate, naming both tables, when the entity type's
/// `TABLE_NAME` is not the declared `entity`.
fn table_check(private: &TokenStream, handler: &Handler, table: &LitStr, ty: &Type) -> TokenStream {
    let cfgs = handler.cfgs();
    let name = handler.sig.ident.unraw();
    let declared = table.value();
    let ty_name = type_name(ty);
    let head = format!(
        "`{name}` declares entity = \"{declared}\", but its first parameter `{ty_name}` is the \
         entity of table \""
    );
    let tail = format!(
        "\" (`{ty_name}::TABLE_NAME`): declare that table, or take the \"{declared}\" entity \
         type as the first parameter"
    );
    let table_var = format_ident!("__jwt_router_table");
    let what = doc(format!(
        "jwt-router: checks at compile time that `{ty_name}::TABLE_NAME` is \"{declared}\"."
    ));
    quote_spanned! {table.span()=>
        #(#cfgs)*
        #what
        #[doc(hidden)]
        const _: () = {
            let #table_var: &str = <#ty as #private::Entity>::TABLE_NAME;
            if !#private::str_eq(#table_var, #table) {
                ::core::panic!(
                    "{}",
                    #private::ConstMessage::new().push(#head).push(#table_var).push(#tail).as_str()
                );
            }
        };
    }
}

/// The duplicate-route guard and the route table entry.
fn route_items(
    private: &TokenStream,
    policy: Policy,
    route: &Route,
    args: &Args,
    handler: &Handler,
    state: &Type,
    entity_type: Option<String>,
) -> TokenStream {
    let cfgs: Vec<_> = handler.cfgs().collect();
    let name = &handler.sig.ident;
    let path = &route.path;
    // Spanned on the path: a duplicate (E0428) points at both declarations' paths.
    let unique = format_ident!(
        "__jwt_router_route_{}_{}_{}",
        policy.class(),
        route.method.as_str(),
        route_path::mangle(&path.value()),
        span = path.span()
    );
    let decl = format_ident!("__JWT_ROUTER_ROUTE_{}", name.unraw(), span = name.span());
    let method = format_ident!("{}", route.method.variant());
    let policy_variant = format_ident!("{}", policy.variant());
    let entity = match &args.entity {
        Some(table) => quote!(::core::option::Option::Some(#table)),
        None => quote!(::core::option::Option::None),
    };
    let entity_type = match entity_type {
        Some(name) => quote!(::core::option::Option::Some(#name)),
        None => quote!(::core::option::Option::None),
    };
    let handler_name = name.unraw().to_string();
    let state_var = format_ident!("__jwt_router_state", span = Span::call_site());
    let method_var = format_ident!("__jwt_router_method", span = Span::call_site());
    let route_name = format!("{} {:?}", route.method.as_str(), path.value());
    let under = match policy {
        Policy::Ignored => "at the root",
        Policy::Public | Policy::Authed => "under the API prefix",
    };
    let unique_doc = doc(format!(
        "jwt-router: claims {route_name} {under} for this module; a second claim is E0428."
    ));
    let decl_doc = doc(format!(
        "jwt-router: route table entry: `{}` serves {route_name}, {}.",
        name.unraw(),
        policy.name()
    ));
    let unique = quote_spanned! {path.span()=>
        #(#cfgs)*
        #unique_doc
        #[doc(hidden)]
        #[allow(dead_code, non_upper_case_globals)]
        const #unique: () = ();
    };
    quote! {
        #unique

        #(#cfgs)*
        #[#private::linkme::distributed_slice(#private::ROUTES)]
        #[linkme(crate = #private::linkme)]
        #decl_doc
        #[doc(hidden)]
        #[allow(non_upper_case_globals)]
        static #decl: #private::RouteDecl = #private::RouteDecl {
            method: #private::Method::#method,
            path: #path,
            policy: #private::Policy::#policy_variant,
            entity: #entity,
            entity_type: #entity_type,
            handler: #handler_name,
            module: ::core::module_path!(),
            file: ::core::file!(),
            line: ::core::line!(),
            state: #private::type_key::<#state>,
            mount: |#state_var, #method_var| {
                #private::mount::<#state, _, _>(#state_var, #method_var, #name)
            },
        };
    }
}

/// `#[doc = " text"]`: one line that `cargo expand` prints as `/// text` above a generated item.
fn doc(text: String) -> TokenStream {
    let text = format!(" {text}");
    quote!(#[doc = #text])
}

/// `Vec<u8>` rather than `Vec < u8 >`, for messages.
fn type_name(ty: &Type) -> String {
    let mut name = ty.to_token_stream().to_string();
    for (spaced, tight) in [
        (" :: ", "::"),
        (":: ", "::"),
        (" <", "<"),
        ("< ", "<"),
        (" >", ">"),
        (" ,", ","),
        ("& ", "&"),
    ] {
        name = name.replace(spaced, tight);
    }
    name
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::quote;

    fn items(tokens: TokenStream) -> Vec<String> {
        let file: syn::File = syn::parse2(tokens).expect("the expansion parses as items");
        file.items
            .iter()
            .map(|item| match item {
                syn::Item::Fn(f) => format!("fn {}", f.sig.ident),
                syn::Item::Const(c) => format!("const {}", c.ident),
                syn::Item::Static(s) => format!("static {}", s.ident),
                other => quote!(#other).to_string(),
            })
            .collect()
    }

    #[test]
    fn plain_handlers_are_emitted_unchanged_with_their_route() {
        let tokens = attribute(
            Policy::Ignored,
            quote!(GET, "/a_b/{id}"),
            quote!(
                async fn home() {}
            ),
        );
        assert_eq!(
            items(tokens),
            [
                "fn home",
                "const __jwt_router_route_root_GET__2fa_5fb_2f_7bid_7d",
                "static __JWT_ROUTER_ROUTE_home",
            ]
        );
    }

    #[test]
    fn entity_handlers_are_wrapped_and_checked() {
        let tokens = attribute(
            Policy::Authed,
            quote!(GET, "/me", entity = "users"),
            quote!(
                pub async fn me(user: User, State(db): State<Db>) -> String {
                    body
                }
            ),
        );
        let text = tokens.to_string();
        assert!(text.contains("type_key :: < Db >"), "{text}");
        assert!(
            text.contains("__jwt_router_me (__jwt_router_entity , __jwt_router_arg1)"),
            "{text}"
        );
        assert_eq!(
            items(tokens),
            [
                "fn __jwt_router_me",
                "fn me",
                "const _",
                "const __jwt_router_route_api_GET__2fme",
                "static __JWT_ROUTER_ROUTE_me",
            ]
        );
        let routeless = attribute(
            Policy::Authed,
            quote!(entity = "users"),
            quote!(
                async fn me(user: User) {}
            ),
        );
        assert_eq!(items(routeless), ["fn __jwt_router_me", "fn me", "const _"]);
    }

    #[test]
    fn generated_items_say_what_they_are() {
        let tokens = attribute(
            Policy::Authed,
            quote!(GET, "/me", entity = "users"),
            quote!(
                /// The caller.
                pub async fn me(user: User) -> String {
                    body
                }
            ),
        );
        let file: syn::File = syn::parse2(tokens).expect("the expansion parses as items");
        let docs: Vec<Vec<String>> = file
            .items
            .iter()
            .map(|item| {
                let attrs = match item {
                    syn::Item::Fn(f) => &f.attrs,
                    syn::Item::Const(c) => &c.attrs,
                    syn::Item::Static(s) => &s.attrs,
                    other => panic!("unexpected item {}", quote!(#other)),
                };
                attrs
                    .iter()
                    .filter(|attr| attr.path().is_ident("doc"))
                    .map(|attr| match &attr.meta {
                        syn::Meta::NameValue(syn::MetaNameValue {
                            value:
                                syn::Expr::Lit(syn::ExprLit {
                                    lit: syn::Lit::Str(text),
                                    ..
                                }),
                            ..
                        }) => text.value(),
                        other => other.to_token_stream().to_string(),
                    })
                    .collect()
            })
            .collect();
        // The inner fn, the wrapper, the table check, the route claim, the table entry. The
        // wrapper is the user's function and keeps only the user's docs.
        assert_eq!(docs.len(), 5);
        assert_eq!(docs[1], [" The caller."]);
        for (i, docs) in docs.iter().enumerate().filter(|(i, _)| *i != 1) {
            assert_eq!(docs.len(), 2, "item {i}: {docs:?}");
            assert!(docs[0].starts_with(" jwt-router: "), "item {i}: {docs:?}");
            assert_eq!(docs[1], "doc (hidden)", "item {i}");
        }
    }

    #[test]
    fn errors_keep_the_function() {
        let tokens = attribute(
            Policy::Public,
            quote!(FETCH, "/x"),
            quote!(
                async fn h() {}
            ),
        );
        let text = tokens.to_string();
        assert!(text.starts_with(":: core :: compile_error !"), "{text}");
        assert!(text.ends_with("async fn h () { }"), "{text}");
    }
}
