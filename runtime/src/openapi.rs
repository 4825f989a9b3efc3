//! The route table as the security part of an OpenAPI 3.1 document (feature `openapi`), in
//! utoipa's model so it merges into an app's own utoipa document.

use utoipa::openapi::path::{Operation, Parameter, ParameterBuilder, ParameterIn, PathItem};
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{
    Components, InfoBuilder, ObjectBuilder, OpenApi, OpenApiBuilder, RefOr, Required,
    ResponseBuilder, Type,
};

use crate::table::{Method, Policy, RouteInfo};
use crate::{GuardedRouter, JwtRoutes};

/// The name of the bearer (JWT) security scheme in the document's `components`.
pub const SECURITY_SCHEME: &str = "bearer";

impl<S: Clone + Send + Sync + 'static> JwtRoutes<S> {
    /// The declared routes as an OpenAPI 3.1 document: a bearer (JWT) security scheme, public
    /// and ignored operations with `security: []`, authed ones with the scheme and their roles
    /// and scopes. See [`merge_openapi`](Self::merge_openapi) to add this to your own document.
    pub fn openapi(&self, title: &str, version: &str) -> OpenApi {
        let mut doc = OpenApiBuilder::new()
            .info(InfoBuilder::new().title(title).version(version).build())
            .build();
        merge(&mut doc, self.route_table().iter());
        doc
    }

    /// Adds the security scheme and each declared route's security requirement to `doc` (your
    /// utoipa document): operations you documented keep everything else; operations you did
    /// not are added with their path parameters and a default response.
    pub fn merge_openapi(&self, doc: &mut OpenApi) {
        merge(doc, self.route_table().iter());
    }
}

impl<S: Clone + Send + Sync + 'static> GuardedRouter<S> {
    /// Like [`JwtRoutes::merge_openapi`], for every route of this router: routes added by hand
    /// are listed under their path with the bearer scheme when the path is known (`.route`,
    /// `.route_service`), since every method they serve needs a token.
    pub fn merge_openapi(&self, doc: &mut OpenApi) {
        merge(
            doc,
            self.route_table()
                .iter()
                .filter(|row| !row.path.contains('*') || row.method.is_some()),
        );
    }
}

fn merge<'a>(doc: &mut OpenApi, rows: impl Iterator<Item = &'a RouteInfo>) {
    let components = doc.components.get_or_insert_with(Components::new);
    let mut bearer = Http::new(HttpAuthScheme::Bearer);
    bearer.bearer_format = Some("JWT".to_owned());
    components.security_schemes.insert(
        SECURITY_SCHEME.to_owned(),
        SecurityScheme::Http(bearer).into(),
    );
    for row in rows {
        let path = openapi_path(&row.path);
        let item = doc.paths.paths.entry(path.clone()).or_default();
        let methods = match row.method {
            Some(method) => vec![method],
            // A route added by hand: every method it may serve needs a token.
            None => Method::ALL.to_vec(),
        };
        for method in methods {
            let slot = operation_slot(item, method);
            let operation = slot.get_or_insert_with(|| new_operation(row, &path));
            operation.security = Some(security(row));
        }
    }
}

/// `/files/{*rest}` (axum's catch-all) as OpenAPI writes a path parameter: `/files/{rest}`.
fn openapi_path(path: &str) -> String {
    path.replace("{*", "{")
}

fn operation_slot(item: &mut PathItem, method: Method) -> &mut Option<Operation> {
    match method {
        Method::Get => &mut item.get,
        Method::Post => &mut item.post,
        Method::Put => &mut item.put,
        Method::Patch => &mut item.patch,
        Method::Delete => &mut item.delete,
        Method::Head => &mut item.head,
        Method::Options => &mut item.options,
    }
}

/// An operation the app did not document: its id, path parameters and a default response.
fn new_operation(row: &RouteInfo, path: &str) -> Operation {
    let mut operation = Operation::new();
    if row.method.is_some() {
        operation.operation_id = Some(format!(
            "{}_{}",
            row.handler,
            row.method.map_or("", |m| m.as_str()).to_lowercase()
        ));
    }
    let parameters: Vec<RefOr<Parameter>> = path_parameters(path)
        .map(|name| {
            ParameterBuilder::new()
                .name(name)
                .parameter_in(ParameterIn::Path)
                .required(Required::True)
                .schema(Some(ObjectBuilder::new().schema_type(Type::String)))
                .build()
                .into()
        })
        .collect();
    if !parameters.is_empty() {
        operation.parameters = Some(parameters);
    }
    operation.responses.responses.insert(
        "default".to_owned(),
        ResponseBuilder::new()
            .description("the handler's answer; refusals are {\"error\", \"message\"} JSON")
            .build()
            .into(),
    );
    operation
}

/// The `{name}` segments of an OpenAPI path.
fn path_parameters(path: &str) -> impl Iterator<Item = &str> {
    path.split('/')
        .filter_map(|segment| segment.strip_prefix('{')?.strip_suffix('}'))
}

/// `[]` for public and ignored routes; the bearer scheme otherwise, one alternative per role
/// (roles are any-of) each with every scope (scopes are all-of).
fn security(row: &RouteInfo) -> Vec<SecurityRequirement> {
    if row.policy != Policy::Authed {
        return Vec::new();
    }
    if row.roles.is_empty() {
        return vec![SecurityRequirement::new(
            SECURITY_SCHEME,
            row.scopes.iter().copied(),
        )];
    }
    row.roles
        .iter()
        .map(|role| {
            let names = std::iter::once(*role).chain(row.scopes.iter().copied());
            SecurityRequirement::new(SECURITY_SCHEME, names)
        })
        .collect()
}
