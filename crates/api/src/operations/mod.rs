//! FHIR operations (`$name`), each declared once in [`REGISTRY`]: its name, the levels
//! it is routed at, whether it changes state, its parameters and its handler. From the
//! declarations come the routes (GET with simple parameters from the query, POST with a
//! `Parameters` resource or, where the operation allows, the resource itself), the
//! `operation` entries of the CapabilityStatement, and the OperationDefinitions served
//! at `GET /fhir/OperationDefinition/{id}`.
//!
//! A new operation is a module here with one [`Operation`] constant, added to the list.

mod definition;
mod everything;
mod invocation;
mod validate;

pub use definition::{capability_entry, operation_definition};
pub use invocation::Invocation;

use crate::error::ApiError;
use crate::state::AppState;
use axum::Router;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{MethodRouter, get};
use std::future::Future;
use std::pin::Pin;

/// Where an operation is invoked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// `[base]/$name`
    System,
    /// `[base]/[type]/$name`
    Type,
    /// `[base]/[type]/[id]/$name`
    Instance,
}

/// The resource types an operation applies to.
#[derive(Debug, Clone, Copy)]
pub enum Types {
    All,
    Only(&'static [&'static str]),
}

impl Types {
    pub fn includes(&self, rtype: &str) -> bool {
        match self {
            Types::All => true,
            Types::Only(list) => list.contains(&rtype),
        }
    }
}

/// Input or output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Use {
    In,
    Out,
}

/// One parameter of an operation, as its OperationDefinition lists it.
#[derive(Debug, Clone, Copy)]
pub struct Param {
    pub name: &'static str,
    pub use_: Use,
    pub min: u32,
    /// `"1"` or `"*"`.
    pub max: &'static str,
    /// A FHIR type: `code`, `uri`, `Resource`, `Bundle`, `OperationOutcome`...
    pub type_: &'static str,
    pub documentation: &'static str,
}

pub type Handler =
    fn(AppState, Invocation) -> Pin<Box<dyn Future<Output = Result<Response, ApiError>> + Send>>;

/// An operation, declared once.
pub struct Operation {
    /// The name after the `$`.
    pub code: &'static str,
    /// The id of its OperationDefinition on this server.
    pub id: &'static str,
    /// The HL7 definition it implements (`OperationDefinition.base`).
    pub base: &'static str,
    pub title: &'static str,
    pub description: &'static str,
    pub system: bool,
    pub type_level: bool,
    pub instance: bool,
    pub types: Types,
    /// An operation that changes state is invoked by POST only.
    pub affects_state: bool,
    /// The input parameter a POSTed resource (not a Parameters) stands for, if any.
    pub resource_body: Option<&'static str>,
    pub parameters: &'static [Param],
    pub handler: Handler,
}

impl Operation {
    pub fn at(&self, level: Level) -> bool {
        match level {
            Level::System => self.system,
            Level::Type => self.type_level,
            Level::Instance => self.instance,
        }
    }
}

/// Every operation the API offers.
pub static REGISTRY: &[&Operation] = &[&everything::OPERATION, &validate::OPERATION];

/// The operations at `level` on `rtype` (`None`: the system level).
pub fn for_type(rtype: Option<&str>) -> impl Iterator<Item = &'static Operation> {
    REGISTRY.iter().copied().filter(move |op| match rtype {
        None => op.system,
        Some(t) => (op.type_level || op.instance) && op.types.includes(t),
    })
}

pub fn by_id(id: &str) -> Option<&'static Operation> {
    REGISTRY.iter().copied().find(|op| op.id == id)
}

/// The routes of every operation at every level it is declared for, plus a catch-all
/// that names an unknown instance-level operation (unknown system and type operations
/// are named by the [`crate::routes::Target`] extractor).
pub fn routes() -> Router<AppState> {
    let mut router = Router::new();
    for op in REGISTRY.iter().copied() {
        for (level, path) in [
            (Level::System, format!("/fhir/${}", op.code)),
            (Level::Type, format!("/fhir/{{type}}/${}", op.code)),
            (
                Level::Instance,
                format!("/fhir/{{type}}/{{id}}/${}", op.code),
            ),
        ] {
            if op.at(level) {
                router = router.route(&path, method_router(op, level));
            }
        }
    }
    router.route("/fhir/{type}/{id}/{operation}", get(unknown).post(unknown))
}

fn method_router(op: &'static Operation, level: Level) -> MethodRouter<AppState> {
    let post = axum::routing::post(move |State(state): State<AppState>, req: Request| {
        invoke(state, op, level, req)
    });
    if op.affects_state {
        post
    } else {
        post.get(move |State(state): State<AppState>, req: Request| invoke(state, op, level, req))
    }
}

async fn invoke(
    state: AppState,
    op: &'static Operation,
    level: Level,
    req: Request,
) -> Result<Response, ApiError> {
    let invocation = Invocation::from_request(&state, op, level, req).await?;
    (op.handler)(state, invocation).await
}

async fn unknown(req: Request) -> ApiError {
    let last = req.uri().path().rsplit('/').next().unwrap_or("");
    match last.strip_prefix('$') {
        Some(name) => unknown_operation(name),
        None => ApiError::not_found("there is nothing at this URL"),
    }
}

/// 404 naming the operation asked for.
pub fn unknown_operation(name: &str) -> ApiError {
    let name: String = name.chars().take(64).collect();
    ApiError::new(
        StatusCode::NOT_FOUND,
        "not-supported",
        format!("the operation ${name} is not supported here (see the CapabilityStatement)"),
    )
}
