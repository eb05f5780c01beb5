//! FHIR search: parsing the query, compiling it to SQL, paging, includes, and the
//! searchset Bundle. (Being written.)

use crate::context::RequestContext;
use crate::error::FhirResult;
use crate::repository::{Repository, SearchRequest};
use serde_json::Value;

impl Repository {
    /// A searchset Bundle for `req` (including `_getpages` page requests).
    pub fn search(&self, ctx: &RequestContext, req: &SearchRequest) -> FhirResult<Value> {
        let _ = (ctx, req);
        todo!()
    }

    /// `Patient/[id]/$everything`: the patient and every resource in their compartment.
    pub fn everything(&self, ctx: &RequestContext, patient_id: &str, params: &[(String, String)], base_url: &str) -> FhirResult<Value> {
        let _ = (ctx, patient_id, params, base_url);
        todo!()
    }
}
