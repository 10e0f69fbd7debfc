//! A small direct-mapped cache from raw text to an interned id, in front of route templating
//! and the interners' hash maps.
//!
//! Most lines of an access log repeat a handful of paths and origins. For those, templating
//! walks every byte and the interner hashes and compares the name again; a hit here costs one
//! word-at-a-time hash and one word-at-a-time comparison instead. Misses fall through to the
//! full path, so the cache changes speed only, never a count.
//!
//! Sound because an id, once given, names the same text for the store's lifetime: interners
//! only grow (merging appends), and templating is a pure function of the raw path. `(other)`
//! is never cached, so the interner keeps counting what it folds.

use crate::model::bytes::{half, word};

/// Longest key kept. Longer text (rare for routes and origins) always takes the full path.
const KEY_CAP: usize = 52;

#[derive(Clone, Copy)]
struct Slot {
    key: [u8; KEY_CAP],
    /// High bits of the key's hash: rejects most mismatches before comparing bytes.
    tag: u32,
    /// Key length; 0 marks an empty slot (the empty string is never cached).
    len: u8,
    id: u16,
}

const EMPTY: Slot = Slot {
    key: [0; KEY_CAP],
    tag: 0,
    len: 0,
    id: 0,
};

pub struct IdCache {
    slots: Box<[Slot]>,
    shift: u32,
}

impl std::fmt::Debug for IdCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let used = self.slots.iter().filter(|s| s.len != 0).count();
        write!(f, "IdCache({used}/{} slots)", self.slots.len())
    }
}

impl IdCache {
    /// A cache of `2^bits` slots (64 bytes each).
    pub fn new(bits: u32) -> IdCache {
        assert!((1..=16).contains(&bits));
        IdCache {
            slots: vec![EMPTY; 1 << bits].into_boxed_slice(),
            shift: 64 - bits,
        }
    }

    #[inline]
    pub fn get(&self, key: &[u8]) -> Option<u16> {
        if key.is_empty() || key.len() > KEY_CAP {
            return None;
        }
        let h = hash(key);
        let slot = &self.slots[(h >> self.shift) as usize];
        (slot.tag == h as u32
            && slot.len as usize == key.len()
            && crate::model::bytes::same(&slot.key[..key.len()], key))
        .then_some(slot.id)
    }

    #[inline]
    pub fn put(&mut self, key: &[u8], id: u16) {
        if key.is_empty() || key.len() > KEY_CAP {
            return;
        }
        let h = hash(key);
        let slot = &mut self.slots[(h >> self.shift) as usize];
        slot.key[..key.len()].copy_from_slice(key);
        // Bytes past the key stay from earlier occupants; `same` never reads them.
        slot.tag = h as u32;
        slot.len = key.len() as u8;
        slot.id = id;
    }
}

/// The key in at most `len / 8 + 1` words: whole words, then one word (or two half words for
/// short keys) ending at the last byte, overlapping what came before. The length is mixed in,
/// so the overlap cannot make two keys of different lengths collide systematically.
#[inline]
fn hash(b: &[u8]) -> u64 {
    const K: u64 = 0x9e37_79b9_7f4a_7c15;
    let n = b.len();
    let mut h = (n as u64).wrapping_mul(K);
    if n >= 8 {
        let mut i = 0;
        while i + 8 < n {
            h = (h ^ word(b, i)).wrapping_mul(K).rotate_left(29);
            i += 8;
        }
        h = (h ^ word(b, n - 8)).wrapping_mul(K);
    } else if n >= 4 {
        h = (h ^ half(b, 0) ^ (half(b, n - 4) << 32)).wrapping_mul(K);
    } else {
        let v = b[0] as u64 | (b[n / 2] as u64) << 8 | (b[n - 1] as u64) << 16;
        h = (h ^ v).wrapping_mul(K);
    }
    // The slot index comes from the top bits, the tag from the bottom: fold so both depend
    // on every input word.
    h ^ (h >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hits_only_the_exact_key() {
        let mut c = IdCache::new(4);
        let keys: Vec<String> = (1..=KEY_CAP)
            .map(|n| (0..n).map(|i| (b'a' + (i % 26) as u8) as char).collect())
            .collect();
        for (i, k) in keys.iter().enumerate() {
            c.put(k.as_bytes(), i as u16);
            assert_eq!(c.get(k.as_bytes()), Some(i as u16), "{k}");
            // Same length, one byte changed anywhere: never the cached id.
            for at in 0..k.len() {
                let mut other = k.clone().into_bytes();
                other[at] = b'#';
                assert_eq!(c.get(&other), None, "{k} changed at {at}");
            }
            // Prefixes (cached earlier under their own ids) and extensions are other keys.
            assert_ne!(c.get(&k.as_bytes()[..k.len() - 1]), Some(i as u16));
            assert_eq!(c.get(format!("{k}x").as_bytes()), None);
        }
    }

    #[test]
    fn empty_and_long_keys_are_never_cached() {
        let mut c = IdCache::new(2);
        c.put(b"", 1);
        assert_eq!(c.get(b""), None);
        let long = vec![b'x'; KEY_CAP + 1];
        c.put(&long, 2);
        assert_eq!(c.get(&long), None);
        let fits = vec![b'x'; KEY_CAP];
        c.put(&fits, 3);
        assert_eq!(c.get(&fits), Some(3));
    }

    #[test]
    fn a_colliding_key_replaces_the_slot() {
        // One slot: every key collides.
        let mut c = IdCache::new(1);
        let mut seen = Vec::new();
        for i in 0..200u16 {
            let k = format!("/api/route/{i}");
            c.put(k.as_bytes(), i);
            seen.push(k);
        }
        let hits = seen
            .iter()
            .enumerate()
            .filter(|(i, k)| c.get(k.as_bytes()) == Some(*i as u16))
            .count();
        assert!((1..=2).contains(&hits), "{hits}");
        for (i, k) in seen.iter().enumerate() {
            if let Some(id) = c.get(k.as_bytes()) {
                assert_eq!(id, i as u16);
            }
        }
    }
}
