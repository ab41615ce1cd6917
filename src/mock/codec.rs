//! Byte-level helpers for uploads: base64, SHA-256 (well-kept crates) and
//! image sniffing (a few magic numbers).

/// Standard base64 (RFC 4648 §4), padding optional. `None` on any stray byte.
pub(crate) fn base64_decode(text: &str) -> Option<Vec<u8>> {
    use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
    const LENIENT: GeneralPurpose = GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
    );
    base64::Engine::decode(&LENIENT, text).ok()
}

/// Lower-case hex SHA-256 (FIPS 180-4).
pub(crate) fn sha256_hex(data: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The MIME type the leading bytes announce, for the preview's raster types.
pub(crate) fn sniff_mime(bytes: &[u8]) -> Option<&'static str> {
    let at = |range: std::ops::Range<usize>| bytes.get(range).unwrap_or_default();
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("image/jpeg")
    } else if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
        Some("image/gif")
    } else if at(0..4) == b"RIFF" && at(8..12) == b"WEBP" {
        Some("image/webp")
    } else if at(4..8) == b"ftyp" && matches!(at(8..12), b"avif" | b"avis") {
        Some("image/avif")
    } else {
        None
    }
}

/// Width and height from a PNG's IHDR chunk; other formats report none.
pub(crate) fn png_dimensions(bytes: &[u8]) -> Option<(u32, u32)> {
    if sniff_mime(bytes) != Some("image/png") || bytes.get(12..16)? != b"IHDR" {
        return None;
    }
    let word = |at: usize| {
        bytes
            .get(at..at + 4)
            .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    };
    Some((word(16)?, word(20)?)).filter(|(w, h)| *w > 0 && *h > 0)
}

/// `%XX` escapes of a URL path segment, decoded.
pub(crate) use crate::contract::percent_decode;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_matches_known_vectors() {
        assert_eq!(
            sha256_hex(b""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        let long = b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
        assert_eq!(
            sha256_hex(long),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"
        );
    }

    #[test]
    fn base64_round_trips_and_rejects_garbage() {
        assert_eq!(base64_decode("Zm9v").as_deref(), Some(&b"foo"[..]));
        assert_eq!(base64_decode("Zm8=").as_deref(), Some(&b"fo"[..]));
        assert_eq!(base64_decode("Zg").as_deref(), Some(&b"f"[..]));
        assert_eq!(
            base64_decode("d/+x").as_deref(),
            Some(&[0x77, 0xFF, 0xB1][..])
        );
        assert_eq!(base64_decode("Zm9v!"), None);
        assert_eq!(base64_decode("Z"), None);
        assert_eq!(base64_decode("Zg==="), None);
    }

    #[test]
    fn sniffing_knows_the_preview_types() {
        let png = base64_decode(
            "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==",
        )
        .unwrap_or_default();
        assert_eq!(sniff_mime(&png), Some("image/png"));
        assert_eq!(png_dimensions(&png), Some((1, 1)));
        assert_eq!(sniff_mime(b"\xFF\xD8\xFF\xE0"), Some("image/jpeg"));
        assert_eq!(sniff_mime(b"RIFF\0\0\0\0WEBPVP8 "), Some("image/webp"));
        assert_eq!(sniff_mime(b"\0\0\0\x1cftypavif"), Some("image/avif"));
        assert_eq!(sniff_mime(b"<svg xmlns="), None);
        assert_eq!(png_dimensions(b"GIF89a"), None);
    }

    #[test]
    fn percent_decoding_keeps_plain_text() {
        assert_eq!(percent_decode("job_000001"), "job_000001");
        assert_eq!(percent_decode("a%2Fb%zz"), "a/b%zz");
    }
}
