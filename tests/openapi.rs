//! The route table as an OpenAPI 3.1 document (feature `openapi`), checked by a real validator
//! (Python's `openapi-spec-validator`, which `.ci/run` installs) and merged into an app's own.

use std::io::Write;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::routing::get;
use jwt_router::openapi::SECURITY_SCHEME;
use jwt_router::{JwtRoutes, authed, ignored, public};
use serde_json::{Value, json};
use utoipa::openapi::path::{OperationBuilder, PathItem};
use utoipa::openapi::{HttpMethod, InfoBuilder, OpenApiBuilder, PathsBuilder};

#[ignored(GET, "/")]
async fn home() {}

#[public(POST, "/login")]
async fn login() {}

#[authed(GET, "/books/{id}")]
async fn book() {}

#[authed(GET, "/users", roles = ["admin", "auditor"], scopes = ["users:read"])]
async fn users() {}

#[authed(GET, "/files/{*rest}")]
async fn files() {}

fn jwt() -> JwtRoutes<()> {
    JwtRoutes::builder()
        .secret("an openapi test secret of 32+ bytes")
        .api_name("/api")
        .module(module_path!())
        .build()
        .expect("valid configuration")
}

/// Runs the OpenAPI 3.1 schema validator on `doc`; its error output on failure.
fn validate(doc: &Value) -> Result<(), String> {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let mut file = std::env::temp_dir();
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    file.push(format!(
        "jwt-router-openapi-{}-{n}.json",
        std::process::id()
    ));
    std::fs::File::create(&file)
        .and_then(|mut f| f.write_all(doc.to_string().as_bytes()))
        .expect("write the document");
    let script = "import json, sys\n\
                  from openapi_spec_validator import validate\n\
                  validate(json.load(open(sys.argv[1])))";
    let output = Command::new("python3")
        .args(["-c", script])
        .arg(&file)
        .output()
        .expect("python3 runs (.ci/run installs openapi-spec-validator)");
    let _ = std::fs::remove_file(&file);
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(
        !stderr.contains("ModuleNotFoundError"),
        "the validator is missing: python3 -m pip install openapi-spec-validator\n{stderr}"
    );
    if output.status.success() {
        Ok(())
    } else {
        Err(stderr)
    }
}

fn document(doc: &utoipa::openapi::OpenApi) -> Value {
    serde_json::to_value(doc).expect("serializes")
}

#[test]
fn route_table_is_a_valid_openapi_document_with_its_security() {
    let doc = document(&jwt().openapi("test app", "1.0.0"));
    validate(&doc).expect("a valid OpenAPI 3.1 document");
    assert_eq!(doc["openapi"], "3.1.0");
    assert_eq!(
        doc["components"]["securitySchemes"][SECURITY_SCHEME],
        json!({ "type": "http", "scheme": "bearer", "bearerFormat": "JWT" })
    );
    let paths = &doc["paths"];
    assert_eq!(paths["/"]["get"]["security"], json!([]));
    assert_eq!(paths["/api/login"]["post"]["security"], json!([]));
    assert_eq!(
        paths["/api/books/{id}"]["get"]["security"],
        json!([{ SECURITY_SCHEME: [] }])
    );
    assert_eq!(
        paths["/api/books/{id}"]["get"]["parameters"][0]["name"],
        "id"
    );
    // Roles are any of (one alternative each), scopes all of (in every alternative).
    assert_eq!(
        paths["/api/users"]["get"]["security"],
        json!([
            { SECURITY_SCHEME: ["admin", "users:read"] },
            { SECURITY_SCHEME: ["auditor", "users:read"] }
        ])
    );
    assert!(paths["/api/files/{rest}"]["get"].is_object(), "{paths}");
}

#[test]
fn merges_into_the_apps_own_document_keeping_its_operations() {
    let own = OperationBuilder::new()
        .operation_id(Some("getBook"))
        .summary(Some("One book"))
        .parameter(
            utoipa::openapi::path::ParameterBuilder::new()
                .name("id")
                .parameter_in(utoipa::openapi::path::ParameterIn::Path)
                .required(utoipa::openapi::Required::True)
                .schema(Some(
                    utoipa::openapi::ObjectBuilder::new()
                        .schema_type(utoipa::openapi::Type::Integer),
                )),
        )
        .response(
            "200",
            utoipa::openapi::ResponseBuilder::new().description("the book"),
        )
        .build();
    let mut doc = OpenApiBuilder::new()
        .info(InfoBuilder::new().title("bookstore").version("2").build())
        .paths(PathsBuilder::new().path("/api/books/{id}", PathItem::new(HttpMethod::Get, own)))
        .build();
    jwt().merge_openapi(&mut doc);
    let doc = document(&doc);
    validate(&doc).expect("still valid");
    let book = &doc["paths"]["/api/books/{id}"]["get"];
    assert_eq!(book["summary"], "One book");
    assert_eq!(book["operationId"], "getBook");
    assert_eq!(book["security"], json!([{ SECURITY_SCHEME: [] }]));
    assert_eq!(doc["info"]["title"], "bookstore");
}

#[test]
fn hand_added_routes_are_documented_as_needing_a_token() {
    let app = jwt().router(()).route("/api/stats", get(|| async { "42" }));
    let mut doc = jwt().openapi("test app", "1.0.0");
    app.merge_openapi(&mut doc);
    let doc = document(&doc);
    validate(&doc).expect("valid");
    for method in ["get", "post", "delete"] {
        assert_eq!(
            doc["paths"]["/api/stats"][method]["security"],
            json!([{ SECURITY_SCHEME: [] }]),
            "{method}"
        );
    }
}

#[test]
fn the_validator_refuses_a_broken_document() {
    // The checks above can fail: a security scheme of an unknown type and an `info` without
    // its version are refused.
    let mut doc = document(&jwt().openapi("test app", "1.0.0"));
    doc["components"]["securitySchemes"][SECURITY_SCHEME]["type"] = json!("jwt");
    assert!(validate(&doc).is_err());
    let mut doc = document(&jwt().openapi("test app", "1.0.0"));
    doc["info"]
        .as_object_mut()
        .expect("an object")
        .remove("version");
    assert!(validate(&doc).is_err());
}
