//! `Patient/[id]/$everything`: the patient's compartment as a searchset Bundle, limited
//! to what the requester may see (the store decides and audits).

use super::{Handler, Invocation, Operation, Param, Types, Use};
use crate::error::ApiError;
use crate::respond::json_response;
use crate::routes::blocking;
use crate::state::AppState;
use axum::http::StatusCode;
use axum::response::Response;

pub static OPERATION: Operation = Operation {
    code: "everything",
    id: "Patient-everything",
    base: "http://hl7.org/fhir/OperationDefinition/Patient-everything",
    title: "Fetch Patient Record",
    description: "The patient and every resource in their compartment that the requester \
                  may see, as a searchset Bundle (paged).",
    system: false,
    type_level: false,
    instance: true,
    types: Types::Only(&["Patient"]),
    affects_state: false,
    resource_body: None,
    parameters: &[
        Param {
            name: "_since",
            use_: Use::In,
            min: 0,
            max: "1",
            type_: "instant",
            documentation: "Only resources updated since this time",
        },
        Param {
            name: "_type",
            use_: Use::In,
            min: 0,
            max: "*",
            type_: "code",
            documentation: "Only resources of these types (comma-separated)",
        },
        Param {
            name: "_count",
            use_: Use::In,
            min: 0,
            max: "1",
            type_: "integer",
            documentation: "Page size",
        },
        Param {
            name: "return",
            use_: Use::Out,
            min: 1,
            max: "1",
            type_: "Bundle",
            documentation: "A searchset Bundle",
        },
    ],
    handler: run as Handler,
};

fn run(
    state: AppState,
    call: Invocation,
) -> std::pin::Pin<Box<dyn Future<Output = Result<Response, ApiError>> + Send>> {
    Box::pin(async move {
        // Parameters go to the store as they came, which checks them as it always has.
        let id = call.id.clone().unwrap_or_default();
        let (ctx, base, params) = (call.fhir.ctx.clone(), call.fhir.base.clone(), call.params);
        let bundle = blocking(&state, move |repo| {
            repo.everything(&ctx, &id, &params, &base)
        })
        .await?;
        Ok(json_response(StatusCode::OK, call.fhir.output, &bundle))
    })
}
