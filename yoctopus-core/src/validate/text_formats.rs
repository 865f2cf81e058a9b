//! Strings with a shape: email addresses, hostnames and ISO 8601 dates (the original's `'email'`,
//! `'hostname'` and `'date'`).
//!
//! Each is a newtype over the checked `String`, so a handler that receives an [`Email`] knows it was
//! checked. The checks are written out here rather than pulled from a crate: each is a few lines of
//! well-known grammar (RFC 5321 addresses without quoted parts, RFC 1123 hostnames, ISO 8601
//! calendar dates and date-times).

use std::borrow::Cow;
use std::fmt;
use std::ops::Deref;

use schemars::{json_schema, JsonSchema, Schema, SchemaGenerator};
use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

use super::{FieldPath, RequestFormat, ValidationErrors};

macro_rules! checked_string {
    ($(#[$doc:meta])* $name:ident, $format:literal, $expected:literal, $check:path, $schema:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// Checks `text` and wraps it, or returns it back when it does not fit.
            pub fn parse(text: impl Into<String>) -> Result<Self, String> {
                let text = text.into();
                if $check(&text) {
                    Ok(Self(text))
                } else {
                    Err(text)
                }
            }

            /// The checked text.
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// Takes the checked text out.
            pub fn into_string(self) -> String {
                self.0
            }
        }

        impl Deref for $name {
            type Target = str;

            fn deref(&self) -> &str {
                &self.0
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl RequestFormat for $name {
            const EXPECTED: &'static str = $expected;

            fn from_json(value: Value, at: &FieldPath<'_>, errors: &mut ValidationErrors) -> Option<Self> {
                match value {
                    Value::String(text) if $check(&text) => Some(Self(text)),
                    Value::String(text) => {
                        errors.push(at, format_args!("expected {}, got {:?}", Self::EXPECTED, shorten(&text)));
                        None
                    }
                    other => {
                        errors.mismatch(at, Self::EXPECTED, &other);
                        None
                    }
                }
            }

            fn describe() -> Value {
                Value::from($format)
            }

            fn deserialize_fast<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = String::deserialize(deserializer)?;
                if $check(&text) {
                    Ok(Self(text))
                } else {
                    Err(D::Error::custom(concat!("expected ", $expected)))
                }
            }
        }

        impl JsonSchema for $name {
            fn schema_name() -> Cow<'static, str> {
                Cow::Borrowed(stringify!($name))
            }

            fn inline_schema() -> bool {
                true
            }

            fn json_schema(_generator: &mut SchemaGenerator) -> Schema {
                $schema
            }
        }
    };
}

checked_string!(
    /// An email address (`local@domain.tld`), the original's `'email'` format.
    Email,
    "email",
    "email",
    is_email,
    json_schema!({ "type": "string", "format": "email" })
);

checked_string!(
    /// A hostname as RFC 1123 defines it (`example.com`, `db-1`), the original's `'hostname'` format.
    Hostname,
    "hostname",
    "hostname",
    is_hostname,
    json_schema!({ "type": "string", "format": "hostname" })
);

checked_string!(
    /// An ISO 8601 calendar date (`2024-02-29`) or date-time (`2024-02-29T13:45:00Z`, with an
    /// optional fraction and offset), the original's `'date'` format.
    IsoDate,
    "date",
    "ISO 8601 date",
    is_iso_date,
    json_schema!({ "type": "string", "anyOf": [{ "format": "date" }, { "format": "date-time" }] })
);

/// Error messages echo the client's own value, cut short so a huge string cannot bloat the reply.
fn shorten(text: &str) -> &str {
    const LIMIT: usize = 64;
    match text.char_indices().nth(LIMIT) {
        Some((end, _)) => &text[..end],
        None => text,
    }
}

// The email and hostname checks are on the hot path of every request with such a field, so each
// reads its text once, byte by byte, rather than in several passes of `str` searches (`rsplit_once`,
// `contains("..")`, `split('.')`, ...): those passes were most of the cost of validating an email.
// The rules are unchanged; the tests hold them to the several-pass version they replace.

/// `local@domain`: a local part of 1 to 64 RFC 5321 `atext` characters and dots, with no dot at
/// either end nor two in a row; a domain that is a hostname with at least one dot; at most 254 bytes.
fn is_email(text: &str) -> bool {
    let bytes = text.as_bytes();
    if bytes.len() > 254 {
        return false;
    }
    // The byte before the current one; a dot at the start makes a leading dot a "double" one.
    let mut previous = b'.';
    for (at, &byte) in bytes.iter().enumerate() {
        match byte {
            // Neither part may hold an `@`, so a valid address has exactly one: the first `@` is
            // the split, and a later one fails the domain check.
            b'@' => {
                return (1..=64).contains(&at)
                    && previous != b'.'
                    && hostname_dots(&bytes[at + 1..]).is_some_and(|dots| dots > 0);
            }
            b'.' if previous == b'.' => return false,
            b'.'
            | b'a'..=b'z'
            | b'A'..=b'Z'
            | b'0'..=b'9'
            | b'!'
            | b'#'
            | b'$'
            | b'%'
            | b'&'
            | b'\''
            | b'*'
            | b'+'
            | b'-'
            | b'/'
            | b'='
            | b'?'
            | b'^'
            | b'_'
            | b'`'
            | b'{'
            | b'|'
            | b'}'
            | b'~' => previous = byte,
            _ => return false,
        }
    }
    false
}

/// RFC 1123: labels of 1 to 63 letters, digits and hyphens, no hyphen at either end of a label,
/// joined by dots, at most 253 bytes, with an optional trailing dot.
fn is_hostname(text: &str) -> bool {
    hostname_dots(text.as_bytes()).is_some()
}

/// Checks a hostname (see [`is_hostname`]) in one pass and counts its dots, a trailing one
/// included (an email's domain needs one); `None` when it is not a hostname.
fn hostname_dots(bytes: &[u8]) -> Option<usize> {
    let (bytes, trailing_dot) = match bytes.strip_suffix(b".") {
        Some(stripped) => (stripped, 1),
        None => (bytes, 0),
    };
    if bytes.len() > 253 {
        return None;
    }
    let (mut dots, mut label_len, mut previous) = (0, 0, b'.');
    for &byte in bytes {
        match byte {
            b'.' if label_len == 0 || previous == b'-' => return None,
            b'.' => {
                dots += 1;
                label_len = 0;
            }
            b'-' if label_len == 0 => return None,
            b'-' | b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' if label_len < 63 => label_len += 1,
            _ => return None,
        }
        previous = byte;
    }
    // The last label: not empty (nor the whole name), and not ending in a hyphen.
    (label_len > 0 && previous != b'-').then_some(dots + trailing_dot)
}

fn is_iso_date(text: &str) -> bool {
    let (date, time) = match text.split_once(['T', 't', ' ']) {
        Some((date, time)) => (date, Some(time)),
        None => (text, None),
    };
    is_calendar_date(date) && time.is_none_or(is_time_with_offset)
}

fn digits(text: &str, count: usize) -> Option<u32> {
    (text.len() == count && text.bytes().all(|b| b.is_ascii_digit()))
        .then(|| text.parse().ok())
        .flatten()
}

fn is_calendar_date(date: &str) -> bool {
    let mut parts = date.split('-');
    let (Some(year), Some(month), Some(day), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    let (Some(year), Some(month), Some(day)) = (digits(year, 4), digits(month, 2), digits(day, 2))
    else {
        return false;
    };
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let days_in_month = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    (1..=days_in_month).contains(&day)
}

fn is_time_with_offset(time: &str) -> bool {
    let (clock, offset) = if let Some(clock) = time.strip_suffix(['Z', 'z']) {
        (clock, None)
    } else if let Some(sign) = time.rfind(['+', '-']) {
        (&time[..sign], Some(&time[sign + 1..]))
    } else {
        (time, None)
    };
    let (clock, fraction) = match clock.split_once('.') {
        Some((clock, fraction)) => (clock, Some(fraction)),
        None => (clock, None),
    };
    let fraction_ok =
        fraction.is_none_or(|f| !f.is_empty() && f.bytes().all(|b| b.is_ascii_digit()));
    let mut fields = clock.split(':');
    let hour = fields.next().and_then(|h| digits(h, 2));
    let minute = fields.next().and_then(|m| digits(m, 2));
    let second = match fields.next() {
        Some(s) => digits(s, 2),
        None if fraction.is_none() => Some(0),
        None => None,
    };
    let clock_ok = matches!((hour, minute, second, fields.next()), (Some(h), Some(m), Some(s), None) if h < 24 && m < 60 && s <= 60);
    let offset_ok = offset.is_none_or(|offset| {
        let (hours, minutes) = match offset.split_once(':') {
            Some(parts) => parts,
            None if offset.len() == 4 && offset.is_char_boundary(2) => offset.split_at(2),
            None => (offset, "00"),
        };
        matches!((digits(hours, 2), digits(minutes, 2)), (Some(h), Some(m)) if h < 24 && m < 60)
    });
    clock_ok && fraction_ok && offset_ok
}

#[cfg(test)]
mod tests {
    use super::{is_email, is_hostname, is_iso_date};

    #[test]
    fn emails() {
        for good in [
            "a@b.co",
            "first.last+tag@mail.example.org",
            "x_y@sub-1.example.com",
        ] {
            assert!(is_email(good), "{good}");
        }
        for bad in [
            "",
            "plain",
            "@b.co",
            "a@",
            "a@b",
            "a..b@c.de",
            ".a@b.co",
            "a b@c.de",
            "a@-b.co",
            "a@b..co",
        ] {
            assert!(!is_email(bad), "{bad}");
        }
    }

    #[test]
    fn hostnames() {
        for good in [
            "localhost",
            "example.com",
            "db-1.internal",
            "example.com.",
            "a1",
        ] {
            assert!(is_hostname(good), "{good}");
        }
        let too_long_label = "a".repeat(64);
        for bad in [
            "",
            "-a.com",
            "a-.com",
            "a..b",
            "under_score.com",
            "sp ace.com",
            too_long_label.as_str(),
        ] {
            assert!(!is_hostname(bad), "{bad}");
        }
    }

    #[test]
    fn email_edge_cases() {
        let local = |n: usize| format!("{}@b.co", "a".repeat(n));
        // 64 + 1 + 63 + 1 + 63 + 1 + 61 = 254 bytes, the most an address may have.
        let longest = format!(
            "{}@{}.{}.{}",
            "a".repeat(64),
            "b".repeat(63),
            "c".repeat(63),
            "d".repeat(61)
        );
        assert_eq!(longest.len(), 254);
        let too_long = format!("{longest}d");
        for (text, expected) in [
            ("a@b.c", true),
            ("a.b.c@d.e", true),
            ("!#$%&'*+-/=?^_`{|}~@x.y", true),
            ("A-Z.09@X-1.Y2", true),
            ("a@b.", true),
            ("a@b.c.", true),
            ("@b.co", false),
            ("a@", false),
            ("a@.", false),
            ("@", false),
            ("a@b", false),
            (".a@b.co", false),
            ("a.@b.co", false),
            ("a..b@c.de", false),
            ("a@.b.co", false),
            ("a@b..co", false),
            ("a@b.co..", false),
            ("a@@b.co", false),
            ("a@b@c.de", false),
            ("a@-b.co", false),
            ("a@b-.co", false),
            ("a@b.co-", false),
            ("a@b_c.de", false),
            ("\"a\"@b.co", false),
            ("a(b)@c.de", false),
            ("a,b@c.de", false),
            ("a\\b@c.de", false),
            ("a b@c.de", false),
            ("a\0@b.co", false),
            ("é@b.co", false),
            ("a@é.co", false),
            ("a@b.cö", false),
            ("a@[127.0.0.1]", false),
            (&local(1), true),
            (&local(64), true),
            (&local(65), false),
            (&format!("a@{}.c", "b".repeat(63)), true),
            (&format!("a@{}.c", "b".repeat(64)), false),
            (&longest, true),
            (&too_long, false),
        ] {
            assert_eq!(is_email(text), expected, "{text:?}");
        }
    }

    #[test]
    fn hostname_edge_cases() {
        let label = |n: usize| "a".repeat(n);
        // 63 + 1 + 63 + 1 + 63 + 1 + 61 = 253 bytes, the most a hostname may have.
        let longest = [label(63), label(63), label(63), label(61)].join(".");
        assert_eq!(longest.len(), 253);
        for (text, expected) in [
            ("a", true),
            ("A-0", true),
            ("1.2.3.4", true),
            ("a.", true),
            ("a-b--c.d", true),
            ("", false),
            (".", false),
            ("..", false),
            ("a..", false),
            (".a", false),
            ("a..b", false),
            ("-", false),
            ("-a", false),
            ("a-", false),
            ("a-.b", false),
            ("a.-b", false),
            ("a.b-", false),
            ("a.b-.", false),
            ("a_b", false),
            ("a b", false),
            ("a@b", false),
            ("é.com", false),
            ("xn--bcher-kva.example", true),
            (&label(63), true),
            (&label(64), false),
            (&format!("{}.b", label(63)), true),
            (&format!("b.{}", label(64)), false),
            (&longest, true),
            (&format!("{longest}."), true),
            (&format!("{longest}a"), false),
            (&format!("{longest}a."), false),
        ] {
            assert_eq!(is_hostname(text), expected, "{text:?}");
        }
    }

    /// The several-pass checks the one-pass ones replaced, kept as the reference they must agree
    /// with.
    mod reference {
        pub(super) fn is_email(text: &str) -> bool {
            let Some((local, domain)) = text.rsplit_once('@') else {
                return false;
            };
            let local_ok = !local.is_empty()
                && local.len() <= 64
                && !local.starts_with('.')
                && !local.ends_with('.')
                && !local.contains("..")
                && local
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-/=?^_`{|}~.".contains(&b));
            local_ok && text.len() <= 254 && domain.contains('.') && is_hostname(domain)
        }

        pub(super) fn is_hostname(text: &str) -> bool {
            let text = text.strip_suffix('.').unwrap_or(text);
            !text.is_empty()
                && text.len() <= 253
                && text.split('.').all(|label| {
                    !label.is_empty()
                        && label.len() <= 63
                        && !label.starts_with('-')
                        && !label.ends_with('-')
                        && label
                            .bytes()
                            .all(|b| b.is_ascii_alphanumeric() || b == b'-')
                })
        }
    }

    fn assert_agrees(text: &str) {
        assert_eq!(is_email(text), reference::is_email(text), "email {text:?}");
        assert_eq!(
            is_hostname(text),
            reference::is_hostname(text),
            "hostname {text:?}"
        );
    }

    /// Every string of up to 7 characters over an alphabet with one character of each kind the
    /// rules tell apart: a letter, the two separators, a hyphen, `atext` that is no hostname
    /// character, a character in neither, and a non-ASCII one.
    #[test]
    fn the_one_pass_checks_agree_with_the_reference_on_all_short_strings() {
        const ALPHABET: [char; 7] = ['a', '.', '@', '-', '_', ' ', 'é'];
        let (mut level, mut checked, mut emails) = (vec![String::new()], 0, 0);
        for _ in 0..=7 {
            for text in &level {
                assert_agrees(text);
                checked += 1;
                emails += usize::from(is_email(text));
            }
            level = level
                .iter()
                .flat_map(|text| ALPHABET.iter().map(move |&c| format!("{text}{c}")))
                .collect();
        }
        assert_eq!(checked, (7usize.pow(8) - 1) / 6);
        assert!(emails > 300, "only {emails} of the strings are addresses");
    }

    /// Addresses near the length limits (local part 64, label 63, hostname 253, address 254),
    /// built from labels and local parts of chosen lengths and then spoiled at random places.
    #[test]
    fn the_one_pass_checks_agree_with_the_reference_near_the_limits() {
        let mut state = 0x9e37_79b9_7f4a_7c15_u64;
        let mut next = move |below: usize| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % below as u64) as usize
        };
        const LOCAL: &[u8] = b"aZ9.!#$%&'*+-/=?^_`{|}~";
        const HOST: &[u8] = b"abcXYZ0189-";
        const SPOILERS: [&str; 8] = [".", "-", "@", "..", "_", " ", "é", "\""];
        let sizes = [0, 1, 2, 61, 62, 63, 64, 65];
        let mut accepted = 0;
        for _ in 0..20_000 {
            let local_len = [0, 1, 63, 64, 65, next(66)][next(6)];
            let mut text: String = (0..local_len)
                .map(|_| char::from(LOCAL[next(LOCAL.len())]))
                .collect();
            text.push('@');
            for label in 0..1 + next(5) {
                if label > 0 {
                    text.push('.');
                }
                let len = sizes[next(sizes.len())];
                text.extend((0..len).map(|_| char::from(HOST[next(HOST.len())])));
            }
            if next(4) == 0 {
                text.push('.');
            }
            if next(3) == 0 {
                let at = next(text.len() + 1);
                if text.is_char_boundary(at) {
                    text.insert_str(at, SPOILERS[next(SPOILERS.len())]);
                }
            }
            assert_agrees(&text);
            if let Some((_, domain)) = text.rsplit_once('@') {
                assert_agrees(domain);
            }
            accepted += usize::from(is_email(&text));
        }
        assert!(accepted > 1_000, "only {accepted} addresses accepted");
    }

    /// The cases the one-pass prototype in `bench-validation` was checked on.
    #[test]
    fn the_one_pass_checks_agree_with_the_reference_on_the_prototypes_cases() {
        let mut texts: Vec<String> = [
            "a@b.c",
            "user3@example.com",
            "a.b@c.d",
            ".a@b.c",
            "a.@b.c",
            "a..b@c.d",
            "a@b",
            "a@b.",
            "a@b.c.",
            "a@.b.c",
            "a@b..c",
            "a@-b.c",
            "a@b-.c",
            "a@b.c-",
            "a@b-c.d",
            "@b.c",
            "a@",
            "a@@b.c",
            "a@b@c.d",
            "a b@c.d",
            "a+b@c.d",
            "é@b.c",
            "a@é.c",
            "a@b.c..",
            "a@b_c.d",
            "",
            "@",
            ".",
            "a@b.c.d.e",
            "!#$%&'*+-/=?^_`{|}~@x.y",
        ]
        .map(str::to_owned)
        .to_vec();
        texts.push(format!("{}@b.c", "a".repeat(64)));
        texts.push(format!("{}@b.c", "a".repeat(65)));
        texts.push(format!("a@{}.c", "b".repeat(63)));
        texts.push(format!("a@{}.c", "b".repeat(64)));
        texts.push(format!("a@{}.com", "b.".repeat(124)));
        texts.push(format!("a@{}.com", "b.".repeat(125)));
        for text in &texts {
            assert_agrees(text);
        }
    }

    #[test]
    fn iso_dates() {
        for good in [
            "2024-02-29",
            "2023-12-31T23:59:59Z",
            "2023-01-01T00:00",
            "2023-01-01T10:20:30.123+02:00",
            "2023-01-01T10:20:30-0530",
        ] {
            assert!(is_iso_date(good), "{good}");
        }
        for bad in [
            "",
            "2023-02-29",
            "2023-13-01",
            "2023-1-01",
            "23-01-01",
            "2023-01-01T25:00",
            "2023-01-01T10:20:30.",
            "yesterday",
        ] {
            assert!(!is_iso_date(bad), "{bad}");
        }
    }
}
