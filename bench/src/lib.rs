//! Hearth's signaling benchmarks as a library, so the `loadgen` binary and the smoke tests share
//! one implementation.
//!
//! - `server`: the server under test (child process, in-process, or a URL) and its memory.
//! - `client`: connections from many loopback addresses, joining, realistic signal payloads.
//! - `relay`: rooms of two relaying at full speed or a fixed rate, with latency per frame.
//! - `idle`, `storm`, `slow` and `stalled`: the other scenarios.
//! - `stats`: percentiles.

pub mod client;
pub mod idle;
pub mod relay;
pub mod server;
pub mod slow;
pub mod stalled;
pub mod stats;
pub mod storm;

/// Raises this process's open-files limit to `want` (a child server inherits it). The hard limit
/// moves only with CAP_SYS_RESOURCE; without it the soft limit goes up to the hard one. Returns
/// the soft limit now in force.
pub fn raise_nofile(want: u64) -> u64 {
    use rlimit::Resource;
    if Resource::NOFILE.set(want, want).is_err() {
        let _ = rlimit::increase_nofile_limit(want);
    }
    Resource::NOFILE.get().map(|(soft, _)| soft).unwrap_or(0)
}
