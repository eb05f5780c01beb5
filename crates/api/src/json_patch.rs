//! JSON Patch (RFC 6902) applied to a resource: add, remove, replace, move, copy, test.
//! Small enough to write here rather than take a crate for it.

use serde_json::Value;

/// Why a patch was not applied.
#[derive(Debug, PartialEq)]
pub enum PatchError {
    /// The patch document itself is malformed (400).
    Malformed(String),
    /// The patch is well-formed but does not apply to this resource: a path that is not
    /// there, or a `test` that failed (422).
    NotApplicable(String),
}

/// Applies every operation of `patch` (a JSON array) to `doc` in order. All or nothing:
/// on an error `doc` is left as it was.
pub fn apply(doc: &mut Value, patch: &Value) -> Result<(), PatchError> {
    let ops = patch
        .as_array()
        .ok_or_else(|| malformed("a JSON Patch is an array of operations"))?;
    let mut result = doc.clone();
    for (i, op) in ops.iter().enumerate() {
        apply_one(&mut result, op).map_err(|e| match e {
            PatchError::Malformed(m) => PatchError::Malformed(format!("operation {i}: {m}")),
            PatchError::NotApplicable(m) => {
                PatchError::NotApplicable(format!("operation {i}: {m}"))
            }
        })?;
    }
    *doc = result;
    Ok(())
}

fn malformed(message: impl Into<String>) -> PatchError {
    PatchError::Malformed(message.into())
}

fn not_applicable(message: impl Into<String>) -> PatchError {
    PatchError::NotApplicable(message.into())
}

fn apply_one(doc: &mut Value, op: &Value) -> Result<(), PatchError> {
    let member = |name: &str| -> Result<&str, PatchError> {
        op.get(name)
            .and_then(Value::as_str)
            .ok_or_else(|| malformed(format!("needs a string \"{name}\"")))
    };
    let value = || {
        op.get("value")
            .cloned()
            .ok_or_else(|| malformed("needs a \"value\""))
    };
    let path = parse_pointer(member("path")?)?;
    match member("op")? {
        "add" => add(doc, &path, value()?),
        "remove" => remove(doc, &path).map(drop),
        "replace" => {
            let new = value()?;
            *get_mut(doc, &path)? = new;
            Ok(())
        }
        "move" => {
            let from = parse_pointer(member("from")?)?;
            if path.len() > from.len() && path[..from.len()] == from[..] {
                return Err(malformed("cannot move a value into itself"));
            }
            let moved = remove(doc, &from)?;
            add(doc, &path, moved)
        }
        "copy" => {
            let from = parse_pointer(member("from")?)?;
            let copied = get_mut(doc, &from)?.clone();
            add(doc, &path, copied)
        }
        "test" => {
            let expected = value()?;
            if same(get_mut(doc, &path)?, &expected) {
                Ok(())
            } else {
                Err(not_applicable(format!(
                    "test failed: {} does not hold the value given",
                    pointer_text(&path)
                )))
            }
        }
        other => Err(malformed(format!("unknown op \"{other}\""))),
    }
}

/// `/a/b~1c` -> `["a", "b/c"]` (RFC 6901); `""` is the whole document.
fn parse_pointer(text: &str) -> Result<Vec<String>, PatchError> {
    if text.is_empty() {
        return Ok(Vec::new());
    }
    let rest = text
        .strip_prefix('/')
        .ok_or_else(|| malformed(format!("\"{text}\" is not a JSON Pointer")))?;
    Ok(rest
        .split('/')
        .map(|t| t.replace("~1", "/").replace("~0", "~"))
        .collect())
}

fn pointer_text(path: &[String]) -> String {
    path.iter()
        .map(|t| format!("/{}", t.replace('~', "~0").replace('/', "~1")))
        .collect()
}

/// An array index as RFC 6901 writes it: digits, no leading zero.
fn index(token: &str, len: usize, path: &[String]) -> Result<usize, PatchError> {
    let valid = !token.is_empty()
        && token.bytes().all(|b| b.is_ascii_digit())
        && (token == "0" || !token.starts_with('0'));
    match token.parse::<usize>() {
        Ok(i) if valid && i < len => Ok(i),
        _ => Err(not_applicable(format!(
            "{} is not an element of the array",
            pointer_text(path)
        ))),
    }
}

fn get_mut<'a>(doc: &'a mut Value, path: &[String]) -> Result<&'a mut Value, PatchError> {
    let mut here = doc;
    for (depth, token) in path.iter().enumerate() {
        let so_far = &path[..=depth];
        here = match here {
            Value::Object(map) => map.get_mut(token),
            Value::Array(items) => {
                let i = index(token, items.len(), so_far)?;
                items.get_mut(i)
            }
            _ => None,
        }
        .ok_or_else(|| not_applicable(format!("{} is not there", pointer_text(so_far))))?;
    }
    Ok(here)
}

fn add(doc: &mut Value, path: &[String], value: Value) -> Result<(), PatchError> {
    let Some((last, parent_path)) = path.split_last() else {
        *doc = value;
        return Ok(());
    };
    match get_mut(doc, parent_path)? {
        Value::Object(map) => {
            map.insert(last.clone(), value);
            Ok(())
        }
        Value::Array(items) => {
            let at = if last == "-" {
                items.len()
            } else {
                // Adding may append: one past the end is allowed.
                index(last, items.len() + 1, path)?
            };
            items.insert(at, value);
            Ok(())
        }
        _ => Err(not_applicable(format!(
            "{} is not inside an object or array",
            pointer_text(path)
        ))),
    }
}

fn remove(doc: &mut Value, path: &[String]) -> Result<Value, PatchError> {
    let (last, parent_path) = path
        .split_last()
        .ok_or_else(|| malformed("cannot remove the whole resource"))?;
    let missing = || not_applicable(format!("{} is not there", pointer_text(path)));
    match get_mut(doc, parent_path)? {
        // shift_remove keeps the order of the other elements as written.
        Value::Object(map) => map.shift_remove(last).ok_or_else(missing),
        Value::Array(items) => {
            let i = index(last, items.len(), path)?;
            Ok(items.remove(i))
        }
        _ => Err(missing()),
    }
}

/// JSON equality as RFC 6902 `test` means it: numbers by value (`1.0` equals `1`).
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            x == y || (x.as_f64().is_some() && x.as_f64() == y.as_f64())
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| same(p, q))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
        }
        _ => a == b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn patched(doc: Value, patch: Value) -> Result<Value, PatchError> {
        let mut doc = doc;
        apply(&mut doc, &patch).map(|()| doc)
    }

    #[test]
    fn each_operation_does_what_rfc_6902_says() {
        let doc = json!({"name": [{"family": "Smith", "given": ["Ann"]}], "gender": "female"});
        let out = patched(
            doc,
            json!([
                {"op": "add", "path": "/name/0/given/-", "value": "Marie"},
                {"op": "add", "path": "/name/0/given/0", "value": "Dr"},
                {"op": "replace", "path": "/gender", "value": "other"},
                {"op": "copy", "from": "/name/0/family", "path": "/alias"},
                {"op": "move", "from": "/alias", "path": "/name/0/text"},
                {"op": "remove", "path": "/name/0/given/0"},
                {"op": "test", "path": "/name/0/given", "value": ["Ann", "Marie"]},
                {"op": "add", "path": "/a~1b", "value": 1.0},
                {"op": "test", "path": "/a~1b", "value": 1}
            ]),
        )
        .unwrap();
        assert_eq!(
            out,
            json!({"name": [{"family": "Smith", "given": ["Ann", "Marie"], "text": "Smith"}],
                   "gender": "other", "a/b": 1.0})
        );
    }

    #[test]
    fn failures_change_nothing_and_say_which_kind() {
        let doc = json!({"gender": "female", "name": [{"family": "Smith"}]});
        let failed_test = json!([
            {"op": "replace", "path": "/gender", "value": "male"},
            {"op": "test", "path": "/name/0/family", "value": "Jones"}
        ]);
        let mut copy = doc.clone();
        assert!(matches!(
            apply(&mut copy, &failed_test),
            Err(PatchError::NotApplicable(_))
        ));
        assert_eq!(copy, doc, "a failed patch changed the resource");
        for not_there in [
            json!([{"op": "remove", "path": "/birthDate"}]),
            json!([{"op": "replace", "path": "/name/1/family", "value": "X"}]),
            json!([{"op": "add", "path": "/name/01", "value": {}}]),
            json!([{"op": "add", "path": "/telecom/0/value", "value": "x"}]),
        ] {
            assert!(
                matches!(
                    patched(doc.clone(), not_there.clone()),
                    Err(PatchError::NotApplicable(_))
                ),
                "{not_there}"
            );
        }
        for malformed in [
            json!({"op": "add"}),
            json!([{"op": "frobnicate", "path": "/gender"}]),
            json!([{"op": "add", "path": "gender", "value": 1}]),
            json!([{"op": "add", "path": "/x"}]),
            json!([{"op": "move", "from": "/name", "path": "/name/0"}]),
        ] {
            assert!(
                matches!(
                    patched(doc.clone(), malformed.clone()),
                    Err(PatchError::Malformed(_))
                ),
                "{malformed}"
            );
        }
    }
}
