//! Helpers of the end-to-end tests in `tests/tests/`: the `sigstack` binary,
//! writer processes whose acknowledgements are read line by line, databases
//! of both backends, checks of a stored tree against what was
//! acknowledged, (in [`rekor`]) a Rekor v1 log served over HTTP, and (in
//! [`serve`]) `sigstack serve` processes and their metrics.

pub mod ca;
pub mod rekor;
pub mod serve;
pub mod up;

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use base64::Engine as _;
use sigstack_core::checkpoint::Checkpoint;
use sigstack_core::consistency;
use sigstack_core::hash::{Hash, leaf_hash, node_hash};
use sigstack_core::ids::{LeafIndex, TreeId, TreeSize};
use sigstack_core::note::SignedNote;
use sigstack_engine::TreeReader;
use sigstack_store::{LogReader, PostgresOptions, PostgresStore, SqliteStore};

/// The `sigstack` binary of this build (next to the test executables).
///
/// # Panics
/// When it has not been built: `scripts/test` builds every target first.
pub fn sigstack_bin() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    let dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("target directory");
    let bin = dir.join("sigstack");
    assert!(
        bin.exists(),
        "{} is missing: run `cargo build -p sigstack` (scripts/test does)",
        bin.display()
    );
    bin
}

/// A database for one test, on either backend.
#[derive(Debug)]
pub struct TestDatabase {
    pub backend: &'static str,
    pub url: String,
    _dir: Option<tempfile::TempDir>,
}

impl TestDatabase {
    pub fn sqlite() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = dir.path().join("log.db").display().to_string();
        Self {
            backend: "sqlite",
            url,
            _dir: Some(dir),
        }
    }

    pub async fn postgres() -> Self {
        let url = sigstack_testkit::fresh_postgres_url("e2e").await;
        Self {
            backend: "postgres",
            url,
            _dir: None,
        }
    }
}

/// One line a writer printed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WriterLine {
    Ack {
        index: u64,
        hash: Hash,
        duplicate: bool,
    },
    Head {
        size: u64,
        root: Hash,
        checkpoint: String,
    },
}

fn parse_line(line: &str) -> Option<WriterLine> {
    let parts: Vec<&str> = line.split(' ').collect();
    let hash = |s: &str| hex::decode(s).ok().and_then(|b| Hash::from_slice(&b).ok());
    match parts.as_slice() {
        ["ack", index, h, kind] => Some(WriterLine::Ack {
            index: index.parse().ok()?,
            hash: hash(h)?,
            duplicate: *kind == "dup",
        }),
        ["head", size, root, note] => Some(WriterLine::Head {
            size: size.parse().ok()?,
            root: hash(root)?,
            checkpoint: String::from_utf8(
                base64::engine::general_purpose::STANDARD
                    .decode(note)
                    .ok()?,
            )
            .ok()?,
        }),
        _ => None,
    }
}

/// A `sigstack bench engine --print-acks` process appending to one tree.
#[derive(Debug)]
pub struct Writer {
    child: Child,
    lines: Arc<Mutex<Vec<WriterLine>>>,
    reader: Option<JoinHandle<()>>,
}

impl Writer {
    pub fn start(db: &TestDatabase, tree: TreeId, leaves: u64, concurrency: usize) -> Self {
        let mut child = Command::new(sigstack_bin())
            .args(["bench", "engine", "--print-acks", "--backend", db.backend])
            .args(["--database-url", &db.url])
            .args(["--tree-id", &tree.get().to_string()])
            .args([
                "--leaves",
                &leaves.to_string(),
                "--concurrency",
                &concurrency.to_string(),
            ])
            .args([
                "--leaf-bytes",
                "64",
                "--max-batch",
                "64",
                "--max-wait-ms",
                "1",
            ])
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the writer");
        let stdout = child.stdout.take().expect("piped stdout");
        let lines = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&lines);
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(parsed) = parse_line(&line) {
                    sink.lock().expect("lines lock").push(parsed);
                }
            }
        });
        Self {
            child,
            lines,
            reader: Some(reader),
        }
    }

    pub fn acks(&self) -> usize {
        self.lines
            .lock()
            .expect("lines lock")
            .iter()
            .filter(|l| matches!(l, WriterLine::Ack { .. }))
            .count()
    }

    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// SIGKILL, then everything it printed before dying.
    pub fn kill(mut self) -> Vec<WriterLine> {
        // Child::kill sends SIGKILL on Unix: no chance to clean up.
        let _ = self.child.kill();
        self.finish()
    }

    /// Waits for a normal exit, then everything it printed.
    pub fn wait(mut self) -> Vec<WriterLine> {
        let status = self.child.wait().expect("wait for the writer");
        assert!(status.success(), "writer failed: {status}");
        self.finish()
    }

    fn finish(&mut self) -> Vec<WriterLine> {
        let _ = self.child.wait();
        if let Some(reader) = self.reader.take() {
            reader.join().expect("line reader");
        }
        std::mem::take(&mut *self.lines.lock().expect("lines lock"))
    }
}

/// The RFC 6962 root of `leaves`, computed from all of them with a stack of
/// perfect subtrees (independent of the engine's tiles).
pub fn root_of_all(leaves: &[Hash]) -> Hash {
    let mut stack: Vec<(u32, Hash)> = Vec::new();
    for leaf in leaves {
        let mut node = (0u32, *leaf);
        while let Some(&(height, left)) = stack.last() {
            if height != node.0 {
                break;
            }
            stack.pop();
            node = (height + 1, node_hash(&left, &node.1));
        }
        stack.push(node);
    }
    let mut nodes = stack.into_iter().rev();
    match nodes.next() {
        None => sigstack_core::hash::EMPTY_ROOT,
        Some((_, first)) => nodes.fold(first, |right, (_, left)| node_hash(&left, &right)),
    }
}

/// Checks the stored tree against what writers acknowledged: every
/// acknowledged leaf at its index, every published head consistent with the
/// current one, and the head's root equal to a recomputation from the leaves.
/// Returns the current size.
///
/// # Panics
/// On any violation.
pub async fn check_tree<S: LogReader + Clone>(
    store: &S,
    tree: TreeId,
    lines: &[WriterLine],
) -> TreeSize {
    let head = store.head(tree).await.expect("head").expect("tree exists");
    let rows = store
        .leaves(tree, LeafIndex::new(0), u32::MAX)
        .await
        .expect("leaves");
    assert_eq!(
        rows.len() as u64,
        head.size.get(),
        "one stored leaf per index below the head"
    );
    let hashes: Vec<Hash> = rows
        .iter()
        .enumerate()
        .map(|(i, r)| {
            assert_eq!(r.index.get(), i as u64, "leaves are dense");
            assert_eq!(
                r.hash,
                leaf_hash(&r.data),
                "stored hash matches stored data"
            );
            r.hash
        })
        .collect();
    assert_eq!(
        root_of_all(&hashes),
        head.root,
        "head root equals the recomputed root"
    );
    let note = SignedNote::parse(&head.checkpoint).expect("stored checkpoint parses");
    let body = Checkpoint::parse_note_text(note.text()).expect("checkpoint body");
    assert_eq!(
        (body.size, body.root),
        (head.size, head.root),
        "stored checkpoint matches the head"
    );

    let reader = TreeReader::new(store.clone(), 64);
    for line in lines {
        match line {
            WriterLine::Ack { index, hash, .. } => {
                let stored = hashes.get(usize::try_from(*index).expect("index fits"));
                assert_eq!(
                    stored,
                    Some(hash),
                    "acknowledged leaf {index} is where it was acknowledged"
                );
            }
            WriterLine::Head {
                size,
                root,
                checkpoint,
            } => {
                let size = TreeSize::new(*size);
                assert!(size <= head.size, "a published head is never lost");
                let signed = SignedNote::parse(checkpoint).expect("published checkpoint parses");
                let cp = Checkpoint::parse_note_text(signed.text()).expect("published body");
                assert_eq!((cp.size, &cp.root), (size, root));
                if size < head.size {
                    let proof = reader
                        .consistency_proof(tree, size, head.size)
                        .await
                        .expect("consistency proof");
                    consistency::verify(size, head.size, &proof, root, &head.root)
                        .expect("published head is consistent with the current head");
                } else {
                    assert_eq!(*root, head.root, "same size, same root: no fork");
                }
            }
        }
    }
    head.size
}

pub async fn open_sqlite(db: &TestDatabase) -> SqliteStore {
    SqliteStore::open(Path::new(&db.url))
        .await
        .expect("open sqlite")
}

pub async fn open_postgres(db: &TestDatabase) -> PostgresStore {
    PostgresStore::connect(&db.url, &PostgresOptions::default())
        .await
        .expect("connect postgres")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_of_all_matches_rfc6962_shape() {
        let leaves: Vec<Hash> = (0..7u8).map(|i| leaf_hash(&[i])).collect();
        let l = |i: usize| leaves[i];
        let expected = node_hash(
            &node_hash(&node_hash(&l(0), &l(1)), &node_hash(&l(2), &l(3))),
            &node_hash(&node_hash(&l(4), &l(5)), &l(6)),
        );
        assert_eq!(root_of_all(&leaves), expected);
        assert_eq!(root_of_all(&leaves[..1]), l(0));
        assert_eq!(root_of_all(&[]), sigstack_core::hash::EMPTY_ROOT);
    }

    #[test]
    fn parses_writer_lines() {
        let h = leaf_hash(b"x");
        let line = format!("ack 5 {} dup", h.to_hex());
        assert_eq!(
            parse_line(&line),
            Some(WriterLine::Ack {
                index: 5,
                hash: h,
                duplicate: true
            })
        );
        assert_eq!(parse_line("rss_at_size 10: 1"), None);
    }
}
