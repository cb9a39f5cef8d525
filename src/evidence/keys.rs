//! The installation's Ed25519 signing key in `<data-dir>/keys/`.
//!
//! - `keys/signing.key`: PKCS#8 PEM private key, file mode 0600, created once by `init` and
//!   never overwritten (init refuses when it exists, whatever its content);
//! - `keys/signing.pub`: SubjectPublicKeyInfo PEM public key, to hand to reviewers;
//! - the fingerprint is `SHA256:` + hex SHA-256 of the 32 raw public-key bytes; it is the
//!   `key_id` in every signed tree head.

use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
use ed25519_dalek::pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey};
use ed25519_dalek::{SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Key file errors; each names the file.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("cannot write key file {path}: {cause}")]
    Write {
        path: PathBuf,
        cause: std::io::Error,
    },
    #[error("cannot read key file {path}: {cause}")]
    Read {
        path: PathBuf,
        cause: std::io::Error,
    },
    #[error("key file {path} is not a valid Ed25519 PEM key: {message}")]
    Invalid { path: PathBuf, message: String },
    #[error("no randomness for key generation: {0}")]
    Random(String),
}

pub fn private_key_path(data_dir: &Path) -> PathBuf {
    data_dir.join("keys").join("signing.key")
}

pub fn public_key_path(data_dir: &Path) -> PathBuf {
    data_dir.join("keys").join("signing.pub")
}

/// `SHA256:<hex>` of the raw public key.
pub fn fingerprint(key: &VerifyingKey) -> String {
    format!("SHA256:{}", hex::encode(Sha256::digest(key.as_bytes())))
}

/// Creates a new key pair; fails if the private key file already exists (never overwrites).
pub fn create(data_dir: &Path) -> Result<VerifyingKey, KeyError> {
    let path = private_key_path(data_dir);
    let w = |p: &Path| {
        let p = p.to_path_buf();
        move |cause| KeyError::Write { path: p, cause }
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(w(dir))?;
    }
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).map_err(|e| KeyError::Random(e.to_string()))?;
    let key = SigningKey::from_bytes(&seed);
    let pem = key
        .to_pkcs8_pem(LineEnding::LF)
        .map_err(|e| KeyError::Invalid {
            path: path.clone(),
            message: e.to_string(),
        })?;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(&path).map_err(w(&path))?;
    f.write_all(pem.as_bytes())
        .and_then(|_| f.sync_all())
        .map_err(w(&path))?;
    let vk = key.verifying_key();
    write_public(data_dir, &vk)?;
    Ok(vk)
}

/// (Re)writes the public key file from the key.
pub fn write_public(data_dir: &Path, vk: &VerifyingKey) -> Result<(), KeyError> {
    let pub_path = public_key_path(data_dir);
    let pem = vk
        .to_public_key_pem(LineEnding::LF)
        .map_err(|e| KeyError::Invalid {
            path: pub_path.clone(),
            message: e.to_string(),
        })?;
    std::fs::write(&pub_path, pem).map_err(|cause| KeyError::Write {
        path: pub_path,
        cause,
    })
}

/// Loads the signing key.
pub fn load_signing(data_dir: &Path) -> Result<SigningKey, KeyError> {
    let path = private_key_path(data_dir);
    let text = std::fs::read_to_string(&path).map_err(|cause| KeyError::Read {
        path: path.clone(),
        cause,
    })?;
    SigningKey::from_pkcs8_pem(&text).map_err(|e| KeyError::Invalid {
        path,
        message: e.to_string(),
    })
}

/// Loads a public key PEM file.
pub fn load_public(path: &Path) -> Result<VerifyingKey, KeyError> {
    let text = std::fs::read_to_string(path).map_err(|cause| KeyError::Read {
        path: path.to_path_buf(),
        cause,
    })?;
    VerifyingKey::from_public_key_pem(&text).map_err(|e| KeyError::Invalid {
        path: path.to_path_buf(),
        message: e.to_string(),
    })
}
