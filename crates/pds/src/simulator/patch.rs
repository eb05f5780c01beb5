//! JSON Patch (RFC 6902) on a PDS Patient, as a PDS update applies it: all operations or
//! none, and never on the record's identity (`id`, `identifier`, `meta`).

use serde_json::Value;

/// Elements an update may not touch: PDS owns them.
const PROTECTED: [&str; 4] = ["resourceType", "id", "identifier", "meta"];

/// Why a patch was refused: words for `diagnostics`, never the values involved.
pub(crate) type PatchError = String;

/// `"/name/0/given"` as tokens, `~1` and `~0` unescaped.
fn tokens(pointer: &str) -> Result<Vec<String>, PatchError> {
    if pointer.is_empty() {
        return Ok(Vec::new());
    }
    let rest = pointer
        .strip_prefix('/')
        .ok_or_else(|| format!("Invalid patch: path '{pointer}' must start with '/'"))?;
    Ok(rest
        .split('/')
        .map(|t| t.replace("~1", "/").replace("~0", "~"))
        .collect())
}

/// Refuses a path into what PDS owns.
fn check_editable(pointer: &str) -> Result<Vec<String>, PatchError> {
    let tokens = tokens(pointer)?;
    match tokens.first() {
        None => Err("Invalid update with error - the whole resource cannot be replaced".into()),
        Some(first) if PROTECTED.contains(&first.as_str()) => Err(format!(
            "Invalid update with error - '/{first}' cannot be updated"
        )),
        Some(_) => Ok(tokens),
    }
}

fn index(token: &str, len: usize, allow_end: bool) -> Result<usize, PatchError> {
    let i: usize = token
        .parse()
        .ok()
        .filter(|_| token == "0" || !token.starts_with('0'))
        .ok_or_else(|| format!("Invalid patch: '{token}' is not an array index"))?;
    let limit = if allow_end {
        len
    } else {
        len.saturating_sub(1)
    };
    if (allow_end && i <= limit) || (!allow_end && i < len) {
        Ok(i)
    } else {
        Err(format!("Invalid patch: array index {i} is out of range"))
    }
}

fn get<'a>(doc: &'a Value, path: &[String]) -> Option<&'a Value> {
    path.iter().try_fold(doc, |node, token| match node {
        Value::Object(map) => map.get(token),
        Value::Array(items) => items.get(index(token, items.len(), false).ok()?),
        _ => None,
    })
}

fn get_mut<'a>(doc: &'a mut Value, path: &[String]) -> Option<&'a mut Value> {
    path.iter().try_fold(doc, |node, token| match node {
        Value::Object(map) => map.get_mut(token),
        Value::Array(items) => {
            let i = index(token, items.len(), false).ok()?;
            items.get_mut(i)
        }
        _ => None,
    })
}

fn missing(path: &[String]) -> PatchError {
    format!("Invalid patch: no value at path '/{}'", path.join("/"))
}

fn add(doc: &mut Value, path: &[String], value: Value) -> Result<(), PatchError> {
    let (last, parent_path) = path.split_last().ok_or("Invalid patch: empty path")?;
    // Appending to a list the record does not have yet starts the list.
    if last == "-"
        && get(doc, parent_path).is_none()
        && let Some((list, owner_path)) = parent_path.split_last()
        && let Some(Value::Object(owner)) = get_mut(doc, owner_path)
    {
        owner.insert(list.clone(), Value::Array(Vec::new()));
    }
    match get_mut(doc, parent_path) {
        Some(Value::Object(map)) => {
            map.insert(last.clone(), value);
            Ok(())
        }
        Some(Value::Array(items)) if last == "-" => {
            items.push(value);
            Ok(())
        }
        Some(Value::Array(items)) => {
            let i = index(last, items.len(), true)?;
            items.insert(i, value);
            Ok(())
        }
        _ => Err(missing(parent_path)),
    }
}

fn remove(doc: &mut Value, path: &[String]) -> Result<Value, PatchError> {
    let (last, parent_path) = path.split_last().ok_or("Invalid patch: empty path")?;
    match get_mut(doc, parent_path) {
        Some(Value::Object(map)) => map.shift_remove(last).ok_or_else(|| missing(path)),
        Some(Value::Array(items)) => {
            let i = index(last, items.len(), false)?;
            Ok(items.remove(i))
        }
        _ => Err(missing(path)),
    }
}

fn apply_one(doc: &mut Value, op: &Value) -> Result<(), PatchError> {
    let field = |name: &str| op.get(name).and_then(Value::as_str);
    let kind = field("op").ok_or("Invalid patch: an operation has no 'op'")?;
    let pointer = field("path").ok_or("Invalid patch: an operation has no 'path'")?;
    let value = || {
        op.get("value")
            .cloned()
            .ok_or_else(|| format!("Invalid patch: '{kind}' needs a 'value'"))
    };
    if kind == "test" {
        let path = tokens(pointer)?;
        return match get(doc, &path) {
            Some(actual) if *actual == value()? => Ok(()),
            _ => Err(format!(
                "Invalid patch: test operation failed at path '{pointer}'"
            )),
        };
    }
    let path = check_editable(pointer)?;
    match kind {
        "add" => add(doc, &path, value()?),
        "remove" => remove(doc, &path).map(drop),
        "replace" => {
            let new = value()?;
            let slot = get_mut(doc, &path).ok_or_else(|| missing(&path))?;
            *slot = new;
            Ok(())
        }
        "move" | "copy" => {
            let from_pointer =
                field("from").ok_or_else(|| format!("Invalid patch: '{kind}' needs a 'from'"))?;
            let from = if kind == "move" {
                check_editable(from_pointer)?
            } else {
                tokens(from_pointer)?
            };
            let moved = if kind == "move" {
                remove(doc, &from)?
            } else {
                get(doc, &from).cloned().ok_or_else(|| missing(&from))?
            };
            add(doc, &path, moved)
        }
        other => Err(format!("Invalid patch: unknown operation '{other}'")),
    }
}

/// Applies `ops` to `doc`: all of them, or (on the first failure) none.
pub(crate) fn apply(doc: &Value, ops: &[Value]) -> Result<Value, PatchError> {
    let mut patched = doc.clone();
    for op in ops {
        apply_one(&mut patched, op)?;
    }
    Ok(patched)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn patient() -> Value {
        json!({"resourceType": "Patient", "id": "9000000009", "gender": "female",
               "name": [{"id": "123", "family": "Smith", "given": ["Jane"]}]})
    }

    #[test]
    fn applies_add_replace_remove_in_order() {
        let ops = [
            json!({"op": "replace", "path": "/gender", "value": "male"}),
            json!({"op": "add", "path": "/name/0/given/-", "value": "Anne"}),
            json!({"op": "add", "path": "/telecom/-", "value": {"system": "phone"}}),
            json!({"op": "remove", "path": "/name/0/id"}),
        ];
        let p = apply(&patient(), &ops).unwrap();
        assert_eq!(p["gender"], "male");
        assert_eq!(p["name"][0]["given"], json!(["Jane", "Anne"]));
        assert_eq!(p["telecom"], json!([{"system": "phone"}]));
        assert!(p["name"][0].get("id").is_none());
    }

    #[test]
    fn a_failed_test_applies_nothing() {
        let ops = [
            json!({"op": "replace", "path": "/gender", "value": "male"}),
            json!({"op": "test", "path": "/name/0/id", "value": "999"}),
        ];
        let err = apply(&patient(), &ops).unwrap_err();
        assert!(err.contains("test operation failed"), "{err}");
    }

    #[test]
    fn identity_cannot_be_patched() {
        for path in ["/id", "/identifier/0/value", "/meta/versionId", ""] {
            let ops = [json!({"op": "replace", "path": path, "value": "x"})];
            assert!(
                apply(&patient(), &ops).unwrap_err().contains("cannot be"),
                "{path}"
            );
        }
    }

    #[test]
    fn bad_paths_are_refused() {
        let cases = [
            json!({"op": "remove", "path": "/address"}),
            json!({"op": "replace", "path": "/name/5", "value": {}}),
            json!({"op": "add", "path": "/name/01", "value": {}}),
            json!({"op": "frobnicate", "path": "/gender"}),
        ];
        for op in cases {
            assert!(
                apply(&patient(), std::slice::from_ref(&op)).is_err(),
                "{op}"
            );
        }
    }
}
