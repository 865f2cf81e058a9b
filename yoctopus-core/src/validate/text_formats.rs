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

fn is_email(text: &str) -> bool {
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

fn is_hostname(text: &str) -> bool {
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
