//! Stable hashes: the same value on every machine and build (std's
//! `RandomState` is seeded per process). Partition shards, the mock's ids and
//! the placeholder ids of `contracts extract` depend on these values.

use std::hash::Hasher;

/// 64-bit FNV-1a (the `fnv` crate, already in the tree through `h2`).
pub fn fnv1a(bytes: &[u8]) -> u64 {
    let mut hasher = fnv::FnvHasher::default();
    hasher.write(bytes);
    hasher.finish()
}

/// The step between splitmix64 states (Steele, Lea and Flood's gamma).
pub const SPLITMIX_GAMMA: u64 = 0x9e37_79b9_7f4a_7c15;

/// One splitmix64 output for `seed`; the next state is `seed + SPLITMIX_GAMMA`.
pub fn splitmix64(seed: u64) -> u64 {
    let mut z = seed.wrapping_add(SPLITMIX_GAMMA);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// RFC 6901: a key inside a JSON pointer escapes `~` then `/`.
pub fn pointer_key(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

/// The key a JSON pointer token names: [`pointer_key`] undone (`~1`
/// first, then `~0`); borrowed when there is nothing to undo.
pub fn pointer_token(token: &str) -> std::borrow::Cow<'_, str> {
    if token.contains('~') {
        token.replace("~1", "/").replace("~0", "~").into()
    } else {
        token.into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv1a_matches_the_reference_vectors() {
        // The hand-written version these replace gave exactly these values.
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a(b"foobar"), 0x8594_4171_f739_67e8);
    }

    #[test]
    fn splitmix64_matches_the_reference_sequence() {
        // splitmix64 seeded with 0: the reference implementation's first two.
        assert_eq!(splitmix64(0), 0xe220_a839_7b1d_cdaf);
        assert_eq!(splitmix64(SPLITMIX_GAMMA), 0x6e78_9e6a_a1b9_65f4);
    }

    #[test]
    fn pointer_keys_escape_tilde_before_slash() {
        assert_eq!(pointer_key("a/b~c"), "a~1b~0c");
        assert_eq!(pointer_key("~1"), "~01");
    }
}
