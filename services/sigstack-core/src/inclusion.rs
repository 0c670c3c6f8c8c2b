//! Inclusion proofs: RFC 6962 §2.1.1 (RFC 9162 §2.1.3.1) audit paths and the
//! RFC 9162 §2.1.3.2 verifier.
//!
//! A proof lists the hashes from the leaf's sibling up to the root's child,
//! leaf level first: the order of Rekor's `inclusionProof.hashes`. The
//! verifier first checks the length clients check (inner + border, log.md
//! §5.2), so a proof we accept is one sigstore clients accept too.

use crate::hash::Hash;
use crate::ids::{LeafIndex, TreeSize};
use crate::merkle::{HashReader, NodeId, ProofError, ProofPlan, VerifyError, split_point};

/// Every complete node the audit path of `index` in a tree of `size` leaves
/// reads, in proof order. A sibling that is an incomplete right-edge subtree
/// is listed as its perfect-subtree decomposition. O(log n) nodes.
///
/// # Errors
/// [`ProofError::EmptyTree`] for size 0; [`ProofError::IndexBeyondSize`]
/// unless `index < size`.
pub fn required_nodes(index: LeafIndex, size: TreeSize) -> Result<Vec<NodeId>, ProofError> {
    Ok(plan(index, size)?.into_nodes())
}

/// The audit path of `index` in a tree of `size` leaves, from exactly one
/// [`HashReader::read_hashes`] call for [`required_nodes`].
///
/// # Errors
/// As [`required_nodes`], plus [`ProofError::Missing`] if the reader lacks a
/// node and [`ProofError::ReaderReturnedWrongCount`] if it breaks its contract.
pub fn prove(
    index: LeafIndex,
    size: TreeSize,
    reader: &dyn HashReader,
) -> Result<Vec<Hash>, ProofError> {
    plan(index, size)?.assemble(reader)
}

/// Checks that `leaf` is at `index` in the tree of `size` leaves with `root`
/// (RFC 9162 §2.1.3.2).
///
/// # Errors
/// [`VerifyError::IndexBeyondSize`] unless `index < size`;
/// [`VerifyError::WrongProofLength`] unless the proof has exactly the inner +
/// border length; [`VerifyError::RootMismatch`] if the recomputed root differs.
pub fn verify(
    index: LeafIndex,
    size: TreeSize,
    leaf: &Hash,
    proof: &[Hash],
    root: &Hash,
) -> Result<(), VerifyError> {
    if !index.is_within(size) {
        return Err(VerifyError::IndexBeyondSize { index, size });
    }
    let expected = expected_length(index.get(), size.get() - 1);
    if proof.len() != expected {
        return Err(VerifyError::WrongProofLength {
            expected,
            actual: proof.len(),
        });
    }
    let computed = root_from_path(index.get(), size.get() - 1, *leaf, proof).ok_or(
        VerifyError::WrongProofLength {
            expected,
            actual: proof.len(),
        },
    )?;
    if computed == *root {
        Ok(())
    } else {
        Err(VerifyError::RootMismatch)
    }
}

/// Walks RFC 6962's PATH recursion from the root down, one element per split,
/// then reverses to the leaf-first order.
fn plan(index: LeafIndex, size: TreeSize) -> Result<ProofPlan, ProofError> {
    if size == TreeSize::ZERO {
        return Err(ProofError::EmptyTree);
    }
    if !index.is_within(size) {
        return Err(ProofError::IndexBeyondSize { index, size });
    }
    let m = index.get();
    let (mut start, mut end) = (0, size.get());
    let mut elements = Vec::new();
    while end - start > 1 {
        let k = split_point(end - start);
        if m < start + k {
            elements.push((start + k, end));
            end = start + k;
        } else {
            elements.push((start, start + k));
            start += k;
        }
    }
    let mut plan = ProofPlan::default();
    for &(s, e) in elements.iter().rev() {
        plan.push_subtree(s, e);
    }
    Ok(plan)
}

/// Proof length for leaf `index` with `last = size - 1`: one hash per level
/// below where the paths to `index` and `last` meet (inner), plus one per
/// left sibling above it (border). log.md §5.2.
pub(crate) fn expected_length(index: u64, last: u64) -> usize {
    let inner = 64 - (index ^ last).leading_zeros();
    let border = (index.checked_shr(inner).unwrap_or(0)).count_ones();
    (inner + border) as usize
}

/// RFC 9162 §2.1.3.2 steps: `fn_` is the node's index and `sn` the last
/// index at the current level; `None` if the path runs out of tree (a
/// malformed proof the length check should already have refused).
pub(crate) fn root_from_path(index: u64, last: u64, leaf: Hash, path: &[Hash]) -> Option<Hash> {
    let (mut fn_, mut sn) = (index, last);
    let mut r = leaf;
    for p in path {
        if sn == 0 {
            return None;
        }
        if fn_ & 1 == 1 || fn_ == sn {
            r = crate::hash::node_hash(p, &r);
            // Levels where this node had no right sibling contribute nothing.
            while fn_ & 1 == 0 && fn_ != 0 {
                fn_ >>= 1;
                sn >>= 1;
            }
        } else {
            r = crate::hash::node_hash(&r, p);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    (sn == 0).then_some(r)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::merkle::test_support::*;
    use crate::merkle::tree_root;
    use proptest::prelude::*;

    #[test]
    fn published_vectors() {
        let cases = vectors("inclusion");
        assert_eq!(cases.len(), 98);
        let mut happy = 0;
        for case in &cases {
            let index = LeafIndex::new(case["leafIdx"].as_u64().expect("leafIdx"));
            let size = TreeSize::new(case["treeSize"].as_u64().expect("treeSize"));
            let want_err = case["wantErr"].as_bool().expect("wantErr");
            let parsed = (
                b64_hash(&case["leafHash"]),
                b64_proof(&case["proof"]),
                b64_hash(&case["root"]),
            );
            let (Some(leaf), Some(proof), Some(root)) = parsed else {
                assert!(want_err, "{}: refused at parse", case["file"]);
                continue;
            };
            let result = verify(index, size, &leaf, &proof, &root);
            assert_eq!(result.is_err(), want_err, "{}: {result:?}", case["file"]);
            if !want_err {
                happy += 1;
            }
        }
        assert_eq!(happy, 6);
    }

    #[test]
    fn incomplete_sibling_is_listed_as_its_decomposition() {
        // Leaf 0 of 7: siblings are leaf 1, node (1,1) and the incomplete [4,7),
        // which is node (1,2) folded with leaf 6.
        assert_eq!(
            required_nodes(LeafIndex::new(0), TreeSize::new(7)),
            Ok(vec![
                NodeId::new(0, 1),
                NodeId::new(1, 1),
                NodeId::new(1, 2),
                NodeId::new(0, 6),
            ])
        );
        assert_eq!(
            required_nodes(LeafIndex::new(0), TreeSize::new(1)),
            Ok(vec![])
        );
    }

    #[test]
    fn bad_arguments_are_refused() {
        let reader = LeafReader(leaves(4));
        assert_eq!(
            prove(LeafIndex::new(0), TreeSize::ZERO, &reader),
            Err(ProofError::EmptyTree)
        );
        assert_eq!(
            prove(LeafIndex::new(4), TreeSize::new(4), &reader),
            Err(ProofError::IndexBeyondSize {
                index: LeafIndex::new(4),
                size: TreeSize::new(4)
            })
        );
        assert_eq!(
            prove(LeafIndex::new(0), TreeSize::new(5), &reader),
            Err(ProofError::Missing(crate::merkle::MissingHash(
                NodeId::new(0, 4)
            )))
        );
        let h = Hash::default();
        assert!(matches!(
            verify(LeafIndex::new(0), TreeSize::ZERO, &h, &[], &h),
            Err(VerifyError::IndexBeyondSize { .. })
        ));
    }

    #[test]
    fn every_leaf_of_small_trees() {
        for n in 1..=70u64 {
            let leaves = leaves(n);
            let reader = LeafReader(leaves.clone());
            let root = tree_root(TreeSize::new(n), &reader).expect("root");
            for m in 0..n {
                let (index, size) = (LeafIndex::new(m), TreeSize::new(n));
                let proof = prove(index, size, &reader).expect("proof");
                assert_eq!(proof, naive_path(m as usize, &leaves), "{m} of {n}");
                assert_eq!(
                    verify(index, size, &leaves[m as usize], &proof, &root),
                    Ok(())
                );
                let mut longer = proof.clone();
                longer.push(root);
                assert!(matches!(
                    verify(index, size, &leaves[m as usize], &longer, &root),
                    Err(VerifyError::WrongProofLength { .. })
                ));
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        #[test]
        fn proofs_match_rs_merkle(size in 1u64..=5000, pick in any::<u64>()) {
            let leaves = leaves(size);
            let m = pick % size;
            let raw: Vec<[u8; 32]> = leaves.iter().map(|h| h.0).collect();
            let oracle = rs_merkle::MerkleTree::<Rfc6962Hasher>::from_leaves(&raw);
            // rs_merkle lists siblings bottom-up, skipping carried levels:
            // the same order as RFC 6962's PATH.
            let theirs: Vec<Hash> =
                oracle.proof(&[m as usize]).proof_hashes().iter().map(|h| Hash(*h)).collect();
            let reader = LeafReader(leaves.clone());
            let (index, tree) = (LeafIndex::new(m), TreeSize::new(size));
            let ours = prove(index, tree, &reader).expect("proof");
            prop_assert_eq!(&ours, &theirs);
            let root = Hash(oracle.root().expect("non-empty"));
            prop_assert_eq!(verify(index, tree, &leaves[m as usize], &ours, &root), Ok(()));
            prop_assert_eq!(
                required_nodes(index, tree).expect("nodes").len() <= 2 * 64,
                true
            );
        }
    }
}
