//! Parsing JSON strictly: an object that names the same key twice is refused. JSON
//! (RFC 8259) leaves the meaning of a duplicate key open, so two readers of the same
//! body could disagree about a patient's gender; FHIR JSON forbids it.

use serde::de::{
    self, Deserialize, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor,
};
use serde_json::Value;
use std::borrow::Cow;
use std::collections::HashSet;
use std::fmt;

/// Objects with more keys than this are checked with a hash set.
const LIST_LIMIT: usize = 32;

/// Parses `bytes` as JSON, refusing duplicate keys at any depth (nested objects, Bundle
/// entries, contained resources). The error says what is wrong and where.
pub fn parse_strict(bytes: &[u8]) -> Result<Value, String> {
    let value: Value = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
    // The body is valid JSON: a second pass over it looks at the keys only.
    serde_json::from_slice::<NoDuplicates>(bytes).map_err(|e| e.to_string())?;
    Ok(value)
}

/// Any JSON value whose objects have no repeated keys.
struct NoDuplicates;

impl<'de> Deserialize<'de> for NoDuplicates {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(NoDuplicatesVisitor)
    }
}

struct NoDuplicatesVisitor;

impl<'de> Visitor<'de> for NoDuplicatesVisitor {
    type Value = NoDuplicates;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<NoDuplicates, E> {
        Ok(NoDuplicates)
    }
    fn visit_i64<E>(self, _: i64) -> Result<NoDuplicates, E> {
        Ok(NoDuplicates)
    }
    fn visit_u64<E>(self, _: u64) -> Result<NoDuplicates, E> {
        Ok(NoDuplicates)
    }
    fn visit_f64<E>(self, _: f64) -> Result<NoDuplicates, E> {
        Ok(NoDuplicates)
    }
    fn visit_str<E>(self, _: &str) -> Result<NoDuplicates, E> {
        Ok(NoDuplicates)
    }
    fn visit_unit<E>(self) -> Result<NoDuplicates, E> {
        Ok(NoDuplicates)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<NoDuplicates, A::Error> {
        while seq.next_element::<NoDuplicates>()?.is_some() {}
        Ok(NoDuplicates)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<NoDuplicates, A::Error> {
        // FHIR objects have few keys: a list is quicker than hashing them. A hostile
        // object with very many keys is checked with a set, so it cannot cost n².
        let mut few: Vec<Cow<'de, str>> = Vec::new();
        let mut many: HashSet<Cow<'de, str>> = HashSet::new();
        while let Some(key) = map.next_key_seed(KeySeed)? {
            // serde_json's arbitrary-precision numbers arrive as a one-key map whose
            // value is the number's text.
            if key == "$serde_json::private::Number" {
                map.next_value::<IgnoredAny>()?;
                continue;
            }
            let repeated = if few.len() < LIST_LIMIT {
                let repeated = few.contains(&key);
                few.push(key.clone());
                repeated
            } else {
                if many.is_empty() {
                    many.extend(few.iter().cloned());
                }
                !many.insert(key.clone())
            };
            if repeated {
                return Err(de::Error::custom(format!(
                    "the key \"{key}\" appears twice in one object"
                )));
            }
            map.next_value::<NoDuplicates>()?;
        }
        Ok(NoDuplicates)
    }
}

/// An object key, borrowed from the input when it has no escapes.
struct KeySeed;

impl<'de> DeserializeSeed<'de> for KeySeed {
    type Value = Cow<'de, str>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeySeed {
    type Value = Cow<'de, str>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object key")
    }
    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Cow::Borrowed(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_a_duplicate_key_at_any_depth() {
        let top = br#"{"resourceType":"Patient","gender":"male","gender":"female"}"#;
        let err = parse_strict(top).unwrap_err();
        assert!(err.contains("\"gender\" appears twice"), "{err}");
        let nested = br#"{"resourceType":"Patient","name":[{"family":"A","family":"B"}]}"#;
        assert!(parse_strict(nested).is_err());
        let bundle = br#"{"resourceType":"Bundle","type":"transaction","entry":[
            {"resource":{"resourceType":"Observation","status":"final","status":"amended"}}]}"#;
        assert!(parse_strict(bundle).is_err());
    }

    #[test]
    fn keeps_what_is_valid_as_written() {
        let body = br#"{"resourceType":"Observation","valueQuantity":{"value":1.50},
            "a":[{"x":1},{"x":2}],"b":null,"c":true,"d":-3}"#;
        let value = parse_strict(body).unwrap();
        assert_eq!(value["valueQuantity"]["value"].to_string(), "1.50");
        assert_eq!(value["a"][1]["x"], 2);
        // Large objects too, either side of the switch to a set.
        let keys: Vec<String> = (0..100).map(|i| format!("\"k{i}\":{i}")).collect();
        let big = format!("{{{}}}", keys.join(","));
        assert!(parse_strict(big.as_bytes()).is_ok());
        for repeat in [5, 50] {
            let twice = format!("{{{},\"k{repeat}\":0}}", keys.join(","));
            assert!(parse_strict(twice.as_bytes()).is_err(), "k{repeat}");
        }
        let early = format!("{{\"k3\":0,{}}}", keys[..40].join(","));
        assert!(parse_strict(early.as_bytes()).is_err());
        // The same key in sibling objects is not a duplicate.
        assert!(parse_strict(br#"[{"k":1},{"k":2}]"#).is_ok());
        assert!(parse_strict(b"{\"a\":").is_err());
    }
}
