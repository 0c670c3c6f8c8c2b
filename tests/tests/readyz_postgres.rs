//! `/readyz` of a transparency log on PostgreSQL follows the database: ready,
//! unready while the server is stopped, ready again once it is back. Writers
//! keep submitting throughout; every entry that was acknowledged (201) is
//! still in the log afterwards, at the index it was given, and the tree
//! holds no two entries at one index.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use sigstack_e2e::rekor::ClientKey;
use sigstack_e2e::serve::{Served, keys_init, only_entry};
use sigstack_testkit::postgres_cluster::Cluster;
use tokio::sync::Mutex;

/// uuid → logIndex of every acknowledged entry.
type Acked = Arc<Mutex<BTreeMap<String, u64>>>;

async fn wait_for_readyz(log: &Served, want: u16, within: Duration) {
    let deadline = Instant::now() + within;
    loop {
        if log.readyz().await == Some(want) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "/readyz did not turn {want} within {within:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn acked_count(acked: &Acked) -> usize {
    acked.lock().await.len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readyz_follows_postgres_and_no_acknowledged_entry_is_lost() {
    let cluster = Cluster::start();
    let dir = tempfile::tempdir().expect("temp dir");
    keys_init(dir.path());
    let config = format!(
        "service = \"log\"\n[database]\nbackend = \"postgres\"\nurl = \"{}\"\nmax_connections = 4\n\
         [log]\nhostname = \"rekor.example.test\"\nkey_file = \"keys/rekor.key.pem\"\npassword_file = \"password\"\n",
        cluster.url()
    );
    let log = Served::start(dir.path(), "log.toml", &config).await;

    let acked: Acked = Arc::default();
    let failed = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let mut writers = Vec::new();
    for writer in 0..2 {
        let (acked, failed, stop) = (Arc::clone(&acked), Arc::clone(&failed), Arc::clone(&stop));
        let (http, base) = (log.http.clone(), log.base.clone());
        writers.push(tokio::spawn(async move {
            let key = ClientKey::generate();
            let mut n = 0u64;
            while !stop.load(Ordering::Acquire) {
                n += 1;
                let entry = key.hashedrekord(format!("writer {writer} artifact {n}").as_bytes());
                let response = http
                    .post(format!("{base}/api/v1/log/entries"))
                    .json(&entry)
                    .send()
                    .await;
                match response {
                    Ok(r) if r.status() == 201 => {
                        let body: serde_json::Value = r.json().await.expect("201 body");
                        let (uuid, value) = only_entry(&body);
                        let index = value["logIndex"].as_u64().expect("logIndex");
                        acked.lock().await.insert(uuid.clone(), index);
                    }
                    Ok(r) => {
                        // Refused while the database is away: a 5xx, never a 4xx.
                        assert!(r.status().is_server_error(), "{}", r.status());
                        failed.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(_) => {
                        failed.fetch_add(1, Ordering::Relaxed);
                    }
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }));
    }

    // Up: ready, and writes acknowledged.
    let deadline = Instant::now() + Duration::from_secs(30);
    while acked_count(&acked).await < 20 {
        assert!(Instant::now() < deadline, "no writes acknowledged");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(log.readyz().await, Some(200));

    // Down: unready, and the body says which check fails.
    cluster.stop();
    let before_outage = acked_count(&acked).await;
    wait_for_readyz(&log, 503, Duration::from_secs(20)).await;
    let body = log.get_json(&format!("{}/readyz", log.admin)).await;
    assert_eq!(body["status"], "unready", "{body}");
    assert_eq!(body["checks"]["database"], "failing", "{body}");
    // The process itself is alive.
    let alive = log
        .http
        .get(format!("{}/healthz", log.admin))
        .send()
        .await
        .expect("healthz");
    assert_eq!(alive.status(), 200);
    // Writes in flight wait for a connection (at most the pool's acquire
    // timeout), then fail with a 5xx: none hangs for good.
    let deadline = Instant::now() + Duration::from_secs(40);
    while failed.load(Ordering::Relaxed) == 0 {
        assert!(
            Instant::now() < deadline,
            "no write failed during the outage"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // Back: ready again, and writes acknowledged again.
    cluster.start_again();
    wait_for_readyz(&log, 200, Duration::from_secs(60)).await;
    let after = acked_count(&acked).await;
    let deadline = Instant::now() + Duration::from_secs(60);
    while acked_count(&acked).await < after + 20 {
        assert!(
            Instant::now() < deadline,
            "no writes acknowledged after the outage"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    stop.store(true, Ordering::Release);
    for writer in writers {
        writer.await.expect("writer");
    }

    // Nothing acknowledged is lost, and no index is given twice.
    let acked = acked.lock().await.clone();
    assert!(acked.len() > before_outage);
    let mut indices: Vec<u64> = acked.values().copied().collect();
    indices.sort_unstable();
    indices.dedup();
    assert_eq!(
        indices.len(),
        acked.len(),
        "two entries acknowledged at one index"
    );
    for (uuid, index) in &acked {
        assert_eq!(log.log_index_of(uuid).await, Some(*index), "{uuid}");
    }
    let info = log.get_json(&format!("{}/api/v1/log", log.base)).await;
    let size = info["treeSize"].as_u64().expect("treeSize");
    // Genesis, every acknowledged entry, and perhaps some committed whose
    // answer was lost with the connection.
    assert!(
        size > acked.len() as u64,
        "tree size {size}, acknowledged {}",
        acked.len()
    );
    assert!(indices.last().is_some_and(|last| *last < size));
}
