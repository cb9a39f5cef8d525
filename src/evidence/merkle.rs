//! RFC 9162 §2.1 Merkle tree: hashes, roots, inclusion and consistency proofs, and their
//! verification. Pure functions over 32-byte SHA-256 hashes; usable without a data dir (the
//! case-bundle verifier needs them).
//!
//! - leaf hash `SHA-256(0x00 || leaf data)`, node hash `SHA-256(0x01 || left || right)`;
//! - the root of the empty tree is `SHA-256("")`;
//! - `k` is the largest power of two smaller than `n` (the left subtree is always full);
//! - proof generation follows PATH and SUBPROOF (§2.1.3.1, §2.1.4.1), verification the
//!   algorithms of §2.1.3.2 and §2.1.4.2 verbatim.

use sha2::{Digest, Sha256};

/// A SHA-256 hash.
pub type Hash = [u8; 32];

/// Why a proof cannot be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProofError {
    #[error("leaf index {index} is not below tree size {size}")]
    IndexOutOfRange { index: u64, size: u64 },
    #[error(
        "tree sizes {old} and {new} do not allow a consistency proof (need 0 < old <= new <= {leaves})"
    )]
    BadSizes { old: u64, new: u64, leaves: u64 },
}

/// RFC 9162 leaf hash of `data`.
pub fn leaf_hash(data: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([0u8]);
    h.update(data);
    h.finalize().into()
}

/// RFC 9162 interior node hash.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([1u8]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// The Merkle tree hash (root) over leaf hashes.
pub fn root(leaves: &[Hash]) -> Hash {
    match leaves.len() {
        0 => Sha256::digest(b"").into(),
        1 => leaves[0],
        n => {
            let k = split(n);
            node_hash(&root(&leaves[..k]), &root(&leaves[k..]))
        }
    }
}

/// Largest power of two strictly smaller than `n` (n >= 2).
fn split(n: usize) -> usize {
    let mut k = 1;
    while k << 1 < n {
        k <<= 1;
    }
    k
}

/// The right edge of a tree: the roots of its perfect subtrees, largest (leftmost) first, one
/// per set bit of the size. Appending a leaf touches O(log n) hashes and the root folds them
/// right to left, which equals [`root`] over all the leaves (RFC 9162's split puts the
/// largest power of two on the left at every level). Lets a checkpoint hash only the records
/// sealed since the previous one.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Frontier {
    size: u64,
    /// (leaf count, root) of each perfect subtree, sizes strictly decreasing.
    subtrees: Vec<(u64, Hash)>,
}

impl Frontier {
    /// The frontier of the empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of leaves appended.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Appends one leaf hash.
    pub fn push(&mut self, leaf: Hash) {
        let mut node = (1u64, leaf);
        while let Some(&(n, left)) = self.subtrees.last() {
            if n != node.0 {
                break;
            }
            self.subtrees.pop();
            node = (n * 2, node_hash(&left, &node.1));
        }
        self.subtrees.push(node);
        self.size += 1;
    }

    /// The root of the tree of the leaves appended so far.
    pub fn root(&self) -> Hash {
        let mut it = self.subtrees.iter().rev();
        let Some(&(_, mut acc)) = it.next() else {
            return Sha256::digest(b"").into();
        };
        for (_, left) in it {
            acc = node_hash(left, &acc);
        }
        acc
    }
}

/// Inclusion proof (audit path) for leaf `index` in the tree over `leaves`.
pub fn inclusion_proof(index: u64, leaves: &[Hash]) -> Result<Vec<Hash>, ProofError> {
    let size = leaves.len() as u64;
    if index >= size {
        return Err(ProofError::IndexOutOfRange { index, size });
    }
    let mut out = Vec::new();
    path(index as usize, leaves, &mut out);
    Ok(out)
}

fn path(m: usize, d: &[Hash], out: &mut Vec<Hash>) {
    let n = d.len();
    if n <= 1 {
        return;
    }
    let k = split(n);
    if m < k {
        path(m, &d[..k], out);
        out.push(root(&d[k..]));
    } else {
        path(m - k, &d[k..], out);
        out.push(root(&d[..k]));
    }
}

/// Consistency proof between the tree of the first `old` leaves and the tree of all `leaves`.
pub fn consistency_proof(old: u64, leaves: &[Hash]) -> Result<Vec<Hash>, ProofError> {
    let new = leaves.len() as u64;
    if old == 0 || old > new {
        return Err(ProofError::BadSizes {
            old,
            new,
            leaves: new,
        });
    }
    let mut out = Vec::new();
    subproof(old as usize, leaves, true, &mut out);
    Ok(out)
}

fn subproof(m: usize, d: &[Hash], b: bool, out: &mut Vec<Hash>) {
    let n = d.len();
    if m == n {
        if !b {
            out.push(root(d));
        }
        return;
    }
    let k = split(n);
    if m <= k {
        subproof(m, &d[..k], b, out);
        out.push(root(&d[k..]));
    } else {
        subproof(m - k, &d[k..], false, out);
        out.push(root(&d[..k]));
    }
}

/// Verifies an inclusion proof (RFC 9162 §2.1.3.2).
pub fn verify_inclusion(
    leaf: &Hash,
    index: u64,
    tree_size: u64,
    proof: &[Hash],
    root_hash: &Hash,
) -> bool {
    if index >= tree_size {
        return false;
    }
    let (mut f, mut s) = (index, tree_size - 1);
    let mut r = *leaf;
    for p in proof {
        if s == 0 {
            return false;
        }
        if f & 1 == 1 || f == s {
            r = node_hash(p, &r);
            while f & 1 == 0 && f != 0 {
                f >>= 1;
                s >>= 1;
            }
        } else {
            r = node_hash(&r, p);
        }
        f >>= 1;
        s >>= 1;
    }
    s == 0 && r == *root_hash
}

/// Verifies a consistency proof (RFC 9162 §2.1.4.2).
pub fn verify_consistency(
    old_size: u64,
    new_size: u64,
    old_root: &Hash,
    new_root: &Hash,
    proof: &[Hash],
) -> bool {
    if old_size == 0 || old_size > new_size {
        return false;
    }
    if old_size == new_size {
        return proof.is_empty() && old_root == new_root;
    }
    let mut path: Vec<Hash> = Vec::with_capacity(proof.len() + 1);
    if old_size.is_power_of_two() {
        path.push(*old_root);
    }
    path.extend_from_slice(proof);
    let Some((first, rest)) = path.split_first() else {
        return false;
    };
    let (mut f, mut s) = (old_size - 1, new_size - 1);
    while f & 1 == 1 {
        f >>= 1;
        s >>= 1;
    }
    let (mut fr, mut sr) = (*first, *first);
    for c in rest {
        if s == 0 {
            return false;
        }
        if f & 1 == 1 || f == s {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            while f & 1 == 0 && f != 0 {
                f >>= 1;
                s >>= 1;
            }
        } else {
            sr = node_hash(&sr, c);
        }
        f >>= 1;
        s >>= 1;
    }
    fr == *old_root && sr == *new_root && s == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frontier_root_equals_the_full_tree_root_at_every_size() {
        let all = leaves(300);
        let mut f = Frontier::new();
        assert_eq!(f.root(), root(&[]));
        for (i, l) in all.iter().enumerate() {
            f.push(*l);
            assert_eq!(f.size(), i as u64 + 1);
            assert_eq!(f.root(), root(&all[..=i]), "size {}", i + 1);
        }
    }

    fn leaves(n: usize) -> Vec<Hash> {
        (0..n)
            .map(|i| leaf_hash(format!("leaf {i}").as_bytes()))
            .collect()
    }

    #[test]
    fn empty_tree_root_is_sha256_of_nothing() {
        assert_eq!(
            hex::encode(root(&[])),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn inclusion_proofs_verify_for_every_leaf_and_size() {
        for n in 1..=33 {
            let l = leaves(n);
            let r = root(&l);
            for i in 0..n {
                let p = inclusion_proof(i as u64, &l).unwrap();
                assert!(
                    verify_inclusion(&l[i], i as u64, n as u64, &p, &r),
                    "n={n} i={i}"
                );
                let other = leaf_hash(b"other");
                assert!(!verify_inclusion(&other, i as u64, n as u64, &p, &r));
            }
        }
    }

    #[test]
    fn consistency_proofs_verify_between_every_pair_of_sizes() {
        let all = leaves(33);
        for new in 1..=33usize {
            let nr = root(&all[..new]);
            for old in 1..=new {
                let or = root(&all[..old]);
                let p = consistency_proof(old as u64, &all[..new]).unwrap();
                assert!(
                    verify_consistency(old as u64, new as u64, &or, &nr, &p),
                    "{old}->{new}"
                );
                if old < new {
                    let bad = leaf_hash(b"x");
                    assert!(!verify_consistency(old as u64, new as u64, &bad, &nr, &p));
                }
            }
        }
    }

    #[test]
    fn matches_rfc_structure_for_three_leaves() {
        let l = leaves(3);
        let expected = node_hash(&node_hash(&l[0], &l[1]), &l[2]);
        assert_eq!(root(&l), expected);
        assert_eq!(
            inclusion_proof(2, &l).unwrap(),
            vec![node_hash(&l[0], &l[1])]
        );
    }
}
