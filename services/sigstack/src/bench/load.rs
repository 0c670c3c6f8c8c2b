//! The load driver the HTTP benchmarks share: request bodies made before
//! timing starts, sent closed loop (a fixed number in flight) or open loop
//! (at a fixed rate, latency counted from each request's scheduled time so
//! a stall is not hidden).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::Semaphore;

use super::stats::Histogram;

/// One benchmark's requests: POST each body to `url`, expecting `expect`.
#[derive(Debug, Clone, Copy)]
pub struct Load<'a> {
    pub client: &'a reqwest::Client,
    pub url: &'a str,
    pub bodies: &'a Arc<Vec<Vec<u8>>>,
    pub concurrency: usize,
    pub expect: u16,
}

impl Load<'_> {
    /// Sends every body; returns the latencies of the answers with the
    /// expected status, and how many others there were.
    ///
    /// # Errors
    /// A zero rate.
    pub async fn run(&self, rate: Option<u64>) -> anyhow::Result<(Histogram, u64)> {
        match rate {
            None => Ok(self.closed_loop().await),
            Some(rate) => self.open_loop(rate).await,
        }
    }

    async fn closed_loop(&self) -> (Histogram, u64) {
        let next = Arc::new(AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for _ in 0..self.concurrency.max(1) {
            let (client, url, bodies, next, expect) = (
                self.client.clone(),
                self.url.to_owned(),
                Arc::clone(self.bodies),
                Arc::clone(&next),
                self.expect,
            );
            tasks.push(tokio::spawn(async move {
                let (mut latencies, mut errors) = (Histogram::default(), 0u64);
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(body) = bodies.get(i) else { break };
                    let sent = Instant::now();
                    match send(&client, &url, body.clone(), expect).await {
                        Ok(()) => latencies.record(sent.elapsed()),
                        Err(e) => {
                            errors += 1;
                            if errors <= 3 {
                                eprintln!("request failed: {e}");
                            }
                        }
                    }
                }
                (latencies, errors)
            }));
        }
        let (mut all, mut errors) = (Histogram::default(), 0);
        for task in tasks {
            if let Ok((l, e)) = task.await {
                all.merge(&l);
                errors += e;
            }
        }
        (all, errors)
    }

    async fn open_loop(&self, rate: u64) -> anyhow::Result<(Histogram, u64)> {
        anyhow::ensure!(rate > 0, "--rate must be positive");
        let slots = u32::try_from(self.concurrency.max(1))?;
        let in_flight = Arc::new(Semaphore::new(slots as usize));
        let results = Arc::new(std::sync::Mutex::new((Histogram::default(), 0u64)));
        let start = Instant::now();
        let mut tick = tokio::time::interval(Duration::from_millis(1));
        let mut issued = 0usize;
        let total = self.bodies.len();
        while issued < total {
            tick.tick().await;
            let due = ((start.elapsed().as_secs_f64() * rate as f64) as usize).min(total);
            while issued < due {
                let scheduled = start + Duration::from_secs_f64(issued as f64 / rate as f64);
                let permit = Arc::clone(&in_flight).acquire_owned().await?;
                let (client, url, body, results, expect) = (
                    self.client.clone(),
                    self.url.to_owned(),
                    self.bodies[issued].clone(),
                    Arc::clone(&results),
                    self.expect,
                );
                tokio::spawn(async move {
                    let outcome = send(&client, &url, body, expect).await;
                    let latency = scheduled.elapsed();
                    if let Ok(mut r) = results.lock() {
                        match outcome {
                            Ok(()) => r.0.record(latency),
                            Err(e) => {
                                r.1 += 1;
                                if r.1 <= 3 {
                                    eprintln!("request failed: {e}");
                                }
                            }
                        }
                    }
                    drop(permit);
                });
                issued += 1;
            }
        }
        let _all = in_flight.acquire_many(slots).await?;
        let results = results
            .lock()
            .map_err(|_| anyhow::anyhow!("results lock poisoned"))?;
        Ok((results.0.clone(), results.1))
    }
}

/// Sends one body; `Ok` only for the expected status.
async fn send(
    client: &reqwest::Client,
    url: &str,
    body: Vec<u8>,
    expect: u16,
) -> Result<(), String> {
    let response = client
        .post(url)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    match response.status().as_u16() {
        status if status == expect => Ok(()),
        status => Err(format!(
            "{status}: {}",
            response.text().await.unwrap_or_default()
        )),
    }
}
