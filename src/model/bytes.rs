//! Byte searches and comparisons over short haystacks: the fields, paths and timestamps of
//! one log line.
//!
//! `memchr` is built for long haystacks and chooses its vector code at run time, so every call
//! goes through a function pointer and a setup that a 20-byte field does not repay. These are
//! inlined into the parser: sixteen bytes per SSE2 compare on x86-64 (part of its baseline),
//! a byte loop elsewhere and below sixteen bytes.

/// Position of the first byte of `hay` that is one of `needles`.
#[inline(always)]
pub fn find_any<const N: usize>(needles: [u8; N], hay: &[u8]) -> Option<usize> {
    #[cfg(target_arch = "x86_64")]
    if hay.len() >= 16 {
        return sse2::find_any(needles, hay);
    }
    hay.iter().position(|c| needles.contains(c))
}

/// Position of the first `a` or `b` in `hay`.
#[inline(always)]
pub fn find2(a: u8, b: u8, hay: &[u8]) -> Option<usize> {
    find_any([a, b], hay)
}

/// Position of the first `a` in `hay`.
#[inline(always)]
pub fn find1(a: u8, hay: &[u8]) -> Option<usize> {
    find2(a, a, hay)
}

/// The 8 bytes of `b` at `at`, as one little-endian word.
#[inline(always)]
pub fn word(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().unwrap())
}

/// The 4 bytes of `b` at `at`, widened.
#[inline(always)]
pub fn half(b: &[u8], at: usize) -> u64 {
    u32::from_le_bytes(b[at..at + 4].try_into().unwrap()).into()
}

/// `a == b` for slices of equal length, a word at a time with the last word overlapping, so
/// that the short keys and timestamps compared on every line do not call into the C library.
#[inline(always)]
pub fn same(a: &[u8], b: &[u8]) -> bool {
    let n = a.len();
    if n != b.len() {
        return false;
    }
    if n >= 8 {
        let mut i = 0;
        while i + 8 < n {
            if word(a, i) != word(b, i) {
                return false;
            }
            i += 8;
        }
        word(a, n - 8) == word(b, n - 8)
    } else if n >= 4 {
        half(a, 0) == half(b, 0) && half(a, n - 4) == half(b, n - 4)
    } else {
        a == b
    }
}

#[cfg(target_arch = "x86_64")]
mod sse2 {
    use std::arch::x86_64::{
        __m128i, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_movemask_epi8, _mm_or_si128, _mm_set1_epi8,
    };

    /// `hay` holds at least 16 bytes.
    #[inline(always)]
    #[allow(unsafe_code)]
    pub fn find_any<const N: usize>(needles: [u8; N], hay: &[u8]) -> Option<usize> {
        let n = hay.len();
        debug_assert!(n >= 16);
        let p = hay.as_ptr();
        // SAFETY: SSE2 is enabled on every x86-64 target. Every load reads 16 bytes starting
        // at most at `n - 16`, so inside `hay`; unaligned loads are allowed.
        unsafe {
            let splats = needles.map(|c| _mm_set1_epi8(c as i8));
            let mask = |at: usize| {
                let v = _mm_loadu_si128(p.add(at).cast::<__m128i>());
                let mut hit = _mm_cmpeq_epi8(v, splats[0]);
                for s in &splats[1..] {
                    hit = _mm_or_si128(hit, _mm_cmpeq_epi8(v, *s));
                }
                _mm_movemask_epi8(hit) as u32
            };
            let mut i = 0;
            while i + 16 <= n {
                let m = mask(i);
                if m != 0 {
                    return Some(i + m.trailing_zeros() as usize);
                }
                i += 16;
            }
            if i < n {
                // The last 16 bytes, overlapping what was searched: drop the bits before `i`.
                let m = mask(n - 16) >> (i + 16 - n);
                if m != 0 {
                    return Some(i + m.trailing_zeros() as usize);
                }
            }
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agrees_with_memchr_at_every_length_and_position() {
        let mut rng = fastrand::Rng::with_seed(11);
        for len in 0..80 {
            for _ in 0..200 {
                let mut hay: Vec<u8> = (0..len).map(|_| rng.u8(b'a'..=b'z')).collect();
                for _ in 0..rng.usize(0..3) {
                    if len > 0 {
                        let at = rng.usize(..len);
                        hay[at] = if rng.bool() { b'"' } else { b'\\' };
                    }
                }
                assert_eq!(
                    find2(b'"', b'\\', &hay),
                    memchr::memchr2(b'"', b'\\', &hay),
                    "{hay:?}"
                );
                assert_eq!(find1(b'"', &hay), memchr::memchr(b'"', &hay), "{hay:?}");
                assert_eq!(
                    find_any([b'/', b'"', b'x', b'\\'], &hay),
                    hay.iter().position(|c| b"/\"x\\".contains(c)),
                    "{hay:?}"
                );
            }
        }
    }

    #[test]
    fn same_agrees_with_slice_equality() {
        let mut rng = fastrand::Rng::with_seed(5);
        for len in 0..70 {
            let a: Vec<u8> = (0..len).map(|_| rng.u8(..)).collect();
            assert!(same(&a, &a));
            for at in 0..len {
                let mut b = a.clone();
                b[at] ^= 1 << rng.u8(..8);
                assert!(!same(&a, &b), "{len} {at}");
            }
            assert!(!same(&a, &a[..len.saturating_sub(1)]) || len == 0);
        }
    }

    #[test]
    fn high_bytes_are_not_matches() {
        let hay = [0xffu8; 40];
        assert_eq!(find2(b'"', b'\\', &hay), None);
        let mut hay = [0xa2u8; 40];
        hay[37] = b'"';
        assert_eq!(find1(b'"', &hay), Some(37));
    }
}
