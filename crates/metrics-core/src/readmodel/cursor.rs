//! The opaque cursor of `get_drilldown`'s keyset pagination: the last row's position in the
//! page order (time_bucket DESC, reference_id), as base64url text. Clients pass back what
//! they got; anything else is refused (22023), never read as "the first page".

use crate::common::problem::{Outcome, Problem, SqlState};

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
/// What a cursor's text starts with once decoded: the format's version.
const PREFIX: &str = "d1|";
/// Longest cursor accepted (a reference id is at most a few hundred characters).
pub const MAX_CURSOR_LEN: usize = 2048;

/// A position in the page order: the row's time bucket (microseconds since the Unix epoch,
/// `None` when the row has none) and its reference id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    pub time_bucket: Option<i64>,
    pub reference_id: String,
}

/// base64url without padding (RFC 4648, section 5).
fn encode_base64url(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, b)| acc | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..=chunk.len() {
            out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

fn decode_base64url(text: &str) -> Option<Vec<u8>> {
    let sextet = |c: u8| ALPHABET.iter().position(|a| *a == c).map(|p| p as u32);
    let bytes = text.as_bytes();
    if bytes.len() % 4 == 1 {
        return None;
    }
    let mut out = Vec::with_capacity(bytes.len() * 3 / 4);
    for chunk in bytes.chunks(4) {
        let mut n = 0u32;
        for (i, c) in chunk.iter().enumerate() {
            n |= sextet(*c)? << (18 - 6 * i);
        }
        let full = chunk.len() - 1;
        for i in 0..full {
            out.push((n >> (16 - 8 * i)) as u8);
        }
        // Bits below the last full byte must be zero: one text per cursor.
        if n & ((1u32 << (24 - 8 * full)) - 1) != 0 {
            return None;
        }
    }
    Some(out)
}

impl Cursor {
    pub fn encode(&self) -> String {
        let bucket = self
            .time_bucket
            .map_or_else(|| "-".to_string(), |t| t.to_string());
        encode_base64url(format!("{PREFIX}{bucket}|{}", self.reference_id).as_bytes())
    }

    /// The cursor a client passed back, or 22023 when it is not one this API made.
    pub fn decode(text: &str) -> Outcome<Cursor> {
        let malformed = || {
            Problem::new(
                SqlState::InvalidParameterValue,
                "after is not a cursor of get_drilldown",
            )
            .hint("pass the \"next\" of the previous page unchanged, or NULL for the first page")
        };
        if text.len() > MAX_CURSOR_LEN {
            return Err(malformed());
        }
        let bytes = decode_base64url(text).ok_or_else(malformed)?;
        let plain = String::from_utf8(bytes).map_err(|_| malformed())?;
        let rest = plain.strip_prefix(PREFIX).ok_or_else(malformed)?;
        let (bucket, reference_id) = rest.split_once('|').ok_or_else(malformed)?;
        let time_bucket = match bucket {
            "-" => None,
            b if b.bytes().all(|c| c.is_ascii_digit() || c == b'-') => {
                Some(b.parse::<i64>().map_err(|_| malformed())?)
            }
            _ => return Err(malformed()),
        };
        if reference_id.is_empty() {
            return Err(malformed());
        }
        Ok(Cursor {
            time_bucket,
            reference_id: reference_id.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64url_matches_rfc_4648_vectors() {
        for (plain, coded) in [
            ("", ""),
            ("f", "Zg"),
            ("fo", "Zm8"),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg"),
            ("fooba", "Zm9vYmE"),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(encode_base64url(plain.as_bytes()), coded);
            assert_eq!(decode_base64url(coded).unwrap(), plain.as_bytes());
        }
        assert_eq!(encode_base64url(&[0xfb, 0xff]), "-_8");
        assert_eq!(decode_base64url("Zh"), None, "non-zero trailing bits");
        assert_eq!(decode_base64url("Zm9v="), None, "no padding");
        assert_eq!(decode_base64url("Z"), None);
    }

    #[test]
    fn cursors_round_trip() {
        for c in [
            Cursor {
                time_bucket: Some(1_748_736_000_000_000),
                reference_id: "acme/shop#12@production".into(),
            },
            Cursor {
                time_bucket: Some(-5),
                reference_id: "GET /users|x".into(),
            },
            Cursor {
                time_bucket: None,
                reference_id: "ü".into(),
            },
        ] {
            let text = c.encode();
            assert!(text
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
            assert_eq!(Cursor::decode(&text), Ok(c));
        }
    }

    #[test]
    fn anything_else_is_refused() {
        let valid = Cursor {
            time_bucket: Some(1),
            reference_id: "r".into(),
        }
        .encode();
        let other = |plain: &str| encode_base64url(plain.as_bytes());
        for text in [
            "".to_string(),
            "not a cursor!".to_string(),
            format!("{valid}="),
            other("d2|1|r"),
            other("d1|x|r"),
            other("d1|1|"),
            other("d1|1"),
            other("d1|99999999999999999999|r"),
            encode_base64url(&[b'd', b'1', b'|', b'1', b'|', 0xff]),
            "A".repeat(MAX_CURSOR_LEN + 4),
        ] {
            let p = Cursor::decode(&text).unwrap_err();
            assert_eq!(p.state, SqlState::InvalidParameterValue, "{text}");
            assert!(p.hint.is_some());
        }
    }
}
