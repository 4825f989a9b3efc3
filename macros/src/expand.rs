//! Expansion: what a validated [`Declaration`] generates, and the pipeline of one attribute.

use proc_macro2::{Span, TokenStream};
use quote::{ToTokens, format_ident, quote, quote_spanned};
use syn::ext::IdentExt;
use syn::spanned::Spanned;
use syn::{Ident, Pat, PatIdent, PatType, Type};

use crate::ast::{Handler, Policy, Route};
use crate::errors::Errors;
use crate::valid::{self, Declaration, Entity};
use crate::{attr, debug, facade, route_path};

/// One attribute, start to end: parse, validate, expand. On any error the function is emitted
/// unchanged after the errors, so the only errors are the attribute's own.
pub(crate) fn attribute(policy: Policy, args: TokenStream, item: TokenStream) -> TokenStream {
    match declaration(policy, args, item.clone()) {
        Ok(declaration) => {
            let tokens = expand(&declaration);
            debug::print(policy, Some(&declaration.handler.sig.ident), &tokens);
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

/// Parse, then validate.
pub(crate) fn declaration(
    policy: Policy,
    args: TokenStream,
    item: TokenStream,
) -> syn::Result<Declaration> {
    let mut errors = Errors::default();
    let args = attr::parse(policy, args, &mut errors);
    match Handler::parse(policy, item) {
        Ok(handler) => valid::validate(policy, args, handler, errors),
        Err(error) => Err(errors.with(error)),
    }
}

fn expand(declaration: &Declaration) -> TokenStream {
    let facade = facade::path();
    let private = quote!(#facade::__private);
    let handler = &declaration.handler;
    let mut tokens = match &declaration.entity {
        Some(entity) => {
            let mut tokens = entity_handler(&private, declaration, entity);
            tokens.extend(table_check(&private, handler, entity));
            tokens
        }
        None => handler.to_token_stream(),
    };
    if let Some(route) = &declaration.route {
        tokens.extend(extractor_checks(&private, declaration));
        tokens.extend(route_items(&private, declaration, route));
    }
    tokens
}

/// The name a wrapper parameter is bound to: the user's where the pattern is a plain name
/// (`user`, `mut user`), so the wrapper reads like the function as written.
fn binding(param: &PatType, fallback: Ident) -> Ident {
    match &*param.pat {
        Pat::Ident(PatIdent {
            by_ref: None,
            subpat: None,
            ident,
            ..
        }) => ident.clone(),
        _ => fallback,
    }
}

/// The user's function renamed (body untouched), and a mountable wrapper with the user's name,
/// visibility and attributes whose first parameter extracts the entity.
fn entity_handler(
    private: &TokenStream,
    declaration: &Declaration,
    entity: &Entity,
) -> TokenStream {
    let handler = &declaration.handler;
    let Handler { vis, sig, body, .. } = handler;
    let name = &sig.ident;
    let inner = format_ident!("__jwt_router_{}", name.unraw(), span = name.span());
    let mut bindings = Vec::new();
    let mut params = Vec::new();
    for (i, param) in declaration.params.iter().enumerate() {
        let fallback = match i {
            0 => format_ident!("__jwt_router_entity", span = name.span()),
            _ => format_ident!("__jwt_router_arg{}", i, span = name.span()),
        };
        let var = binding(param, fallback);
        let ty = &param.ty;
        params.push(match i {
            0 => quote_spanned! {ty.span()=>
                #private::Authed(#var): #private::Authed<#ty>
            },
            _ => quote!(#var: #ty),
        });
        bindings.push(var);
    }
    let mut inner_sig = sig.clone();
    inner_sig.ident = inner.clone();
    let inner_doc = doc(format!(
        "jwt-router: `{0}` as written; the `{0}` below loads the caller's `{1}` and calls it.",
        name.unraw(),
        type_name(&entity.ty)
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
        #vis #asyncness fn #name #generics (#(#params),*) #output #where_clause {
            #inner(#(#bindings),*).await
        }
    }
}

/// A constant that fails to evaluate, naming both tables, when the entity type's
/// `TABLE_NAME` is not the declared `entity`.
fn table_check(private: &TokenStream, handler: &Handler, entity: &Entity) -> TokenStream {
    let Entity { table, ty } = entity;
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

/// Per parameter, a call that needs the parameter's type to be an extractor for the route's
/// state, so a parameter axum can't extract is an error on its type (axum-macros'
/// `debug_handler` checks), not only a `Handler` error on the whole function. Every parameter
/// but the last must read the request head (`FromRequestParts`); the last may read the body
/// (`FromRequest`, generic over axum's marker). The checks are generic over the state and
/// only called with it, so rustc reports the call, which is spanned on the type, rather than
/// the bound. Their generic parameters have prefixed names: a user's type named `S` must not be
/// captured (ui pass case `check_parameter_names`). The entity parameter is checked by its own
/// `Entity` bound.
fn extractor_checks(private: &TokenStream, declaration: &Declaration) -> TokenStream {
    let Declaration {
        handler,
        params,
        state,
        ..
    } = declaration;
    let lifetimes: Vec<_> = handler.sig.generics.lifetimes().collect();
    let skip = usize::from(declaration.entity.is_some());
    let (checks, calls): (Vec<_>, Vec<_>) = params
        .iter()
        .enumerate()
        .skip(skip)
        .map(|(i, PatType { ty, .. })| {
            let name = format_ident!("__jwt_router_check_{}", i, span = ty.span());
            let check = if i + 1 < params.len() {
                quote! {
                    fn #name<#(#lifetimes,)* __JwtRouterS>()
                    where #ty: #private::PartsExtractor<__JwtRouterS> {}
                }
            } else {
                quote! {
                    fn #name<#(#lifetimes,)* __JwtRouterS, __JwtRouterM>()
                    where #ty: #private::BodyExtractor<__JwtRouterS, __JwtRouterM> {}
                }
            };
            let marker = (i + 1 == params.len()).then(|| quote!(, _));
            // Every token of the call on the type, so rustc's error lands there.
            let state = format_ident!("__JwtRouterState", span = ty.span());
            let call = quote_spanned! {ty.span()=> #name::<#state #marker>(); };
            (check, call)
        })
        .unzip();
    if checks.is_empty() {
        return TokenStream::new();
    }
    let cfgs = handler.cfgs();
    let what = doc(format!(
        "jwt-router: checks at compile time that each parameter of `{}` is an extractor.",
        handler.sig.ident.unraw()
    ));
    quote! {
        #(#cfgs)*
        #what
        #[doc(hidden)]
        const _: () = {
            type __JwtRouterState = #state;
            #(#[allow(warnings)] #checks)*
            #[allow(warnings)]
            fn __jwt_router_checks() {
                #(#calls)*
            }
        };
    }
}

/// The duplicate-route guard and the route table entry.
fn route_items(private: &TokenStream, declaration: &Declaration, route: &Route) -> TokenStream {
    let Declaration {
        policy,
        entity,
        roles,
        scopes,
        fresh,
        state,
        handler,
        ..
    } = declaration;
    let cfgs: Vec<_> = handler.cfgs().collect();
    let name = &handler.sig.ident;
    let path = &route.path;
    let class = match policy {
        Policy::Public | Policy::Authed => "api",
        Policy::Ignored => "root",
    };
    // Spanned on the path: a duplicate (E0428) points at both declarations' paths.
    let unique = format_ident!(
        "__jwt_router_{}_route_{}{}",
        class,
        route.method.as_str(),
        route_path::mangle(&path.value()),
        span = path.span()
    );
    let decl = format_ident!("__JWT_ROUTER_ROUTE_{}", name.unraw(), span = name.span());
    let method = route.method.variant();
    let policy_variant = policy.variant();
    let (table, entity_type) = match entity {
        Some(Entity { table, ty }) => {
            let ty = type_name(ty);
            (
                quote!(::core::option::Option::Some(#table)),
                quote!(::core::option::Option::Some(#ty)),
            )
        }
        None => (
            quote!(::core::option::Option::None),
            quote!(::core::option::Option::None),
        ),
    };
    let handler_name = name.unraw().to_string();
    let state_var = format_ident!("__jwt_router_state", span = Span::call_site());
    let method_var = format_ident!("__jwt_router_method", span = Span::call_site());
    let route_name = format!("{} {:?}", route.method.as_str(), path.value());
    let unique_doc = doc(format!(
        "jwt-router: claims {route_name} {} for this module; a second claim is E0428.",
        policy.mounted()
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
    // Spanned on the name: if the function is still no handler after the per-parameter
    // checks (its future is not `Send`, its output no response), the error names it.
    let mount = quote_spanned! {name.span()=>
        #private::mount::<#state, _, _>(#state_var, #method_var, #name)
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
            entity: #table,
            entity_type: #entity_type,
            roles: &[#(#roles),*],
            scopes: &[#(#scopes),*],
            fresh: #fresh,
            handler: #handler_name,
            module: ::core::module_path!(),
            file: ::core::file!(),
            line: ::core::line!(),
            state: #private::type_key::<#state>,
            mount: |#state_var, #method_var| #mount,
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
                "const __jwt_router_root_route_GET__a_ub___oid_c",
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
            text.contains("__jwt_router_me (user , __jwt_router_arg1)"),
            "{text}"
        );
        assert_eq!(
            items(tokens),
            [
                "fn __jwt_router_me",
                "fn me",
                "const _",
                "const _",
                "const __jwt_router_api_route_GET__me",
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
