//! Converting between the store's [`SqlValue`] and PostgreSQL's typed wire values.
//!
//! PostgreSQL types every parameter when a statement is prepared, and the binary
//! protocol needs the exact Rust type for each (an `i64` cannot be sent as an INT4).
//! So a value is bound by the parameter's type: a NULL becomes `None` of that type, an
//! integer becomes `i64`, `i32` or `i16`. Booleans and integers convert into each other
//! (SQLite keeps booleans as 0/1, and the store's SQL runs on both).

use postgres::types::{FromSql, ToSql, Type};
use store::{SqlValue, StoreError};

/// One value ready to send, typed for its parameter or column.
#[derive(Debug)]
pub enum Param<'a> {
    I64(Option<i64>),
    I32(Option<i32>),
    I16(Option<i16>),
    F64(Option<f64>),
    F32(Option<f32>),
    Bool(Option<bool>),
    Text(Option<&'a str>),
}

impl Param<'_> {
    pub fn as_sql(&self) -> &(dyn ToSql + Sync) {
        match self {
            Param::I64(v) => v,
            Param::I32(v) => v,
            Param::I16(v) => v,
            Param::F64(v) => v,
            Param::F32(v) => v,
            Param::Bool(v) => v,
            Param::Text(v) => v,
        }
    }
}

fn is_text(ty: &Type) -> bool {
    [
        Type::TEXT,
        Type::VARCHAR,
        Type::BPCHAR,
        Type::NAME,
        Type::UNKNOWN,
    ]
    .contains(ty)
}

/// `value` typed for a parameter (or COPY column) of type `ty`.
pub fn bind<'a>(value: &'a SqlValue, ty: &Type) -> Result<Param<'a>, StoreError> {
    let mismatch = || {
        let kind = match value {
            SqlValue::Null => "NULL",
            SqlValue::Int(_) => "an integer",
            SqlValue::Real(_) => "a real",
            SqlValue::Text(_) => "text",
            SqlValue::Bool(_) => "a boolean",
        };
        StoreError::Backend(format!("cannot bind {kind} to a parameter of type {ty}"))
    };
    let out_of_range =
        || StoreError::Backend(format!("integer out of range for a parameter of type {ty}"));
    let param = match value {
        SqlValue::Null => null_of(ty).ok_or_else(mismatch)?,
        SqlValue::Int(i) => {
            let i = *i;
            if *ty == Type::INT8 {
                Param::I64(Some(i))
            } else if *ty == Type::INT4 {
                Param::I32(Some(i32::try_from(i).map_err(|_| out_of_range())?))
            } else if *ty == Type::INT2 {
                Param::I16(Some(i16::try_from(i).map_err(|_| out_of_range())?))
            } else if *ty == Type::FLOAT8 {
                Param::F64(Some(i as f64))
            } else if *ty == Type::FLOAT4 {
                Param::F32(Some(i as f32))
            } else if *ty == Type::BOOL && (i == 0 || i == 1) {
                Param::Bool(Some(i == 1))
            } else {
                return Err(mismatch());
            }
        }
        SqlValue::Real(r) => {
            if *ty == Type::FLOAT8 {
                Param::F64(Some(*r))
            } else if *ty == Type::FLOAT4 {
                Param::F32(Some(*r as f32))
            } else {
                return Err(mismatch());
            }
        }
        SqlValue::Text(s) if is_text(ty) => Param::Text(Some(s)),
        SqlValue::Text(_) => return Err(mismatch()),
        SqlValue::Bool(b) => {
            if *ty == Type::BOOL {
                Param::Bool(Some(*b))
            } else if *ty == Type::INT8 {
                Param::I64(Some(*b as i64))
            } else if *ty == Type::INT4 {
                Param::I32(Some(*b as i32))
            } else if *ty == Type::INT2 {
                Param::I16(Some(*b as i16))
            } else {
                return Err(mismatch());
            }
        }
    };
    Ok(param)
}

fn null_of(ty: &Type) -> Option<Param<'static>> {
    let param = if *ty == Type::INT8 {
        Param::I64(None)
    } else if *ty == Type::INT4 {
        Param::I32(None)
    } else if *ty == Type::INT2 {
        Param::I16(None)
    } else if *ty == Type::FLOAT8 {
        Param::F64(None)
    } else if *ty == Type::FLOAT4 {
        Param::F32(None)
    } else if *ty == Type::BOOL {
        Param::Bool(None)
    } else if is_text(ty) {
        Param::Text(None)
    } else {
        return None;
    };
    Some(param)
}

/// Binds every parameter of a statement whose parameter types are `types`.
pub fn bind_all<'a>(values: &'a [SqlValue], types: &[Type]) -> Result<Vec<Param<'a>>, StoreError> {
    if values.len() != types.len() {
        return Err(StoreError::Backend(format!(
            "the statement has {} parameters but {} values were given",
            types.len(),
            values.len()
        )));
    }
    values
        .iter()
        .zip(types)
        .map(|(value, ty)| bind(value, ty))
        .collect()
}

/// A column value read back as a [`SqlValue`], whatever the column's type.
pub struct Cell(pub SqlValue);

type DecodeError = Box<dyn std::error::Error + Sync + Send>;

impl<'a> FromSql<'a> for Cell {
    fn from_sql(ty: &Type, raw: &'a [u8]) -> Result<Cell, DecodeError> {
        let value = if *ty == Type::INT8 {
            SqlValue::Int(i64::from_sql(ty, raw)?)
        } else if *ty == Type::INT4 {
            SqlValue::Int(i32::from_sql(ty, raw)?.into())
        } else if *ty == Type::INT2 {
            SqlValue::Int(i16::from_sql(ty, raw)?.into())
        } else if *ty == Type::OID {
            SqlValue::Int(u32::from_sql(ty, raw)?.into())
        } else if *ty == Type::FLOAT8 {
            SqlValue::Real(f64::from_sql(ty, raw)?)
        } else if *ty == Type::FLOAT4 {
            SqlValue::Real(f32::from_sql(ty, raw)?.into())
        } else if *ty == Type::BOOL {
            SqlValue::Bool(bool::from_sql(ty, raw)?)
        } else if *ty == Type::NUMERIC {
            crate::numeric::decode(raw)?
        } else if is_text(ty) || *ty == Type::JSON {
            SqlValue::Text(std::str::from_utf8(raw)?.to_string())
        } else if *ty == Type::JSONB {
            // Binary JSONB is a version byte (1) followed by the JSON text.
            match raw.split_first() {
                Some((1, text)) => SqlValue::Text(std::str::from_utf8(text)?.to_string()),
                _ => return Err("unsupported JSONB version".into()),
            }
        } else {
            return Err(format!("unsupported column type {ty}").into());
        };
        Ok(Cell(value))
    }

    fn from_sql_null(_ty: &Type) -> Result<Cell, DecodeError> {
        Ok(Cell(SqlValue::Null))
    }

    fn accepts(_ty: &Type) -> bool {
        true
    }
}

/// Every column of `row`, in SELECT order.
pub fn read_row(row: &postgres::Row) -> Result<Vec<SqlValue>, StoreError> {
    (0..row.len())
        .map(|i| match row.try_get::<_, Cell>(i) {
            Ok(cell) => Ok(cell.0),
            Err(e) => {
                let cause = std::error::Error::source(&e)
                    .map_or_else(|| e.to_string(), ToString::to_string);
                Err(StoreError::Backend(format!("reading column {i}: {cause}")))
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nulls_take_the_parameter_type() {
        assert!(matches!(
            bind(&SqlValue::Null, &Type::INT8).unwrap(),
            Param::I64(None)
        ));
        assert!(matches!(
            bind(&SqlValue::Null, &Type::BOOL).unwrap(),
            Param::Bool(None)
        ));
        assert!(matches!(
            bind(&SqlValue::Null, &Type::TEXT).unwrap(),
            Param::Text(None)
        ));
        assert!(matches!(
            bind(&SqlValue::Null, &Type::FLOAT8).unwrap(),
            Param::F64(None)
        ));
        assert!(bind(&SqlValue::Null, &Type::BYTEA).is_err());
    }

    #[test]
    fn integers_fit_narrower_columns_or_fail() {
        assert!(matches!(
            bind(&SqlValue::Int(7), &Type::INT4).unwrap(),
            Param::I32(Some(7))
        ));
        assert!(bind(&SqlValue::Int(i64::MAX), &Type::INT4).is_err());
        assert!(bind(&SqlValue::Int(40_000), &Type::INT2).is_err());
    }

    #[test]
    fn booleans_and_zero_one_integers_convert() {
        assert!(matches!(
            bind(&SqlValue::Int(1), &Type::BOOL).unwrap(),
            Param::Bool(Some(true))
        ));
        assert!(bind(&SqlValue::Int(2), &Type::BOOL).is_err());
        assert!(matches!(
            bind(&SqlValue::Bool(true), &Type::INT8).unwrap(),
            Param::I64(Some(1))
        ));
    }

    #[test]
    fn text_does_not_bind_to_numbers() {
        let err = bind(&SqlValue::Text("12".into()), &Type::INT8).unwrap_err();
        assert!(
            err.to_string()
                .contains("cannot bind text to a parameter of type int8"),
            "{err}"
        );
        // The message names the type, never the value.
        assert!(!err.to_string().contains("12"));
    }

    #[test]
    fn parameter_count_must_match() {
        assert!(bind_all(&[SqlValue::Int(1)], &[Type::INT8, Type::INT8]).is_err());
    }
}
