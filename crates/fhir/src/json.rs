//! Parsing JSON strictly: an object that names the same key twice is refused. JSON
//! (RFC 8259) leaves the meaning of a duplicate key open, so two readers of the same
//! body could disagree about a patient's gender; FHIR JSON forbids it.

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};
use std::fmt;

/// serde_json (with `arbitrary_precision`) hands a number to a visitor as a one-key map
/// whose value is the number's text.
const NUMBER_TOKEN: &str = "$serde_json::private::Number";

/// Parses `bytes` as JSON, refusing duplicate keys at any depth (nested objects, Bundle
/// entries, contained resources). The error says what is wrong and where. One pass: the
/// value is built as it is read, and a key that is already in its object is refused.
pub fn parse_strict(bytes: &[u8]) -> Result<Value, String> {
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value = StrictValue
        .deserialize(&mut deserializer)
        .and_then(|value| deserializer.end().map(|()| value))
        .map_err(|e| e.to_string())?;
    Ok(value)
}

/// Builds a `Value` as serde_json does, except that an object may not repeat a key.
#[derive(Clone, Copy)]
struct StrictValue;

impl<'de> DeserializeSeed<'de> for StrictValue {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for StrictValue {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        Number::from_f64(v)
            .map(Value::Number)
            .ok_or_else(|| E::custom("a number that is not finite"))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_string()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(item) = seq.next_element_seed(self)? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut object = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if key == NUMBER_TOKEN && object.is_empty() {
                let digits: String = map.next_value()?;
                return digits
                    .parse::<Number>()
                    .map(Value::Number)
                    .map_err(de::Error::custom);
            }
            if object.contains_key(&key) {
                return Err(de::Error::custom(format!(
                    "the key \"{key}\" appears twice in one object"
                )));
            }
            let value = map.next_value_seed(self)?;
            object.insert(key, value);
        }
        Ok(Value::Object(object))
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
        assert!(parse_strict(b"{} {}").is_err(), "trailing content");
    }

    #[test]
    fn builds_the_same_value_as_serde_json() {
        let body = br#"{"resourceType":"Observation","b":[1e3,-0.0,1.50,12345678901234567890123],
            "s":"caf\u00e9 \"q\"","n":null,"o":{"z":[],"a":{}},"t":false}"#;
        let strict = parse_strict(body).unwrap();
        assert_eq!(strict, serde_json::from_slice::<Value>(body).unwrap());
        assert_eq!(
            strict.to_string(),
            serde_json::from_slice::<Value>(body).unwrap().to_string()
        );
    }
}
