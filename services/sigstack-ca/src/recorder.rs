//! The recorder: two tasks that group the CA's writes into batches, one for
//! intents and one for certificate records, so that many requests share one
//! commit (as the engine's sequencer groups leaves, style.md practice 4).
//!
//! Each task takes what is queued, waits at most [`RecorderConfig::max_wait`]
//! for more (up to [`RecorderConfig::max_batch`]), writes the batch in one
//! store transaction, and only then answers each waiting request with its
//! own outcome. A batch the store fails as a whole fails every request in it
//! and stored nothing. So "the CA never signs without a stored intent"
//! still holds: [`Recorder::record_intent`] returns `Ok` only after the
//! commit that holds the intent, and every other path (an error, a full
//! stop, a task gone) answers with an error.
//!
//! The queues are bounded: a caller waits for room, which slows requests
//! down instead of letting memory grow. [`Recorder::shutdown`] stops taking
//! records and writes the queued ones before it returns; a record sent after
//! it fails. Dropping the recorder does the same without waiting.

use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use sigstack_engine::batch::fill_batch;
use sigstack_engine::error_chain;
use sigstack_store::StoreError;
use sigstack_store::issuance::{BatchOutcome, IssuanceIntent, IssuanceStore, IssuedCertificate};
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tracing::Instrument as _;

use crate::IssuanceError;

/// How the recorder groups writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecorderConfig {
    /// The most records of one kind in one transaction.
    pub max_batch: usize,
    /// How long a batch waits for more records after its first. An
    /// intent's wait is added to its request's latency before any signing.
    pub max_wait: Duration,
    /// Records of each kind queued before a caller must wait for room.
    pub queue_depth: usize,
}

impl Default for RecorderConfig {
    /// No wait: a batch is what queued while the previous one committed.
    /// Under load that groups as well as a wait does, and alone it adds
    /// nothing. Measured with `sigstack bench ca` on PostgreSQL with fsync,
    /// 2 cores: at `--concurrency 64`, 2,050–2,170 certificates/s with
    /// either; at `--rate 200`, p50 12.7 ms with no wait and 16.4 ms with
    /// 1 ms (tokio's timer rounds a 1 ms wait up, twice per request).
    fn default() -> Self {
        Self {
            max_batch: 256,
            max_wait: Duration::ZERO,
            queue_depth: 4096,
        }
    }
}

/// The handle requests record through; the tasks run until
/// [`Recorder::shutdown`] or until it is dropped.
#[derive(Debug)]
pub struct Recorder {
    intents: mpsc::Sender<Pending<IssuanceIntent>>,
    certificates: mpsc::Sender<Pending<IssuedCertificate>>,
    stop: watch::Sender<bool>,
    tasks: Mutex<Vec<JoinHandle<()>>>,
}

impl Recorder {
    /// Starts the two writing tasks over `store`.
    ///
    /// # Panics
    /// Outside a Tokio runtime (the tasks are spawned on it).
    pub fn start<S: IssuanceStore + 'static>(store: Arc<S>, config: RecorderConfig) -> Self {
        // A zero would make the channel panic or a batch hold nothing.
        let config = RecorderConfig {
            max_batch: config.max_batch.max(1),
            queue_depth: config.queue_depth.max(1),
            ..config
        };
        let (stop, stopped) = watch::channel(false);
        let (intents, intent_queue) = mpsc::channel(config.queue_depth);
        let (certificates, certificate_queue) = mpsc::channel(config.queue_depth);
        let tasks = vec![
            tokio::spawn(run(
                Arc::clone(&store),
                intent_queue,
                stopped.clone(),
                config,
            )),
            tokio::spawn(run(store, certificate_queue, stopped, config)),
        ];
        Self {
            intents,
            certificates,
            stop,
            tasks: Mutex::new(tasks),
        }
    }

    /// Records `intent`; `Ok` once it is committed.
    ///
    /// # Errors
    /// [`IssuanceError::Store`]: its serial is used, its batch failed, or the
    /// recorder has stopped.
    pub async fn record_intent(&self, intent: IssuanceIntent) -> Result<(), IssuanceError> {
        self.submit(&self.intents, intent).await
    }

    /// Records `certificate` and closes its intent; `Ok` once committed.
    ///
    /// # Errors
    /// [`IssuanceError::Store`]: no open intent has its serial, its batch
    /// failed, or the recorder has stopped.
    pub async fn record_certificate(
        &self,
        certificate: IssuedCertificate,
    ) -> Result<(), IssuanceError> {
        self.submit(&self.certificates, certificate).await
    }

    async fn submit<R>(
        &self,
        queue: &mpsc::Sender<Pending<R>>,
        record: R,
    ) -> Result<(), IssuanceError> {
        // The task closes its queue only between batches; refuse here at
        // once. A record that slips in before the close is still written.
        if *self.stop.borrow() {
            return Err(stopped());
        }
        let (reply, answer) = oneshot::channel();
        queue
            .send(Pending { record, reply })
            .await
            .map_err(|_| stopped())?;
        // A dropped reply means the task ended without answering (the
        // runtime is shutting down): not committed, as far as this caller knows.
        answer.await.map_err(|_| stopped())?
    }

    /// Stops taking records, writes every queued one (each caller hears its
    /// outcome) and waits for both tasks. Later records fail.
    pub async fn shutdown(&self) {
        self.stop.send_replace(true);
        // The lock guards only this list; a panic while it was held left
        // nothing half-done in it.
        let tasks = std::mem::take(&mut *self.tasks.lock().unwrap_or_else(PoisonError::into_inner));
        for task in tasks {
            if let Err(e) = task.await {
                tracing::error!(error = %e, "recorder task ended abnormally");
            }
        }
    }
}

/// One queued record and the request waiting for its commit.
struct Pending<R> {
    record: R,
    reply: oneshot::Sender<Result<(), IssuanceError>>,
}

/// A kind of record and the store's batch method that writes it.
trait Record: Send + Sync + Sized + 'static {
    const KIND: &'static str;

    fn write<S: IssuanceStore>(
        store: &S,
        batch: &[Self],
    ) -> impl Future<Output = Result<BatchOutcome, StoreError>> + Send;
}

impl Record for IssuanceIntent {
    const KIND: &'static str = "intent";

    fn write<S: IssuanceStore>(
        store: &S,
        batch: &[Self],
    ) -> impl Future<Output = Result<BatchOutcome, StoreError>> + Send {
        store.record_intents(batch)
    }
}

impl Record for IssuedCertificate {
    const KIND: &'static str = "certificate";

    fn write<S: IssuanceStore>(
        store: &S,
        batch: &[Self],
    ) -> impl Future<Output = Result<BatchOutcome, StoreError>> + Send {
        store.record_certificates(batch)
    }
}

fn stopped() -> IssuanceError {
    IssuanceError::Store("the recorder has stopped".into())
}

/// One writing task: batches from `queue` until it is closed and drained.
async fn run<S: IssuanceStore, R: Record>(
    store: Arc<S>,
    mut queue: mpsc::Receiver<Pending<R>>,
    mut stop: watch::Receiver<bool>,
    config: RecorderConfig,
) {
    let mut stopping = false;
    loop {
        let first = tokio::select! {
            next = queue.recv() => next,
            _ = stop.wait_for(|s| *s), if !stopping => {
                // Closing refuses new records but keeps the queued ones.
                queue.close();
                stopping = true;
                continue;
            }
        };
        let Some(first) = first else { break };
        // Stopping: write what is here now rather than wait.
        let wait = if stopping {
            Duration::ZERO
        } else {
            config.max_wait
        };
        let batch = fill_batch(&mut queue, first, config.max_batch, wait, Some(&mut stop)).await;
        let span = tracing::info_span!("recorder batch", kind = R::KIND, records = batch.len());
        write(&*store, batch).instrument(span).await;
    }
    tracing::debug!(kind = R::KIND, "recorder stopped");
}

/// Writes one batch, then answers each of its requests.
async fn write<S: IssuanceStore, R: Record>(store: &S, batch: Vec<Pending<R>>) {
    let (records, replies): (Vec<R>, Vec<_>) =
        batch.into_iter().map(|p| (p.record, p.reply)).unzip();
    let started = Instant::now();
    let written = R::write(store, &records).await;
    tracing::debug!(commit_us = started.elapsed().as_micros(), "batch written");
    match written {
        Ok(outcome) if outcome.len() == replies.len() => {
            for (reply, outcome) in replies.into_iter().zip(outcome) {
                // A caller that gave up waiting is not an error of the batch.
                let _ = reply.send(outcome.map_err(IssuanceError::from));
            }
        }
        Ok(outcome) => {
            // Some of these may be stored; failing them all is the safe
            // side: no intent's request signs, no certificate's is answered.
            let message = format!(
                "the store answered {} outcomes for {} records",
                outcome.len(),
                replies.len()
            );
            tracing::error!(error = %message, "batch failed");
            for reply in replies {
                let _ = reply.send(Err(IssuanceError::Store(message.clone())));
            }
        }
        Err(e) => {
            let message = error_chain(&e);
            tracing::warn!(error = %message, records = replies.len(), "batch failed");
            for reply in replies {
                let _ = reply.send(Err(IssuanceError::Store(message.clone())));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use sigstack_store::IntentState;

    use super::*;

    /// The real store, counting the batches it is handed; intents wait at
    /// `gate` until it has a permit.
    struct Counting<S> {
        store: S,
        intent_batches: AtomicUsize,
        intents_written: AtomicUsize,
        gate: tokio::sync::Semaphore,
    }

    impl<S: IssuanceStore> IssuanceStore for Counting<S> {
        async fn record_intents(
            &self,
            intents: &[IssuanceIntent],
        ) -> Result<BatchOutcome, StoreError> {
            self.intent_batches.fetch_add(1, Ordering::SeqCst);
            let _open = self.gate.acquire().await.expect("the gate is never closed");
            self.intents_written
                .fetch_add(intents.len(), Ordering::SeqCst);
            self.store.record_intents(intents).await
        }

        async fn record_certificates(
            &self,
            certificates: &[IssuedCertificate],
        ) -> Result<BatchOutcome, StoreError> {
            self.store.record_certificates(certificates).await
        }

        async fn record_failure(&self, serial: &[u8], reason: &str) -> Result<(), StoreError> {
            self.store.record_failure(serial, reason).await
        }

        async fn intent_state(&self, serial: &[u8]) -> Result<Option<IntentState>, StoreError> {
            self.store.intent_state(serial).await
        }

        async fn certificate(
            &self,
            serial: &[u8],
        ) -> Result<Option<IssuedCertificate>, StoreError> {
            self.store.certificate(serial).await
        }

        async fn issued_count(&self) -> Result<u64, StoreError> {
            self.store.issued_count().await
        }
    }

    fn counting<S>(store: S) -> Arc<Counting<S>> {
        Arc::new(Counting {
            store,
            intent_batches: AtomicUsize::new(0),
            intents_written: AtomicUsize::new(0),
            gate: tokio::sync::Semaphore::new(1),
        })
    }

    fn serial(n: usize) -> Vec<u8> {
        let mut serial = vec![0x40; 20];
        serial[18..].copy_from_slice(&u16::try_from(n).expect("small").to_be_bytes());
        serial
    }

    fn intent(n: usize) -> IssuanceIntent {
        IssuanceIntent {
            serial: serial(n),
            principal: format!("user-{n}@example.com"),
            issuer: "https://issuer.example".into(),
            key_hash: [7; 32],
        }
    }

    fn certificate(n: usize) -> IssuedCertificate {
        IssuedCertificate {
            serial: serial(n),
            san: format!("user-{n}@example.com"),
            issuer: "https://issuer.example".into(),
            not_before: 1_767_225_600,
            not_after: 1_767_226_200,
            fingerprint: [9; 32],
            der: vec![0x30, 0x00],
        }
    }

    /// One batch for everything sent at once: a wait far longer than the
    /// test takes to queue its records.
    fn one_batch() -> RecorderConfig {
        RecorderConfig {
            max_batch: 1000,
            max_wait: Duration::from_millis(300),
            queue_depth: 1000,
        }
    }

    /// Sends `records` at once, each from its own task, and collects each
    /// task's one answer in order.
    async fn concurrently<R: Send + 'static>(
        recorder: &Arc<Recorder>,
        records: Vec<R>,
        send: fn(Arc<Recorder>, R) -> tokio::task::JoinHandle<Result<(), IssuanceError>>,
    ) -> Vec<Result<(), IssuanceError>> {
        let tasks: Vec<_> = records
            .into_iter()
            .map(|r| send(Arc::clone(recorder), r))
            .collect();
        let mut answers = Vec::with_capacity(tasks.len());
        for task in tasks {
            answers.push(task.await.expect("request task"));
        }
        answers
    }

    fn send_intent(
        recorder: Arc<Recorder>,
        intent: IssuanceIntent,
    ) -> tokio::task::JoinHandle<Result<(), IssuanceError>> {
        tokio::spawn(async move { recorder.record_intent(intent).await })
    }

    fn send_certificate(
        recorder: Arc<Recorder>,
        certificate: IssuedCertificate,
    ) -> tokio::task::JoinHandle<Result<(), IssuanceError>> {
        tokio::spawn(async move { recorder.record_certificate(certificate).await })
    }

    async fn many_intents_share_commits<S: IssuanceStore + 'static>(store: S) {
        let store = counting(store);
        let recorder = Arc::new(Recorder::start(
            Arc::clone(&store),
            RecorderConfig {
                // Small, so that batches fill and senders wait for room.
                max_batch: 64,
                max_wait: Duration::from_millis(2),
                queue_depth: 16,
            },
        ));
        let answers = concurrently(&recorder, (0..500).map(intent).collect(), send_intent).await;
        assert!(answers.iter().all(Result::is_ok), "{answers:?}");
        assert_eq!(store.intents_written.load(Ordering::SeqCst), 500);
        let batches = store.intent_batches.load(Ordering::SeqCst);
        assert!(
            (8..500).contains(&batches),
            "500 intents in batches of at most 64 took {batches}"
        );
        for n in 0..500 {
            assert_eq!(
                store.intent_state(&serial(n)).await.expect("state"),
                Some(IntentState::Intended),
                "intent {n}"
            );
        }
    }

    async fn a_used_serial_fails_alone<S: IssuanceStore + 'static>(store: S) {
        let store = counting(store);
        store.store.record_intent(&intent(3)).await.expect("intent");
        let recorder = Arc::new(Recorder::start(Arc::clone(&store), one_batch()));
        let answers = concurrently(&recorder, (0..8).map(intent).collect(), send_intent).await;
        assert_eq!(store.intent_batches.load(Ordering::SeqCst), 1, "one batch");
        for (n, answer) in answers.iter().enumerate() {
            match (n, answer) {
                (3, Err(IssuanceError::Store(message))) => {
                    assert!(message.contains("already has an intent"), "{message}");
                }
                (3, other) => panic!("the used serial was answered {other:?}"),
                (_, answer) => assert!(answer.is_ok(), "intent {n}: {answer:?}"),
            }
        }
        for n in 0..8 {
            assert_eq!(
                store.intent_state(&serial(n)).await.expect("state"),
                Some(IntentState::Intended)
            );
        }
    }

    async fn a_stray_certificate_fails_alone<S: IssuanceStore + 'static>(store: S) {
        let store = Arc::new(store);
        let recorder = Arc::new(Recorder::start(Arc::clone(&store), one_batch()));
        for n in 0..4 {
            recorder.record_intent(intent(n)).await.expect("intent");
        }
        store
            .record_certificate(&certificate(1))
            .await
            .expect("issued");
        // 1 is issued already and 100 has no intent: they fail, the rest is stored.
        let records = vec![
            certificate(0),
            certificate(1),
            certificate(100),
            certificate(3),
        ];
        let answers = concurrently(&recorder, records, send_certificate).await;
        assert!(answers[0].is_ok(), "{:?}", answers[0]);
        assert!(
            matches!(&answers[1], Err(IssuanceError::Store(m)) if m.contains("no open intent")),
            "{:?}",
            answers[1]
        );
        assert!(
            matches!(&answers[2], Err(IssuanceError::Store(m)) if m.contains("no open intent")),
            "{:?}",
            answers[2]
        );
        assert!(answers[3].is_ok(), "{:?}", answers[3]);
        assert_eq!(store.issued_count().await.expect("count"), 3);
        assert_eq!(
            store.certificate(&serial(3)).await.expect("read"),
            Some(certificate(3))
        );
        assert_eq!(store.certificate(&serial(100)).await.expect("read"), None);
        assert_eq!(
            store.intent_state(&serial(2)).await.expect("state"),
            Some(IntentState::Intended)
        );
    }

    async fn a_failed_batch_fails_every_request<S: IssuanceStore + 'static>(store: S) {
        let store = counting(store);
        let recorder = Arc::new(Recorder::start(Arc::clone(&store), one_batch()));
        // An empty serial breaks the schema: the store fails the batch.
        let mut records: Vec<_> = (0..4).map(intent).collect();
        records[2].serial.clear();
        let answers = concurrently(&recorder, records, send_intent).await;
        assert_eq!(store.intent_batches.load(Ordering::SeqCst), 1);
        assert!(
            answers
                .iter()
                .all(|a| matches!(a, Err(IssuanceError::Store(_)))),
            "{answers:?}"
        );
        for n in [0, 1, 3] {
            assert_eq!(store.intent_state(&serial(n)).await.expect("state"), None);
        }
    }

    async fn shutdown_writes_what_is_queued<S: IssuanceStore + 'static>(store: S) {
        let store = counting(store);
        let _closed = store.gate.acquire().await.expect("gate");
        let recorder = Arc::new(Recorder::start(
            Arc::clone(&store),
            RecorderConfig {
                max_batch: 2,
                max_wait: Duration::from_secs(60),
                queue_depth: 16,
            },
        ));
        // 0 and 1 fill the first batch, held at the gate; 2 to 6 wait in the
        // queue, and the last of them would wait a minute for a full batch.
        let waiting: Vec<_> = (0..7)
            .map(|n| send_intent(Arc::clone(&recorder), intent(n)))
            .collect();
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert_eq!(store.intent_batches.load(Ordering::SeqCst), 1);
        let stopping = tokio::spawn({
            let recorder = Arc::clone(&recorder);
            async move { recorder.shutdown().await }
        });
        tokio::time::sleep(Duration::from_millis(100)).await;
        let refused =
            tokio::time::timeout(Duration::from_secs(1), recorder.record_intent(intent(9)))
                .await
                .expect("refused at once, not queued behind the gate");
        assert!(
            matches!(refused, Err(IssuanceError::Store(_))),
            "a stopping recorder takes no new record"
        );
        drop(_closed);
        tokio::time::timeout(Duration::from_secs(10), stopping)
            .await
            .expect("shutdown does not wait for a batch's deadline")
            .expect("shutdown task");
        for task in waiting {
            task.await
                .expect("request task")
                .expect("committed at shutdown");
        }
        for n in 0..7 {
            assert_eq!(
                store.intent_state(&serial(n)).await.expect("state"),
                Some(IntentState::Intended)
            );
        }
        assert_eq!(store.intent_state(&serial(9)).await.expect("state"), None);
    }

    macro_rules! recorder_suite {
        ($backend:ident: $($test:ident),+) => {
            mod $backend {
                $(
                    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                    async fn $test() {
                        // The fixture holds SQLite's directory for the test's length.
                        let fixture = sigstack_testkit::$backend().await;
                        super::$test(fixture.store.clone()).await;
                    }
                )+
            }
        };
    }

    recorder_suite!(sqlite_store: many_intents_share_commits, a_used_serial_fails_alone,
        a_stray_certificate_fails_alone, a_failed_batch_fails_every_request,
        shutdown_writes_what_is_queued);
    recorder_suite!(postgres_store: many_intents_share_commits, a_used_serial_fails_alone,
        a_stray_certificate_fails_alone, a_failed_batch_fails_every_request,
        shutdown_writes_what_is_queued);
}
