//! RFC 3161 trusted time: a small client (build a `TimeStampReq`, POST it, check the
//! `TimeStampResp`) and a verifier for the token (a CMS `SignedData` holding a `TSTInfo`).
//!
//! [`verify_tsa_token`] checks, without any network or data dir:
//! 1. the token parses as CMS SignedData whose content type is id-ct-TSTInfo;
//! 2. the TSTInfo message imprint is SHA-256 and equals the expected digest;
//! 3. the TSTInfo time (genTime) parses; it is returned as RFC 3339;
//! 4. the signed attributes hold a content-type of id-ct-TSTInfo and a message digest equal to
//!    the digest of the TSTInfo (SHA-256/384/512);
//! 5. the signature over the signed attributes verifies (RSA PKCS#1 v1.5) with the public key
//!    of the signer certificate embedded in the token (matched by issuer and serial number).
//!
//! Not checked here: that the TSA certificate chains to a trusted root, its validity period,
//! its extendedKeyUsage, revocation, and the ESS signing-certificate attribute. Do that with
//! `openssl ts -verify -in <token> -token_in -digest <hex> -CAfile <tsa-ca.pem>`, using the CA
//! certificate the TSA publishes. ECDSA-signed tokens are reported as an unsupported algorithm.

use super::der::{self, Tlv};
use sha2::{Digest, Sha256, Sha384, Sha512};

const OID_SHA256: &str = "2.16.840.1.101.3.4.2.1";
const OID_SHA384: &str = "2.16.840.1.101.3.4.2.2";
const OID_SHA512: &str = "2.16.840.1.101.3.4.2.3";
const OID_SIGNED_DATA: &str = "1.2.840.113549.1.7.2";
const OID_TST_INFO: &str = "1.2.840.113549.1.9.16.1.4";
const OID_CONTENT_TYPE: &str = "1.2.840.113549.1.9.3";
const OID_MESSAGE_DIGEST: &str = "1.2.840.113549.1.9.4";
const OID_RSA: &str = "1.2.840.113549.1.1.1";
const OID_SHA256_RSA: &str = "1.2.840.113549.1.1.11";
const OID_SHA384_RSA: &str = "1.2.840.113549.1.1.12";
const OID_SHA512_RSA: &str = "1.2.840.113549.1.1.13";

/// Errors talking to a TSA or checking a token.
#[derive(Debug, thiserror::Error)]
pub enum TsaError {
    #[error("time-stamp authority {url}: {message}")]
    Http { url: String, message: String },
    #[error("time-stamp authority {url} refused the request: status {status}{text}")]
    Refused {
        url: String,
        status: i64,
        text: String,
    },
    #[error("time-stamp token is malformed: {0}")]
    Malformed(String),
    #[error("time-stamp token imprint does not match: expected {expected}, found {found}")]
    ImprintMismatch { expected: String, found: String },
    #[error("time-stamp reply nonce does not match the request")]
    NonceMismatch,
    #[error("time-stamp token signature is invalid: {0}")]
    BadSignature(String),
    #[error("time-stamp token uses an unsupported algorithm {0}")]
    Unsupported(String),
}

impl From<der::DerError> for TsaError {
    fn from(e: der::DerError) -> Self {
        TsaError::Malformed(e.0)
    }
}

/// What a verified token says.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TsaTokenInfo {
    /// The TSA's time (TSTInfo genTime) as RFC 3339 UTC.
    pub gen_time: String,
    /// TSTInfo serial number, hex.
    pub serial: String,
    /// TSA policy OID.
    pub policy: String,
    /// The SHA-256 message imprint, hex.
    pub imprint_sha256: String,
}

fn alg_id(oid: &str) -> Vec<u8> {
    let mut v = der::encode(der::OID, &der::oid_bytes(oid));
    v.extend(der::encode(der::NULL, &[]));
    der::encode(der::SEQUENCE, &v)
}

/// DER `TimeStampReq` for a SHA-256 imprint, asking for the TSA certificate in the token.
pub fn build_request(sha256: &[u8; 32], nonce: &[u8; 8]) -> Vec<u8> {
    let mut body = der::encode(der::INTEGER, &[1]);
    let mut imprint = alg_id(OID_SHA256);
    imprint.extend(der::encode(der::OCTET_STRING, sha256));
    body.extend(der::encode(der::SEQUENCE, &imprint));
    body.extend(der::encode(der::INTEGER, &positive_int(nonce)));
    body.extend(der::encode(der::BOOLEAN, &[0xff]));
    der::encode(der::SEQUENCE, &body)
}

fn positive_int(bytes: &[u8]) -> Vec<u8> {
    let trimmed: Vec<u8> = {
        let skip = bytes
            .iter()
            .take_while(|&&b| b == 0)
            .count()
            .min(bytes.len().saturating_sub(1));
        bytes[skip..].to_vec()
    };
    if trimmed.first().is_some_and(|b| b & 0x80 != 0) {
        let mut v = vec![0];
        v.extend(trimmed);
        v
    } else {
        trimmed
    }
}

/// Asks the TSA at `url` for a token over `sha256`; returns the token (CMS ContentInfo DER).
pub async fn request_token(
    client: &reqwest::Client,
    url: &str,
    sha256: &[u8; 32],
) -> Result<Vec<u8>, TsaError> {
    let mut nonce = [0u8; 8];
    getrandom::fill(&mut nonce).map_err(|e| TsaError::Http {
        url: url.to_string(),
        message: format!("no randomness for the nonce: {e}"),
    })?;
    let req = build_request(sha256, &nonce);
    let http = |message: String| TsaError::Http {
        url: url.to_string(),
        message,
    };
    let resp = client
        .post(url)
        .header("content-type", "application/timestamp-query")
        .body(req)
        .send()
        .await
        .map_err(|e| http(e.to_string()))?;
    if !resp.status().is_success() {
        return Err(http(format!("HTTP status {}", resp.status())));
    }
    let body = resp.bytes().await.map_err(|e| http(e.to_string()))?;
    let token = parse_response(url, &body)?;
    let info = verify_tsa_token(&token, sha256)?;
    let _ = info;
    if tst_nonce(&token)?.as_deref() != Some(&positive_int(&nonce)[..]) {
        return Err(TsaError::NonceMismatch);
    }
    Ok(token)
}

/// Extracts the token from a DER `TimeStampResp`, failing on a refusal.
pub fn parse_response(url: &str, resp: &[u8]) -> Result<Vec<u8>, TsaError> {
    let (outer, _) = der::expect(resp, der::SEQUENCE, "TimeStampResp")?;
    let parts = der::children(outer.value)?;
    let Some(status_info) = parts.first() else {
        return Err(TsaError::Malformed("empty TimeStampResp".into()));
    };
    let fields = der::children(status_info.value)?;
    let status = fields
        .first()
        .filter(|t| t.tag == der::INTEGER)
        .map(|t| int_value(t.value))
        .ok_or_else(|| TsaError::Malformed("PKIStatusInfo without status".into()))?;
    if status != 0 && status != 1 {
        let text = fields
            .get(1)
            .filter(|t| t.tag == der::SEQUENCE)
            .and_then(|t| der::children(t.value).ok())
            .map(|s| {
                s.iter()
                    .map(|x| String::from_utf8_lossy(x.value).into_owned())
                    .collect::<Vec<_>>()
                    .join("; ")
            })
            .map(|s| format!(" ({s})"))
            .unwrap_or_default();
        return Err(TsaError::Refused {
            url: url.to_string(),
            status,
            text,
        });
    }
    let Some(token) = parts.get(1) else {
        return Err(TsaError::Malformed("granted reply without a token".into()));
    };
    Ok(token.raw.to_vec())
}

fn int_value(v: &[u8]) -> i64 {
    v.iter().fold(0i64, |acc, &b| (acc << 8) | b as i64)
}

struct Parsed<'a> {
    tst_info: &'a [u8],
    certs: Vec<Tlv<'a>>,
    signer: Tlv<'a>,
}

fn parse_token(token: &[u8]) -> Result<Parsed<'_>, TsaError> {
    let (ci, _) = der::expect(token, der::SEQUENCE, "ContentInfo")?;
    let ci = der::children(ci.value)?;
    let (Some(ct), Some(content)) = (ci.first(), ci.get(1)) else {
        return Err(TsaError::Malformed(
            "ContentInfo needs type and content".into(),
        ));
    };
    if ct.tag != der::OID || der::oid_string(ct.value) != OID_SIGNED_DATA {
        return Err(TsaError::Malformed("content type is not SignedData".into()));
    }
    let (sd, _) = der::expect(content.value, der::SEQUENCE, "SignedData")?;
    let sd = der::children(sd.value)?;
    let encap = sd
        .get(2)
        .filter(|t| t.tag == der::SEQUENCE)
        .ok_or_else(|| TsaError::Malformed("SignedData without encapContentInfo".into()))?;
    let encap = der::children(encap.value)?;
    let (Some(ect), Some(econtent)) = (encap.first(), encap.get(1)) else {
        return Err(TsaError::Malformed(
            "encapContentInfo without content".into(),
        ));
    };
    if der::oid_string(ect.value) != OID_TST_INFO {
        return Err(TsaError::Malformed(
            "encapsulated content is not TSTInfo".into(),
        ));
    }
    let (octets, _) = der::expect(econtent.value, der::OCTET_STRING, "eContent")?;
    let mut certs = Vec::new();
    let mut signer_infos = None;
    for t in &sd[3..] {
        match t.tag {
            0xa0 => certs = der::children(t.value)?,
            0xa1 => {}
            der::SET => signer_infos = Some(*t),
            _ => {}
        }
    }
    let infos =
        signer_infos.ok_or_else(|| TsaError::Malformed("SignedData without signerInfos".into()))?;
    let infos = der::children(infos.value)?;
    let [signer] = infos.as_slice() else {
        return Err(TsaError::Malformed(format!(
            "expected one SignerInfo, found {}",
            infos.len()
        )));
    };
    Ok(Parsed {
        tst_info: octets.value,
        certs,
        signer: *signer,
    })
}

fn tst_nonce(token: &[u8]) -> Result<Option<Vec<u8>>, TsaError> {
    let p = parse_token(token)?;
    let (tst, _) = der::expect(p.tst_info, der::SEQUENCE, "TSTInfo")?;
    let f = der::children(tst.value)?;
    // version, policy, imprint, serial, genTime, [accuracy SEQ], [ordering BOOL], [nonce INT]
    Ok(f.iter()
        .skip(5)
        .find(|t| t.tag == der::INTEGER)
        .map(|t| t.value.to_vec()))
}

fn digest(oid: &str, data: &[u8]) -> Result<Vec<u8>, TsaError> {
    Ok(match oid {
        OID_SHA256 => Sha256::digest(data).to_vec(),
        OID_SHA384 => Sha384::digest(data).to_vec(),
        OID_SHA512 => Sha512::digest(data).to_vec(),
        other => return Err(TsaError::Unsupported(format!("digest {other}"))),
    })
}

fn alg_oid(t: &Tlv<'_>) -> Result<String, TsaError> {
    let (oid, _) = der::expect(t.value, der::OID, "AlgorithmIdentifier")?;
    Ok(der::oid_string(oid.value))
}

/// Verifies a time-stamp token against the SHA-256 digest it should cover (see module docs
/// for exactly what is and is not checked).
pub fn verify_tsa_token(
    token_der: &[u8],
    expected_sha256: &[u8; 32],
) -> Result<TsaTokenInfo, TsaError> {
    let p = parse_token(token_der)?;
    // TSTInfo
    let (tst, _) = der::expect(p.tst_info, der::SEQUENCE, "TSTInfo")?;
    let f = der::children(tst.value)?;
    if f.len() < 5 {
        return Err(TsaError::Malformed("TSTInfo is too short".into()));
    }
    let policy = der::oid_string(f[1].value);
    let imprint = der::children(f[2].value)?;
    let (Some(halg), Some(hval)) = (imprint.first(), imprint.get(1)) else {
        return Err(TsaError::Malformed("bad messageImprint".into()));
    };
    let halg = alg_oid(halg)?;
    if halg != OID_SHA256 {
        return Err(TsaError::Unsupported(format!("imprint hash {halg}")));
    }
    if hval.value != expected_sha256 {
        return Err(TsaError::ImprintMismatch {
            expected: hex::encode(expected_sha256),
            found: hex::encode(hval.value),
        });
    }
    let serial = hex::encode(f[3].value);
    if f[4].tag != der::GENERALIZED_TIME {
        return Err(TsaError::Malformed("TSTInfo genTime missing".into()));
    }
    let gen_time = generalized_time(f[4].value)?;

    // SignerInfo
    let si = der::children(p.signer.value)?;
    if si.len() < 5 {
        return Err(TsaError::Malformed("SignerInfo is too short".into()));
    }
    let sid = si[1];
    let digest_alg = alg_oid(&si[2])?;
    let Some(attrs) = si.get(3).filter(|t| t.tag == 0xa0) else {
        return Err(TsaError::Malformed(
            "SignerInfo without signed attributes".into(),
        ));
    };
    let sig_alg = alg_oid(&si[4])?;
    let sig = si
        .get(5)
        .filter(|t| t.tag == der::OCTET_STRING)
        .ok_or_else(|| TsaError::Malformed("SignerInfo without signature".into()))?;
    let mut content_type_ok = false;
    let mut message_digest = None;
    for a in der::children(attrs.value)? {
        let parts = der::children(a.value)?;
        let (Some(ty), Some(vals)) = (parts.first(), parts.get(1)) else {
            continue;
        };
        let vals = der::children(vals.value)?;
        match der::oid_string(ty.value).as_str() {
            OID_CONTENT_TYPE => {
                content_type_ok = vals
                    .first()
                    .is_some_and(|v| der::oid_string(v.value) == OID_TST_INFO)
            }
            OID_MESSAGE_DIGEST => message_digest = vals.first().map(|v| v.value.to_vec()),
            _ => {}
        }
    }
    if !content_type_ok {
        return Err(TsaError::BadSignature(
            "signed content-type attribute is not TSTInfo".into(),
        ));
    }
    let tst_digest = digest(&digest_alg, p.tst_info)?;
    if message_digest.as_deref() != Some(&tst_digest[..]) {
        return Err(TsaError::BadSignature(
            "message-digest attribute does not match the TSTInfo".into(),
        ));
    }
    // The signature covers the DER of the attributes as a SET (tag 0x31, not [0]).
    let mut signed = attrs.raw.to_vec();
    signed[0] = der::SET;
    let cert = find_signer_cert(&p.certs, &sid)?;
    let spki = cert_spki(cert)?;
    let hash_oid = match sig_alg.as_str() {
        OID_RSA => digest_alg.clone(),
        OID_SHA256_RSA => OID_SHA256.to_string(),
        OID_SHA384_RSA => OID_SHA384.to_string(),
        OID_SHA512_RSA => OID_SHA512.to_string(),
        other => return Err(TsaError::Unsupported(format!("signature {other}"))),
    };
    use rsa::pkcs8::DecodePublicKey;
    let key = rsa::PublicKey::from_public_key_der(spki)
        .map_err(|e| TsaError::BadSignature(format!("signer key is not RSA: {e}")))?;
    let hashed = digest(&hash_oid, &signed)?;
    let scheme = match hash_oid.as_str() {
        OID_SHA256 => rsa::Pkcs1v15Sign::new::<Sha256>(),
        OID_SHA384 => rsa::Pkcs1v15Sign::new::<Sha384>(),
        _ => rsa::Pkcs1v15Sign::new::<Sha512>(),
    };
    key.verify(scheme, &hashed, sig.value)
        .map_err(|e| TsaError::BadSignature(e.to_string()))?;
    Ok(TsaTokenInfo {
        gen_time,
        serial,
        policy,
        imprint_sha256: hex::encode(expected_sha256),
    })
}

/// The signer's certificate: matched by issuer + serial (or the only certificate when the
/// signer is named by subject key identifier).
fn find_signer_cert<'a>(certs: &[Tlv<'a>], sid: &Tlv<'_>) -> Result<Tlv<'a>, TsaError> {
    if sid.tag == der::SEQUENCE {
        let ias = der::children(sid.value)?;
        if let (Some(issuer), Some(serial)) = (ias.first(), ias.get(1)) {
            for c in certs {
                let (issuer_c, serial_c) = cert_issuer_serial(c)?;
                if issuer_c == issuer.raw && serial_c == serial.value {
                    return Ok(*c);
                }
            }
        }
    } else if let [only] = certs {
        return Ok(*only);
    }
    Err(TsaError::BadSignature(
        "the signer certificate is not in the token (ask the TSA with certReq)".into(),
    ))
}

fn tbs_fields<'a>(cert: &Tlv<'a>) -> Result<Vec<Tlv<'a>>, TsaError> {
    let (tbs, _) = der::expect(cert.value, der::SEQUENCE, "TBSCertificate")?;
    let mut f = der::children(tbs.value)?;
    if f.first().is_some_and(|t| t.tag == 0xa0) {
        f.remove(0);
    }
    if f.len() < 6 {
        return Err(TsaError::Malformed("certificate is too short".into()));
    }
    Ok(f)
}

fn cert_issuer_serial<'a>(cert: &Tlv<'a>) -> Result<(&'a [u8], &'a [u8]), TsaError> {
    let f = tbs_fields(cert)?;
    Ok((f[2].raw, f[0].value))
}

fn cert_spki<'a>(cert: Tlv<'a>) -> Result<&'a [u8], TsaError> {
    let f = tbs_fields(&cert)?;
    Ok(f[5].raw)
}

/// `YYYYMMDDHHMMSS[.f*]Z` to RFC 3339.
fn generalized_time(v: &[u8]) -> Result<String, TsaError> {
    let s = std::str::from_utf8(v).map_err(|_| TsaError::Malformed("genTime not ASCII".into()))?;
    let bad = || TsaError::Malformed(format!("bad genTime {s:?}"));
    let body = s.strip_suffix('Z').ok_or_else(bad)?;
    if body.len() < 14 || !body[..14].bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let frac = &body[14..];
    let rfc = format!(
        "{}-{}-{}T{}:{}:{}{}Z",
        &body[0..4],
        &body[4..6],
        &body[6..8],
        &body[8..10],
        &body[10..12],
        &body[12..14],
        frac
    );
    rfc.parse::<jiff::Timestamp>().map_err(|_| bad())?;
    Ok(rfc)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_is_well_formed_der() {
        let req = build_request(&[7u8; 32], &[0x80, 0, 0, 0, 0, 0, 0, 1]);
        let (t, rest) = der::read(&req).unwrap();
        assert!(rest.is_empty());
        let f = der::children(t.value).unwrap();
        assert_eq!(f.len(), 4);
        assert_eq!(f[2].value[0], 0, "nonce kept positive");
    }

    #[test]
    fn generalized_time_to_rfc3339() {
        assert_eq!(
            generalized_time(b"20261130013000.25Z").unwrap(),
            "2026-11-30T01:30:00.25Z"
        );
        assert!(generalized_time(b"2026113001Z").is_err());
    }
}
