//! `[type]/$validate` and `[type]/[id]/$validate`: would this create, update or delete be
//! accepted? Always 200 with an OperationOutcome of the issues found (the request itself
//! being malformed is still a 400); nothing is written.

use super::{Handler, Invocation, Level, Operation, Param, Types, Use};
use crate::error::ApiError;
use crate::respond::json_response;
use crate::routes::blocking;
use crate::state::AppState;
use axum::http::StatusCode;
use axum::response::Response;
use store::{ValidateMode, ValidateRequest};

pub static OPERATION: Operation = Operation {
    code: "validate",
    id: "Resource-validate",
    base: "http://hl7.org/fhir/OperationDefinition/Resource-validate",
    title: "Validate a resource",
    description: "Checks a resource as a create or update of it would (or, for a delete, \
                  that the resource exists and which references to it would dangle), and \
                  reports the issues as an OperationOutcome. Writes nothing. Only the base \
                  R4 definitions are known as profiles.",
    system: false,
    type_level: true,
    instance: true,
    types: Types::All,
    affects_state: false,
    resource_body: Some("resource"),
    parameters: &[
        Param {
            name: "resource",
            use_: Use::In,
            min: 0,
            max: "1",
            type_: "Resource",
            documentation: "The resource to validate (not needed for mode delete)",
        },
        Param {
            name: "mode",
            use_: Use::In,
            min: 0,
            max: "1",
            type_: "code",
            documentation: "create | update | delete",
        },
        Param {
            name: "profile",
            use_: Use::In,
            min: 0,
            max: "1",
            type_: "uri",
            documentation: "A profile to validate against: only the type's base R4 \
                            StructureDefinition is known",
        },
        Param {
            name: "return",
            use_: Use::Out,
            min: 1,
            max: "1",
            type_: "OperationOutcome",
            documentation: "The issues found (\"All OK\" when none)",
        },
    ],
    handler: run as Handler,
};

fn run(
    state: AppState,
    call: Invocation,
) -> std::pin::Pin<Box<dyn Future<Output = Result<Response, ApiError>> + Send>> {
    Box::pin(async move {
        call.check_declared(&OPERATION)?;
        let mode = ValidateMode::parse(call.param("mode")).map_err(ApiError::from)?;
        if call.level == Level::Type && matches!(mode, ValidateMode::Update | ValidateMode::Delete)
        {
            return Err(ApiError::bad_request(
                "mode update and delete validate an instance: [type]/[id]/$validate",
            ));
        }
        let rtype = call.rtype.clone().unwrap_or_default();
        let id = call.id.clone();
        let resource = call.resource("resource").cloned();
        let profile = call.param("profile").map(str::to_string);
        let ctx = call.fhir.ctx.clone();
        let issues = blocking(&state, move |repo| {
            repo.validate(
                &ctx,
                &ValidateRequest {
                    rtype: &rtype,
                    id: id.as_deref(),
                    mode,
                    resource: resource.as_ref(),
                    profile: profile.as_deref(),
                },
            )
        })
        .await?;
        Ok(json_response(
            StatusCode::OK,
            call.fhir.output,
            &fhir::operation_outcome(&issues),
        ))
    })
}
