//! A minimal DER reader: just enough to walk RFC 3161 time-stamp tokens (CMS SignedData) and
//! X.509 certificates. Definite lengths only (DER never uses indefinite ones).

/// One TLV element borrowed from the input.
#[derive(Debug, Clone, Copy)]
pub struct Tlv<'a> {
    pub tag: u8,
    /// The value bytes (without tag and length).
    pub value: &'a [u8],
    /// The whole element: tag, length and value.
    pub raw: &'a [u8],
}

/// Malformed DER.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed DER: {0}")]
pub struct DerError(pub String);

fn err<T>(msg: impl Into<String>) -> Result<T, DerError> {
    Err(DerError(msg.into()))
}

/// Reads one element from the front of `input`; returns it and the rest.
pub fn read(input: &[u8]) -> Result<(Tlv<'_>, &[u8]), DerError> {
    let Some((&tag, rest)) = input.split_first() else {
        return err("unexpected end of input");
    };
    if tag & 0x1f == 0x1f {
        return err("high tag numbers are not supported");
    }
    let Some((&l0, mut rest)) = rest.split_first() else {
        return err("missing length");
    };
    let len = if l0 < 0x80 {
        l0 as usize
    } else {
        let n = (l0 & 0x7f) as usize;
        if n == 0 || n > 4 || rest.len() < n {
            return err("bad length");
        }
        let mut len = 0usize;
        for &b in &rest[..n] {
            len = (len << 8) | b as usize;
        }
        rest = &rest[n..];
        len
    };
    if rest.len() < len {
        return err(format!("element of {len} bytes runs past the end"));
    }
    let header = input.len() - rest.len();
    Ok((
        Tlv {
            tag,
            value: &rest[..len],
            raw: &input[..header + len],
        },
        &rest[len..],
    ))
}

/// Reads one element and requires its tag.
pub fn expect<'a>(input: &'a [u8], tag: u8, what: &str) -> Result<(Tlv<'a>, &'a [u8]), DerError> {
    let (t, rest) = read(input)?;
    if t.tag != tag {
        return err(format!(
            "{what}: expected tag {tag:#04x}, found {:#04x}",
            t.tag
        ));
    }
    Ok((t, rest))
}

/// All elements inside a constructed value.
pub fn children(value: &[u8]) -> Result<Vec<Tlv<'_>>, DerError> {
    let mut out = Vec::new();
    let mut rest = value;
    while !rest.is_empty() {
        let (t, r) = read(rest)?;
        out.push(t);
        rest = r;
    }
    Ok(out)
}

pub const SEQUENCE: u8 = 0x30;
pub const SET: u8 = 0x31;
pub const INTEGER: u8 = 0x02;
pub const OCTET_STRING: u8 = 0x04;
pub const BIT_STRING: u8 = 0x03;
pub const OID: u8 = 0x06;
pub const NULL: u8 = 0x05;
pub const BOOLEAN: u8 = 0x01;
pub const GENERALIZED_TIME: u8 = 0x18;

/// Encodes a length.
fn len_bytes(len: usize) -> Vec<u8> {
    if len < 0x80 {
        vec![len as u8]
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|&&b| b == 0).count();
        let mut out = vec![0x80 | (bytes.len() - skip) as u8];
        out.extend_from_slice(&bytes[skip..]);
        out
    }
}

/// Encodes one element.
pub fn encode(tag: u8, value: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    out.extend(len_bytes(value.len()));
    out.extend_from_slice(value);
    out
}

/// Encodes an OID from its dotted form (only for the constants below).
pub fn oid_bytes(dotted: &str) -> Vec<u8> {
    let arcs: Vec<u64> = dotted.split('.').filter_map(|a| a.parse().ok()).collect();
    let mut out = Vec::new();
    if arcs.len() < 2 {
        return out;
    }
    let mut push = |mut v: u64| {
        let mut tmp = vec![(v & 0x7f) as u8];
        v >>= 7;
        while v > 0 {
            tmp.push(0x80 | (v & 0x7f) as u8);
            v >>= 7;
        }
        tmp.reverse();
        out.extend(tmp);
    };
    push(arcs[0] * 40 + arcs[1]);
    for &a in &arcs[2..] {
        push(a);
    }
    out
}

/// Decodes OID content bytes to dotted form.
pub fn oid_string(value: &[u8]) -> String {
    let mut arcs = Vec::new();
    let mut acc: u64 = 0;
    for (i, &b) in value.iter().enumerate() {
        acc = (acc << 7) | (b & 0x7f) as u64;
        if b & 0x80 == 0 {
            if arcs.is_empty() && i < value.len() {
                let first = if acc < 80 { acc / 40 } else { 2 };
                arcs.push(first);
                arcs.push(acc - first * 40);
            } else {
                arcs.push(acc);
            }
            acc = 0;
        }
    }
    arcs.iter()
        .map(|a| a.to_string())
        .collect::<Vec<_>>()
        .join(".")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oid_round_trip() {
        for o in [
            "2.16.840.1.101.3.4.2.1",
            "1.2.840.113549.1.9.16.1.4",
            "1.3.6.1.5.5.7.3.8",
        ] {
            assert_eq!(oid_string(&oid_bytes(o)), o);
        }
    }

    #[test]
    fn long_lengths_round_trip() {
        let v = vec![7u8; 300];
        let e = encode(OCTET_STRING, &v);
        let (t, rest) = read(&e).unwrap();
        assert!(rest.is_empty());
        assert_eq!(t.value, &v[..]);
    }
}
