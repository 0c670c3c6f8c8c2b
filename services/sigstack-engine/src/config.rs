//! The engine's settings.

use std::time::Duration;

/// The largest leaf the append API takes: leaves also go into C2SP entry
/// bundles, whose length prefix is a `uint16` (`spec/log.md` §5.4, §6.6).
pub const MAX_LEAF_BYTES: usize = 65_535;

/// How the sequencer batches and what the append API accepts.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// The personality's name (`rekor`, `ct`): the `log` label of the
    /// engine's metrics.
    pub name: String,
    /// A batch closes when it holds this many entries...
    pub max_batch: usize,
    /// ...or this long after its first entry arrived, whichever comes first.
    /// Zero commits whatever is queued as soon as the previous batch is done.
    pub max_wait: Duration,
    /// Leaves larger than this are refused (at most [`MAX_LEAF_BYTES`]).
    pub max_leaf_bytes: usize,
    /// Requests waiting for the sequencer; beyond this, `append` waits (backpressure).
    pub queue_depth: usize,
    /// Full (immutable) tiles the read side keeps in memory, per engine.
    pub tile_cache_tiles: usize,
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            name: "log".to_owned(),
            max_batch: 256,
            max_wait: Duration::from_millis(2),
            max_leaf_bytes: MAX_LEAF_BYTES,
            queue_depth: 8192,
            tile_cache_tiles: 1024,
        }
    }
}

impl EngineConfig {
    /// # Errors
    /// A message naming the setting that is out of range.
    pub fn validate(&self) -> Result<(), String> {
        if self.max_batch == 0 {
            return Err("max_batch must be at least 1".into());
        }
        if self.max_leaf_bytes == 0 || self.max_leaf_bytes > MAX_LEAF_BYTES {
            return Err(format!(
                "max_leaf_bytes must be between 1 and {MAX_LEAF_BYTES}"
            ));
        }
        if self.queue_depth == 0 {
            return Err("queue_depth must be at least 1".into());
        }
        if self.max_wait > Duration::from_secs(10) {
            return Err("max_wait above 10 s would stall callers".into());
        }
        Ok(())
    }
}
