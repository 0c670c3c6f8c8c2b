//! SIGTERM while entries wait in an open batch: every request already in
//! flight is answered 201 (the listener drains before the engine stops, and
//! the engine commits its open batch), the process exits 0, and after a
//! restart every one of those entries is in the log at its index.

use std::time::Duration;

use sigstack_e2e::rekor::ClientKey;
use sigstack_e2e::serve::{LOG_CONFIG, Served, keys_init, only_entry};

/// A batch stays open for 2 s unless 10,000 entries fill it first.
fn config() -> String {
    format!("{LOG_CONFIG}max_batch = 10000\nmax_wait_ms = 2000\n")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_answers_every_request_in_flight_and_commits_the_open_batch() {
    let dir = tempfile::tempdir().expect("temp dir");
    keys_init(dir.path());
    let mut log = Served::start(dir.path(), "log.toml", &config()).await;
    let key = ClientKey::generate();
    let mut requests = Vec::new();
    for n in 0..40 {
        let entry = key.hashedrekord(format!("artifact {n}").as_bytes());
        let (http, base) = (log.http.clone(), log.base.clone());
        requests.push(tokio::spawn(async move {
            http.post(format!("{base}/api/v1/log/entries"))
                .json(&entry)
                .send()
                .await
        }));
    }
    // Every request is on the wire and queued in the open batch.
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let status = tokio::task::spawn_blocking(move || {
        let status = log.terminate(Duration::from_secs(20));
        (status, log)
    });
    let mut acknowledged = Vec::new();
    for request in requests {
        let response = request
            .await
            .expect("task")
            .expect("an answer, not a dropped connection");
        assert_eq!(response.status(), 201, "a request in flight at SIGTERM");
        let body: serde_json::Value = response.json().await.expect("body");
        let (uuid, value) = only_entry(&body);
        acknowledged.push((uuid.clone(), value["logIndex"].as_u64().expect("logIndex")));
    }
    let (status, _stopped) = status.await.expect("terminate");
    assert!(status.success(), "exit after SIGTERM: {status}");

    let log = Served::start(dir.path(), "log.toml", &config()).await;
    for (uuid, index) in &acknowledged {
        assert_eq!(log.log_index_of(uuid).await, Some(*index));
    }
    assert_eq!(acknowledged.len(), 40);
}
