//! Canonical JSON: the exact bytes that are hashed and signed.
//!
//! Rules: object keys sorted by their UTF-8 bytes at every level, no insignificant whitespace,
//! strings escaped the way `serde_json` escapes them (`"`, `\`, control characters; everything
//! else as UTF-8), integers in plain decimal, and **no floating-point numbers** (an `f64` in a
//! hashed value is an error, since float printing is not stable across tools). This matches
//! RFC 8785 (JCS) for the values mapsweep writes (ASCII keys, integers only).

use serde::Serialize;
use serde_json::Value;

/// Why a value has no canonical form.
#[derive(Debug, thiserror::Error)]
pub enum CanonicalError {
    #[error("floating-point number {value} at {path} is not allowed in a hashed value")]
    Float { path: String, value: String },
    #[error("cannot serialise value: {0}")]
    Serialise(#[from] serde_json::Error),
}

/// Serialises any value to its canonical JSON bytes.
pub fn to_vec<T: Serialize>(value: &T) -> Result<Vec<u8>, CanonicalError> {
    let v = serde_json::to_value(value)?;
    value_to_vec(&v)
}

/// Canonical bytes of a JSON value.
pub fn value_to_vec(v: &Value) -> Result<Vec<u8>, CanonicalError> {
    let mut out = Vec::with_capacity(1024);
    write(v, &mut out, "$")?;
    Ok(out)
}

/// True when `bytes` are exactly the canonical form of the JSON they hold.
pub fn is_canonical(bytes: &[u8]) -> bool {
    match serde_json::from_slice::<Value>(bytes) {
        Ok(v) => value_to_vec(&v).map(|c| c == bytes).unwrap_or(false),
        Err(_) => false,
    }
}

fn write(v: &Value, out: &mut Vec<u8>, path: &str) -> Result<(), CanonicalError> {
    match v {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        Value::Number(n) => {
            if n.is_f64() {
                return Err(CanonicalError::Float {
                    path: path.to_string(),
                    value: n.to_string(),
                });
            }
            out.extend_from_slice(n.to_string().as_bytes());
        }
        Value::String(s) => serde_json::to_writer(&mut *out, s)?,
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write(item, out, &format!("{path}[{i}]"))?;
            }
            out.push(b']');
        }
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
            out.push(b'{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                serde_json::to_writer(&mut *out, k)?;
                out.push(b':');
                write(&map[k], out, &format!("{path}.{k}"))?;
            }
            out.push(b'}');
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn sorts_keys_at_every_level_and_drops_whitespace() {
        let v = json!({"b": 1, "a": {"z": [true, null], "y": "é\"\n"}});
        let got = String::from_utf8(value_to_vec(&v).unwrap()).unwrap();
        assert_eq!(got, r#"{"a":{"y":"é\"\n","z":[true,null]},"b":1}"#);
        assert!(is_canonical(got.as_bytes()));
        assert!(!is_canonical(br#"{"b":1,"a":2}"#));
        assert!(!is_canonical(br#"{"a": 2}"#));
    }

    #[test]
    fn refuses_floats_naming_the_path() {
        let err = value_to_vec(&json!({"x": [1, 2.5]})).unwrap_err();
        assert!(err.to_string().contains("$.x[1]"), "{err}");
    }
}
