//! Any bytes that parse as JSON must validate without panicking, and every issue of a
//! resource of a known type must be located inside that resource.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    let Ok(value) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    let issues = fhir::validate_resource(&value);
    if let Some(rt) = value.get("resourceType").and_then(Value::as_str) {
        if fhir::Definitions::get().is_resource_type(rt) {
            for issue in &issues {
                if let Some(e) = &issue.expression {
                    assert!(e.starts_with(rt), "{e} is outside {rt}");
                }
            }
        }
    }
});
