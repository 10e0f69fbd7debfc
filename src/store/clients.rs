//! When each client's real requests were refused with 401/403: the raw material of per-client
//! token-lifetime periodicity. A fleet's tokens expire at scattered times (Entra ID gives each
//! access token a random lifetime of 60–90 minutes), so the fleet's 401s rarely form one clean
//! period, while each client's recur at its own token lifetime.
//!
//! Only the start of each *episode* is kept: a refusal within [`EPISODE_GAP_MS`] of the
//! client's previous one belongs to the same expiry (retries, parallel calls). Memory bound:
//! at most [`MAX_CLIENTS`] clients, each a 64-bit key, the time of its latest refusal and a
//! ring of [`MAX_EPISODES`] episode starts (8 + 8 + 16 × 8 + 2 bytes, 152 with padding), in a
//! hash table of at most 8,192 slots: about 1.3 MB in the worst case. Clients beyond the cap
//! are counted, not kept, after clients silent for longer than the retention are swept out.

use rustc_hash::FxHashMap;

use crate::model::time::{EpochMs, MINUTE};

/// Most clients followed at once.
pub const MAX_CLIENTS: usize = 4096;
/// Episode starts kept per client (16 hours of hourly expiries, more than any window).
pub const MAX_EPISODES: usize = 16;
/// Refusals closer than this to the client's previous one are the same episode.
pub const EPISODE_GAP_MS: EpochMs = 5 * MINUTE;

#[derive(Clone, Debug, Default)]
struct ClientEpisodes {
    latest: EpochMs,
    /// Ring of episode starts; `len` valid entries ending at `head` (exclusive).
    starts: [EpochMs; MAX_EPISODES],
    head: u8,
    len: u8,
}

impl ClientEpisodes {
    fn push(&mut self, t: EpochMs) {
        self.starts[self.head as usize] = t;
        self.head = ((self.head as usize + 1) % MAX_EPISODES) as u8;
        self.len = (self.len as usize + 1).min(MAX_EPISODES) as u8;
    }

    /// Oldest first.
    fn iter(&self) -> impl Iterator<Item = EpochMs> + '_ {
        let first = (self.head as usize + MAX_EPISODES - self.len as usize) % MAX_EPISODES;
        (0..self.len as usize).map(move |k| self.starts[(first + k) % MAX_EPISODES])
    }
}

/// 401/403 episodes on real (non-preflight) requests, per client.
#[derive(Clone, Debug, Default)]
pub struct ClientFailures {
    clients: FxHashMap<u64, ClientEpisodes>,
    /// Refusals of clients not followed because the table was full.
    pub untracked: u64,
    retention_ms: EpochMs,
}

fn client_key(client: &str) -> u64 {
    use std::hash::BuildHasher;
    rustc_hash::FxBuildHasher.hash_one(client)
}

impl ClientFailures {
    pub fn new(retention_ms: EpochMs) -> ClientFailures {
        ClientFailures {
            retention_ms,
            ..Default::default()
        }
    }

    /// Notes a refusal of `client` at `t`. Unnamed clients (`-`, empty) are ignored.
    pub fn record(&mut self, client: &str, t: EpochMs) {
        if client.is_empty() || client == "-" {
            return;
        }
        let key = client_key(client);
        if !self.clients.contains_key(&key) && self.clients.len() >= MAX_CLIENTS {
            let horizon = t - self.retention_ms;
            self.clients.retain(|_, c| c.latest >= horizon);
            if self.clients.len() >= MAX_CLIENTS {
                self.untracked += 1;
                return;
            }
        }
        let c = self.clients.entry(key).or_default();
        if c.len == 0 {
            c.push(t);
            c.latest = t;
            return;
        }
        // Lines slightly out of order belong to the episode they fall in.
        if t > c.latest + EPISODE_GAP_MS {
            c.push(t);
        }
        c.latest = c.latest.max(t);
    }

    /// Clients followed.
    pub fn len(&self) -> usize {
        self.clients.len()
    }

    pub fn is_empty(&self) -> bool {
        self.clients.is_empty()
    }

    /// Each client's episode starts in `[from, to)`, oldest first, in a stable order (by
    /// client key) so that analyses are deterministic. Clients without one are left out.
    pub fn episodes(&self, from: EpochMs, to: EpochMs) -> Vec<Vec<EpochMs>> {
        let mut keys: Vec<&u64> = self.clients.keys().collect();
        keys.sort_unstable();
        keys.into_iter()
            .filter_map(|k| {
                let v: Vec<EpochMs> = self.clients[k]
                    .iter()
                    .filter(|&t| t >= from && t < to)
                    .collect();
                (!v.is_empty()).then_some(v)
            })
            .collect()
    }

    /// Folds `other` (whose lines follow this one's) into this table.
    pub fn merge(&mut self, other: ClientFailures) {
        self.untracked += other.untracked;
        let mut keys: Vec<u64> = other.clients.keys().copied().collect();
        keys.sort_unstable();
        for k in keys {
            let theirs = &other.clients[&k];
            if !self.clients.contains_key(&k) && self.clients.len() >= MAX_CLIENTS {
                self.untracked += theirs.len as u64;
                continue;
            }
            let mine = self.clients.entry(k).or_default();
            for t in theirs.iter() {
                if mine.len == 0 || t > mine.latest + EPISODE_GAP_MS {
                    mine.push(t);
                }
                mine.latest = mine.latest.max(t);
            }
            mine.latest = mine.latest.max(theirs.latest);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_form_one_episode_and_recurrences_new_ones() {
        let mut c = ClientFailures::new(6 * 60 * MINUTE);
        for t in [
            0,
            10_000,
            20_000,
            60 * MINUTE,
            60 * MINUTE + 1000,
            135 * MINUTE,
        ] {
            c.record("10.0.0.7", t);
        }
        c.record("-", 0);
        c.record("", 0);
        c.record("10.0.0.8", 30 * MINUTE);
        let e = c.episodes(0, 1000 * MINUTE);
        assert_eq!(e.len(), 2);
        assert!(e.contains(&vec![0, 60 * MINUTE, 135 * MINUTE]));
        assert!(e.contains(&vec![30 * MINUTE]));
        assert_eq!(
            c.episodes(50 * MINUTE, 100 * MINUTE),
            vec![vec![60 * MINUTE]]
        );
    }

    #[test]
    fn bounded_in_clients_and_episodes() {
        let mut c = ClientFailures::new(60 * MINUTE);
        for k in 0..MAX_EPISODES as i64 + 5 {
            c.record("busy", k * 6 * MINUTE);
        }
        let e = c.episodes(0, i64::MAX);
        assert_eq!(e[0].len(), MAX_EPISODES);
        assert_eq!(e[0][0], 5 * 6 * MINUTE);
        for k in 0..MAX_CLIENTS + 10 {
            c.record(&format!("10.1.{k}"), 200 * MINUTE);
        }
        assert_eq!(c.len(), MAX_CLIENTS);
        // "busy" was silent longer than the retention: swept to make room.
        assert_eq!(c.untracked, 10);
        // A later time lets the old ones go.
        c.record("late", 400 * MINUTE);
        assert_eq!(c.len(), 1);
        assert_eq!(c.untracked, 10);
    }

    #[test]
    fn merge_equals_one_pass() {
        let times: Vec<(String, EpochMs)> = (0..200)
            .map(|k| (format!("c{}", k % 7), k as EpochMs * 3 * MINUTE))
            .collect();
        let mut one = ClientFailures::new(600 * MINUTE);
        for (c, t) in &times {
            one.record(c, *t);
        }
        let (a_part, b_part) = times.split_at(90);
        let mut a = ClientFailures::new(600 * MINUTE);
        let mut b = ClientFailures::new(600 * MINUTE);
        for (c, t) in a_part {
            a.record(c, *t);
        }
        for (c, t) in b_part {
            b.record(c, *t);
        }
        a.merge(b);
        assert_eq!(a.episodes(0, i64::MAX), one.episodes(0, i64::MAX));
    }
}
