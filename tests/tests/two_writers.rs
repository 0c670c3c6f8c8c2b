//! Two engine processes appending concurrently to one tree in one
//! PostgreSQL database produce one linear tree: no fork, no lost
//! acknowledgement, no index handed out twice.

use std::collections::HashMap;

use sigstack_core::ids::TreeId;
use sigstack_e2e::{TestDatabase, Writer, WriterLine, check_tree, open_postgres};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_writers_one_linear_tree() {
    let db = TestDatabase::postgres().await;
    let tree = TreeId::new(777).expect("positive");
    let first = Writer::start(&db, tree, 3_000, 32);
    let second = Writer::start(&db, tree, 3_000, 32);
    let (a, b) = (first.wait(), second.wait());
    let count = |lines: &[WriterLine]| {
        lines
            .iter()
            .filter(|l| matches!(l, WriterLine::Ack { .. }))
            .count()
    };
    assert_eq!(count(&a), 3_000);
    assert_eq!(count(&b), 3_000);

    let mut owner: HashMap<u64, sigstack_core::hash::Hash> = HashMap::new();
    for line in a.iter().chain(&b) {
        if let WriterLine::Ack { index, hash, .. } = line
            && let Some(previous) = owner.insert(*index, *hash)
        {
            assert_eq!(
                previous, *hash,
                "index {index} acknowledged for two different leaves"
            );
        }
    }
    // The two really wrote side by side: their index ranges interleave.
    let range = |lines: &[WriterLine]| {
        let idx = lines.iter().filter_map(|l| match l {
            WriterLine::Ack { index, .. } => Some(*index),
            WriterLine::Head { .. } => None,
        });
        (idx.clone().min().unwrap_or(0), idx.max().unwrap_or(0))
    };
    let ((a_min, a_max), (b_min, b_max)) = (range(&a), range(&b));
    assert!(
        a_min < b_max && b_min < a_max,
        "writers did not overlap: {a_min}..{a_max} vs {b_min}..{b_max}"
    );
    let mut lines = a;
    lines.extend(b);
    let store = open_postgres(&db).await;
    let size = check_tree(&store, tree, &lines).await;
    // Genesis plus both writers' distinct leaves (each run's leaves carry its own nonce).
    assert_eq!(size.get(), 1 + 6_000);
}
