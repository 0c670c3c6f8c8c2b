//! Node addressing, the [`HashReader`] port and tree roots for RFC 6962 §2.1
//! (RFC 9162 §2.1.1) Merkle trees.
//!
//! The tree is addressed by complete subtrees: [`NodeId`] `(level, index)` is
//! the perfect subtree of `2^level` leaves starting at leaf `index << level`.
//! Only complete nodes are ever stored or read; an incomplete node on the right
//! edge is recomputed as the fold of its perfect-subtree decomposition (RFC
//! 6962 splits at the largest power of two below the size, so that
//! decomposition is exactly the subtree's MTH).
//!
//! This module does not store hashes, know about tiles, or walk leaves: roots
//! and proofs are planned as lists of [`NodeId`]s and filled by one batched
//! [`HashReader::read_hashes`] call, so a proof costs O(log n) reads whatever
//! the storage behind the reader.

use crate::hash::{EMPTY_ROOT, Hash, node_hash};
use crate::ids::{LeafIndex, TreeSize};

/// The complete subtree of `2^level` leaves covering leaves
/// `[index << level, (index + 1) << level)`. Level 0 nodes are leaf hashes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId {
    pub level: u8,
    pub index: u64,
}

impl NodeId {
    pub const fn new(level: u8, index: u64) -> Self {
        Self { level, index }
    }

    /// The level-0 node of one leaf.
    pub const fn leaf(index: LeafIndex) -> Self {
        Self::new(0, index.get())
    }
}

/// Raised by a [`HashReader`] that does not hold a node it was asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("no hash stored for node at level {} index {}", .0.level, .0.index)]
pub struct MissingHash(pub NodeId);

/// Where roots and proofs get their hashes: storage implements it over tiles,
/// tests over a vector of leaves.
pub trait HashReader {
    /// Hashes of the complete nodes `ids`, in the order asked.
    ///
    /// # Errors
    /// [`MissingHash`] naming a node the reader does not hold (or that is not
    /// complete in what it holds).
    fn read_hashes(&self, ids: &[NodeId]) -> Result<Vec<Hash>, MissingHash>;
}

/// Why a root or proof could not be produced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ProofError {
    #[error("leaf index {index} is not within a tree of size {size}")]
    IndexBeyondSize { index: LeafIndex, size: TreeSize },
    #[error("the tree is empty")]
    EmptyTree,
    #[error("a consistency proof needs a first size of at least 1")]
    FirstSizeZero,
    #[error("first size {first} exceeds second size {second}")]
    FirstExceedsSecond { first: TreeSize, second: TreeSize },
    #[error(transparent)]
    Missing(#[from] MissingHash),
    /// The reader broke its contract of one hash per node asked.
    #[error("hash reader returned {returned} hashes for {asked} nodes")]
    ReaderReturnedWrongCount { asked: usize, returned: usize },
}

/// Why a proof did not verify. Shared by the inclusion and consistency
/// verifiers (RFC 9162 §2.1.3.2, §2.1.4.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error("leaf index {index} is not within a tree of size {size}")]
    IndexBeyondSize { index: LeafIndex, size: TreeSize },
    #[error("a consistency proof needs a first size of at least 1")]
    FirstSizeZero,
    #[error("first size {first} exceeds second size {second}")]
    FirstExceedsSecond { first: TreeSize, second: TreeSize },
    /// Clients reject a proof with an element too many or too few even where
    /// a lenient verifier could recover (log.md §5.2), so we do too.
    #[error("proof has {actual} hashes, expected {expected}")]
    WrongProofLength { expected: usize, actual: usize },
    #[error("computed root does not match the expected root")]
    RootMismatch,
    #[error("computed first root does not match the expected first root")]
    FirstRootMismatch,
    #[error("computed second root does not match the expected second root")]
    SecondRootMismatch,
}

/// The perfect-subtree decomposition of a tree of `size` leaves, left to
/// right: one node per set bit of `size`, largest first. These are the last
/// complete node at each of those levels, and folding them right to left with
/// [`node_hash`] gives the MTH.
pub fn root_nodes(size: TreeSize) -> Vec<NodeId> {
    subtree_nodes(0, size.get())
}

/// The MTH of a tree of `size` leaves, from one [`HashReader::read_hashes`]
/// call for [`root_nodes`].
///
/// # Errors
/// [`ProofError::Missing`] if the reader lacks a root node;
/// [`ProofError::ReaderReturnedWrongCount`] if it breaks its contract.
pub fn tree_root(size: TreeSize, reader: &dyn HashReader) -> Result<Hash, ProofError> {
    if size == TreeSize::ZERO {
        return Ok(EMPTY_ROOT);
    }
    let mut plan = ProofPlan::default();
    plan.push_subtree(0, size.get());
    let mut hashes = plan.assemble(reader)?;
    // A non-empty tree has at least one root node, so the plan has one element.
    Ok(hashes.pop().unwrap_or(EMPTY_ROOT))
}

/// Perfect subtrees covering the RFC 6962 subtree of leaves `[start, end)`,
/// left to right. `start` must be a multiple of the largest power of two not
/// above `end - start`, which holds for every subtree RFC 6962's split makes.
pub(crate) fn subtree_nodes(start: u64, end: u64) -> Vec<NodeId> {
    let mut nodes = Vec::new();
    let mut position = start;
    let mut remaining = end.saturating_sub(start);
    while remaining > 0 {
        let level = 63 - remaining.leading_zeros();
        nodes.push(NodeId::new(level as u8, position >> level));
        position += 1 << level;
        remaining -= 1 << level;
    }
    nodes
}

/// Largest power of two strictly less than `n` (RFC 6962 §2.1's `k`); `n > 1`.
pub(crate) fn split_point(n: u64) -> u64 {
    1 << (63 - (n - 1).leading_zeros())
}

/// A proof (or root) as the nodes it reads: element `e` is the right-to-left
/// fold of its run of nodes. Planning first lets `prove` issue exactly one
/// batched read, and lets the store know which tiles to load.
#[derive(Debug, Default)]
pub(crate) struct ProofPlan {
    nodes: Vec<NodeId>,
    /// `ends[e]` is one past the last node of element `e` in `nodes`.
    ends: Vec<usize>,
}

impl ProofPlan {
    /// Adds the MTH of leaves `[start, end)` as the next element.
    pub(crate) fn push_subtree(&mut self, start: u64, end: u64) {
        self.nodes.extend(subtree_nodes(start, end));
        self.ends.push(self.nodes.len());
    }

    pub(crate) fn into_nodes(self) -> Vec<NodeId> {
        self.nodes
    }

    /// Reads every node in one call and folds each element.
    pub(crate) fn assemble(&self, reader: &dyn HashReader) -> Result<Vec<Hash>, ProofError> {
        if self.nodes.is_empty() {
            return Ok(Vec::new());
        }
        let hashes = reader.read_hashes(&self.nodes)?;
        if hashes.len() != self.nodes.len() {
            return Err(ProofError::ReaderReturnedWrongCount {
                asked: self.nodes.len(),
                returned: hashes.len(),
            });
        }
        let mut out = Vec::with_capacity(self.ends.len());
        let mut begin = 0;
        for &end in &self.ends {
            let run = &hashes[begin..end];
            // Every element covers at least one leaf, so its run is non-empty.
            if let Some((last, rest)) = run.split_last() {
                out.push(rest.iter().rev().fold(*last, |acc, h| node_hash(h, &acc)));
            }
            begin = end;
        }
        Ok(out)
    }
}

/// Test helpers shared by the proof modules: a naive reader over all leaves,
/// naive RFC 6962 algorithms and the `rs_merkle` oracle.
#[cfg(test)]
pub(crate) mod test_support {
    use super::*;
    use crate::hash::leaf_hash;
    use base64::Engine as _;

    /// Holds every leaf hash and computes any complete node from scratch.
    pub(crate) struct LeafReader(pub Vec<Hash>);

    impl HashReader for LeafReader {
        fn read_hashes(&self, ids: &[NodeId]) -> Result<Vec<Hash>, MissingHash> {
            ids.iter()
                .map(|id| {
                    let start = id.index << id.level;
                    let end = (id.index + 1) << id.level;
                    if end > self.0.len() as u64 {
                        return Err(MissingHash(*id));
                    }
                    Ok(naive_root(&self.0[start as usize..end as usize]))
                })
                .collect()
        }
    }

    /// Every complete node of one tree, built bottom-up once: O(1) reads for
    /// tests too large to recompute subtrees per node.
    pub(crate) struct NodeTable(Vec<Vec<Hash>>);

    impl NodeTable {
        pub(crate) fn new(leaves: &[Hash]) -> Self {
            let mut levels = vec![leaves.to_vec()];
            while let Some(below) = levels.last().filter(|l| l.len() > 1) {
                let above = below
                    .chunks_exact(2)
                    .map(|p| node_hash(&p[0], &p[1]))
                    .collect();
                levels.push(above);
            }
            Self(levels)
        }
    }

    impl HashReader for NodeTable {
        fn read_hashes(&self, ids: &[NodeId]) -> Result<Vec<Hash>, MissingHash> {
            ids.iter()
                .map(|id| {
                    self.0
                        .get(usize::from(id.level))
                        .and_then(|level| level.get(id.index as usize))
                        .copied()
                        .ok_or(MissingHash(*id))
                })
                .collect()
        }
    }

    pub(crate) fn leaves(n: u64) -> Vec<Hash> {
        (0..n).map(|i| leaf_hash(&i.to_be_bytes())).collect()
    }

    /// RFC 6962 §2.1 MTH, recursively.
    pub(crate) fn naive_root(leaves: &[Hash]) -> Hash {
        match leaves.len() {
            0 => EMPTY_ROOT,
            1 => leaves[0],
            n => {
                let k = split_point(n as u64) as usize;
                node_hash(&naive_root(&leaves[..k]), &naive_root(&leaves[k..]))
            }
        }
    }

    /// RFC 6962 §2.1.1 PATH, recursively.
    pub(crate) fn naive_path(m: usize, leaves: &[Hash]) -> Vec<Hash> {
        let n = leaves.len();
        if n <= 1 {
            return Vec::new();
        }
        let k = split_point(n as u64) as usize;
        if m < k {
            let mut p = naive_path(m, &leaves[..k]);
            p.push(naive_root(&leaves[k..]));
            p
        } else {
            let mut p = naive_path(m - k, &leaves[k..]);
            p.push(naive_root(&leaves[..k]));
            p
        }
    }

    /// RFC 6962 §2.1.2 SUBPROOF, recursively.
    pub(crate) fn naive_subproof(m: usize, leaves: &[Hash], whole: bool) -> Vec<Hash> {
        let n = leaves.len();
        if m == n {
            return if whole {
                Vec::new()
            } else {
                vec![naive_root(leaves)]
            };
        }
        let k = split_point(n as u64) as usize;
        if m <= k {
            let mut p = naive_subproof(m, &leaves[..k], whole);
            p.push(naive_root(&leaves[k..]));
            p
        } else {
            let mut p = naive_subproof(m - k, &leaves[k..], false);
            p.push(naive_root(&leaves[..k]));
            p
        }
    }

    /// `rs_merkle` made to agree with RFC 6962: callers pass leaf hashes, an
    /// interior node is SHA-256(0x01 ‖ l ‖ r), and a lone left node is carried
    /// up unchanged (the RFC's left-full shape, built bottom-up).
    #[derive(Clone)]
    pub(crate) struct Rfc6962Hasher;

    impl rs_merkle::Hasher for Rfc6962Hasher {
        type Hash = [u8; 32];
        fn hash(data: &[u8]) -> [u8; 32] {
            leaf_hash(data).0
        }
        fn concat_and_hash(left: &[u8; 32], right: Option<&[u8; 32]>) -> [u8; 32] {
            match right {
                Some(r) => node_hash(&Hash(*left), &Hash(*r)).0,
                None => *left,
            }
        }
    }

    pub(crate) fn vectors(kind: &str) -> Vec<serde_json::Value> {
        let all: serde_json::Value =
            serde_json::from_str(include_str!("../testdata/merkle_vectors.json"))
                .expect("vector file is JSON");
        all[kind].as_array().expect("a list of vectors").clone()
    }

    pub(crate) fn b64_bytes(v: &serde_json::Value) -> Vec<u8> {
        base64::engine::general_purpose::STANDARD
            .decode(v.as_str().expect("base64 string"))
            .expect("valid base64")
    }

    /// A vector's hash, or `None` for the 0-, 9- and 12-byte values some
    /// mutated vectors carry: our API takes typed [`Hash`]es, so those are
    /// refused when parsed, before any verifier runs.
    pub(crate) fn b64_hash(v: &serde_json::Value) -> Option<Hash> {
        Hash::from_slice(&b64_bytes(v)).ok()
    }

    pub(crate) fn b64_proof(v: &serde_json::Value) -> Option<Vec<Hash>> {
        match v.as_array() {
            Some(a) => a.iter().map(b64_hash).collect(),
            None => Some(Vec::new()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::test_support::*;
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn root_nodes_follow_the_bits_of_the_size() {
        assert!(root_nodes(TreeSize::new(0)).is_empty());
        assert_eq!(root_nodes(TreeSize::new(1)), vec![NodeId::new(0, 0)]);
        assert_eq!(
            root_nodes(TreeSize::new(13)),
            vec![NodeId::new(3, 0), NodeId::new(2, 2), NodeId::new(0, 12)]
        );
        let max = root_nodes(TreeSize::new(u64::MAX));
        assert_eq!(max.len(), 64);
        assert_eq!(max[0], NodeId::new(63, 0));
        assert_eq!(max[63], NodeId::new(0, u64::MAX - 1));
    }

    #[test]
    fn empty_tree_root_reads_nothing() {
        struct Refuses;
        impl HashReader for Refuses {
            fn read_hashes(&self, ids: &[NodeId]) -> Result<Vec<Hash>, MissingHash> {
                Err(MissingHash(ids[0]))
            }
        }
        assert_eq!(tree_root(TreeSize::ZERO, &Refuses), Ok(EMPTY_ROOT));
        assert_eq!(
            tree_root(TreeSize::new(3), &Refuses),
            Err(ProofError::Missing(MissingHash(NodeId::new(1, 0))))
        );
    }

    #[test]
    fn short_reads_are_reported() {
        struct Short;
        impl HashReader for Short {
            fn read_hashes(&self, _: &[NodeId]) -> Result<Vec<Hash>, MissingHash> {
                Ok(Vec::new())
            }
        }
        assert_eq!(
            tree_root(TreeSize::new(3), &Short),
            Err(ProofError::ReaderReturnedWrongCount {
                asked: 2,
                returned: 0
            })
        );
    }

    #[test]
    fn reference_roots() {
        // transparency-dev/merkle testonly/constants.go: roots of sizes 1 and 8.
        let inputs: [&[u8]; 8] = [
            b"",
            &[0x00],
            &[0x10],
            &[0x20, 0x21],
            &[0x30, 0x31],
            &[0x40, 0x41, 0x42, 0x43],
            &[0x50, 0x51, 0x52, 0x53, 0x54, 0x55, 0x56, 0x57],
            &[
                0x60, 0x61, 0x62, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69, 0x6a, 0x6b, 0x6c, 0x6d,
                0x6e, 0x6f,
            ],
        ];
        let reader = LeafReader(inputs.iter().map(|d| crate::hash::leaf_hash(d)).collect());
        let root = |n| tree_root(TreeSize::new(n), &reader).map(|h| h.to_hex());
        assert_eq!(
            root(1),
            Ok("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d".into())
        );
        assert_eq!(
            root(8),
            Ok("5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328".into())
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn roots_match_rs_merkle(size in 1u64..=5000) {
            let leaves = leaves(size);
            let raw: Vec<[u8; 32]> = leaves.iter().map(|h| h.0).collect();
            let oracle = rs_merkle::MerkleTree::<Rfc6962Hasher>::from_leaves(&raw);
            let ours = tree_root(TreeSize::new(size), &LeafReader(leaves.clone()));
            prop_assert_eq!(ours, Ok(Hash(oracle.root().expect("non-empty tree"))));
            prop_assert_eq!(ours, Ok(naive_root(&leaves)));
        }
    }
}
