//! Crash durability: a writer process under concurrent load is killed with
//! SIGKILL at random moments, repeatedly, on each backend. After each kill,
//! every acknowledged leaf is at its acknowledged index, every head published
//! before the crash is consistent with the current one, and the head's root
//! equals a recomputation from the stored leaves.

use std::time::{Duration, Instant};

use sigstack_core::ids::TreeId;
use sigstack_e2e::{TestDatabase, Writer, WriterLine, check_tree, open_postgres, open_sqlite};

const KILLS: usize = 6;

async fn crash_repeatedly<S>(db: TestDatabase, open: impl AsyncFn(&TestDatabase) -> S)
where
    S: sigstack_store::LogReader + Clone,
{
    let tree = TreeId::new(4242).expect("positive");
    let seed: u64 = rand::random();
    eprintln!(
        "crash test on {} (seed for the kill times: {seed})",
        db.backend
    );
    let mut all_lines: Vec<WriterLine> = Vec::new();
    let mut last_size = 0;
    for round in 0..KILLS {
        let mut writer = Writer::start(&db, tree, 1_000_000, 32);
        // Let it acknowledge something, then kill it at a random moment.
        let started = Instant::now();
        while writer.acks() < 50 {
            assert!(writer.is_running(), "writer exited early in round {round}");
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "writer acknowledged nothing"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let delay = 20 + (seed.rotate_left(round as u32 * 7) % 700);
        tokio::time::sleep(Duration::from_millis(delay)).await;
        let lines = writer.kill();
        let acked = lines
            .iter()
            .filter(|l| matches!(l, WriterLine::Ack { .. }))
            .count();
        all_lines.extend(lines);

        let store = open(&db).await;
        let size = check_tree(&store, tree, &all_lines).await;
        assert!(size.get() > last_size, "round {round} appended");
        last_size = size.get();
        eprintln!("round {round}: killed after {delay} ms, {acked} acks, tree size {size}");
    }
    // A last writer after the final crash publishes a new head; every head
    // ever published must be consistent with it.
    let writer = Writer::start(&db, tree, 200, 8);
    all_lines.extend(writer.wait());
    let store = open(&db).await;
    check_tree(&store, tree, &all_lines).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_writer_survives_sigkill() {
    crash_repeatedly(TestDatabase::sqlite(), open_sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_writer_survives_sigkill() {
    crash_repeatedly(TestDatabase::postgres().await, open_postgres).await;
}
