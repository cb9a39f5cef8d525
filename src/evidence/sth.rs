//! Signed tree heads (`mapsweep.tree-head/1`): a checkpoint of the log.
//!
//! The signed message is the canonical JSON of [`TreeHead`] (format, tree size, root hash,
//! timestamp, key id). The Ed25519 signature is over exactly those bytes, and the RFC 3161
//! token (when a TSA is configured) has as message imprint the SHA-256 of those same bytes.

use super::canonical;
use super::merkle::Hash;
use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The signed part of a tree head.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TreeHead {
    pub format: String,
    pub tree_size: u64,
    /// RFC 9162 root, hex.
    pub root_hash: String,
    /// RFC 3339 UTC, milliseconds.
    pub timestamp: String,
    pub timestamp_ms: i64,
    /// Fingerprint of the signing key (`SHA256:<hex>`).
    pub key_id: String,
}

impl TreeHead {
    /// The canonical bytes that are signed and time-stamped.
    pub fn signed_bytes(&self) -> Vec<u8> {
        // A TreeHead has no floats, so this cannot fail.
        canonical::to_vec(self).unwrap_or_default()
    }
    /// SHA-256 of the signed bytes: the RFC 3161 message imprint.
    pub fn imprint(&self) -> [u8; 32] {
        Sha256::digest(self.signed_bytes()).into()
    }
    pub fn root(&self) -> Option<Hash> {
        hex::decode(&self.root_hash).ok()?.try_into().ok()
    }
}

/// A tree head with its signature and optional time-stamp token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignedTreeHead {
    pub tree_head: TreeHead,
    /// Ed25519 signature over [`TreeHead::signed_bytes`], hex.
    pub signature: String,
    /// The TSA URL asked, when one was configured.
    #[serde(default)]
    pub tsa_url: Option<String>,
    /// RFC 3161 token (CMS ContentInfo DER), hex; also stored as `<name>.tsr` beside the JSON.
    #[serde(default)]
    pub tsa_token: Option<String>,
}

impl SignedTreeHead {
    pub fn sign(head: TreeHead, key: &SigningKey) -> Self {
        let sig = key.sign(&head.signed_bytes());
        Self {
            tree_head: head,
            signature: hex::encode(sig.to_bytes()),
            tsa_url: None,
            tsa_token: None,
        }
    }
    /// File stem in `checkpoints/`: `sth-<size>-<timestamp_ms>`.
    pub fn file_stem(&self) -> String {
        format!(
            "sth-{:010}-{}",
            self.tree_head.tree_size, self.tree_head.timestamp_ms
        )
    }
}

/// Why a tree-head signature does not hold.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureProblem {
    #[error("signature is not 64 hex-encoded bytes")]
    Malformed,
    #[error("key id {found} is not the key {expected}")]
    WrongKeyId { expected: String, found: String },
    #[error("Ed25519 signature does not verify with key {key}")]
    Invalid { key: String },
}

/// Checks a signed tree head's signature (and key id) against a public key.
pub fn verify_tree_head_signature(
    sth: &SignedTreeHead,
    public_key: &VerifyingKey,
) -> Result<(), SignatureProblem> {
    let fp = super::keys::fingerprint(public_key);
    let bytes: [u8; 64] = hex::decode(&sth.signature)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or(SignatureProblem::Malformed)?;
    let sig = Signature::from_bytes(&bytes);
    public_key
        .verify(&sth.tree_head.signed_bytes(), &sig)
        .map_err(|_| SignatureProblem::Invalid { key: fp.clone() })?;
    if sth.tree_head.key_id != fp {
        return Err(SignatureProblem::WrongKeyId {
            expected: fp,
            found: sth.tree_head.key_id.clone(),
        });
    }
    Ok(())
}
