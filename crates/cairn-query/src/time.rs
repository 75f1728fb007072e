//! Time expressions for command-line flags: durations (`--last 7d`) and instants
//! (`--since 2024-01-02`, `--until now-1h`).

use ::time::format_description::well_known::Rfc3339;
use ::time::macros::format_description;
use ::time::{Date, Duration, OffsetDateTime, PrimitiveDateTime};

/// A time expression that could not be understood.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid time \"{input}\": {message}")]
pub struct TimeError {
    /// The text as given.
    pub input: String,
    /// What is wrong with it.
    pub message: String,
}

const UNITS: &str = "use s, m, h, d or w";

/// Parses a duration: one or more `<number><unit>` parts with units `s`, `m`, `h`, `d`, `w`
/// (seconds to weeks): `"15m"`, `"24h"`, `"7d"`, `"2w"`, `"90s"`, `"1d12h"`. Whitespace
/// between parts is allowed. The error names the bad unit.
pub fn parse_duration(s: &str) -> Result<Duration, TimeError> {
    let fail = |message: String| TimeError {
        input: s.to_owned(),
        message,
    };
    let mut rest = s.trim();
    if rest.is_empty() {
        return Err(fail(
            "expected a duration such as 15m, 24h or 7d".to_owned(),
        ));
    }
    let mut seconds: i64 = 0;
    while !rest.is_empty() {
        let digits = rest.len() - rest.trim_start_matches(|c: char| c.is_ascii_digit()).len();
        if digits == 0 {
            return Err(fail(format!(
                "expected a number before \"{rest}\" (durations look like 15m, 24h, 1d12h)"
            )));
        }
        let number: i64 = rest[..digits]
            .parse()
            .map_err(|_| fail(format!("{} is too large", &rest[..digits])))?;
        let after_number = rest[digits..].trim_start();
        let unit_len = after_number.len()
            - after_number
                .trim_start_matches(|c: char| !c.is_ascii_digit() && !c.is_whitespace())
                .len();
        let unit = &after_number[..unit_len];
        let unit_seconds: i64 = match unit {
            "s" => 1,
            "m" => 60,
            "h" => 3_600,
            "d" => 86_400,
            "w" => 604_800,
            "" => {
                return Err(fail(format!("missing unit after \"{number}\" ({UNITS})")));
            }
            u if u.starts_with('.') || u.starts_with(',') => {
                return Err(fail(
                    "fractions are not supported: use a smaller unit (90m, not 1.5h)".to_owned(),
                ));
            }
            u => return Err(fail(format!("unknown unit \"{u}\" ({UNITS})"))),
        };
        seconds = number
            .checked_mul(unit_seconds)
            .and_then(|part| seconds.checked_add(part))
            .ok_or_else(|| fail("the duration is too large".to_owned()))?;
        rest = after_number[unit_len..].trim_start();
    }
    Ok(Duration::seconds(seconds))
}

/// Parses an instant. Accepted forms:
///
/// - RFC 3339: `2024-01-02T03:04:05Z`, with an offset (`+02:00`) or fractional seconds;
/// - a date and time without offset, taken as UTC: `2024-01-02T03:04:05`, `2024-01-02 03:04`
///   (a space or `T` between date and time; seconds and fractions optional);
/// - a date, meaning midnight UTC: `2024-01-02`;
/// - epoch seconds: `1704164645`;
/// - `now`, `now-1h`, `now-7d` (and `now+1h`);
/// - a bare duration, meaning that long before `now`: `1h`, `7d`.
///
/// ```
/// use cairn_query::time::parse_instant;
/// use time::macros::datetime;
///
/// let now = datetime!(2024-06-15 12:00 UTC);
/// assert_eq!(parse_instant("now-1h", now)?, datetime!(2024-06-15 11:00 UTC));
/// assert_eq!(parse_instant("2024-01-02", now)?, datetime!(2024-01-02 00:00 UTC));
/// # Ok::<(), cairn_query::time::TimeError>(())
/// ```
pub fn parse_instant(s: &str, now: OffsetDateTime) -> Result<OffsetDateTime, TimeError> {
    let fail = |message: String| TimeError {
        input: s.to_owned(),
        message,
    };
    let text = s.trim();
    if text.is_empty() {
        return Err(fail(
            "expected a time such as 2024-01-02, 2024-01-02T03:04:05Z, now-1h or 7d".to_owned(),
        ));
    }
    if let Some(offset) = text.strip_prefix("now") {
        let offset = offset.trim_start();
        if offset.is_empty() {
            return Ok(now);
        }
        let (ahead, duration) = if let Some(d) = offset.strip_prefix('-') {
            (false, d)
        } else if let Some(d) = offset.strip_prefix('+') {
            (true, d)
        } else {
            return Err(fail(
                "expected \"now\", or now-<duration> such as now-1h".to_owned(),
            ));
        };
        let duration = parse_duration(duration).map_err(|e| fail(e.message))?;
        let shifted = if ahead {
            now.checked_add(duration)
        } else {
            now.checked_sub(duration)
        };
        return shifted.ok_or_else(|| fail("the time is out of range".to_owned()));
    }
    if text.bytes().all(|b| b.is_ascii_digit()) {
        return text
            .parse::<i64>()
            .ok()
            .and_then(|secs| OffsetDateTime::from_unix_timestamp(secs).ok())
            .ok_or_else(|| fail("epoch seconds out of range".to_owned()));
    }
    if looks_like_date(text) {
        return parse_date_time(text).map_err(fail);
    }
    if text.starts_with(|c: char| c.is_ascii_digit()) {
        let duration = parse_duration(text).map_err(|e| fail(e.message))?;
        return now
            .checked_sub(duration)
            .ok_or_else(|| fail("the time is out of range".to_owned()));
    }
    Err(fail(
        "expected a date (2024-01-02), a date and time (2024-01-02T03:04:05Z), epoch seconds, \
         \"now\", now-<duration> or a duration such as 7d"
            .to_owned(),
    ))
}

/// `YYYY-` at the start: a date, not a duration or epoch seconds.
fn looks_like_date(text: &str) -> bool {
    let b = text.as_bytes();
    b.len() >= 5 && b[..4].iter().all(u8::is_ascii_digit) && b[4] == b'-'
}

fn parse_date_time(text: &str) -> Result<OffsetDateTime, String> {
    const FORMS: &str = "expected 2024-01-02, 2024-01-02 03:04, 2024-01-02T03:04:05 or \
                         2024-01-02T03:04:05Z";
    if text.len() == 10 {
        return Date::parse(text, format_description!("[year]-[month]-[day]"))
            .map(|d| d.midnight().assume_utc())
            .map_err(|e| format!("{e}; {FORMS}"));
    }
    // RFC 3339 itself allows any separator between date and time, so a space works there.
    let rfc3339 = OffsetDateTime::parse(text, &Rfc3339);
    if let Ok(t) = rfc3339 {
        return Ok(t);
    }
    let has_offset =
        text.ends_with(['Z', 'z']) || text.get(10..).is_some_and(|t| t.contains(['+', '-']));
    if has_offset {
        return rfc3339.map_err(|e| format!("{e}; {FORMS}"));
    }
    let mut normalised = text.to_owned();
    if text.as_bytes().get(10) == Some(&b' ') {
        normalised.replace_range(10..11, "T");
    }
    PrimitiveDateTime::parse(
        &normalised,
        format_description!(
            "[year]-[month]-[day]T[hour]:[minute][optional [:[second][optional [.[subsecond]]]]]"
        ),
    )
    .map(PrimitiveDateTime::assume_utc)
    .map_err(|e| format!("{e}; {FORMS}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ::time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2024-06-15 12:00:00 UTC);

    #[test]
    fn durations() {
        let cases = [
            ("15m", Duration::minutes(15)),
            ("24h", Duration::hours(24)),
            ("7d", Duration::days(7)),
            ("2w", Duration::weeks(2)),
            ("90s", Duration::seconds(90)),
            ("1d12h", Duration::hours(36)),
            ("1h30m15s", Duration::seconds(3600 + 1800 + 15)),
            ("1d 12h", Duration::hours(36)),
            (" 5 m ", Duration::minutes(5)),
            ("0s", Duration::ZERO),
        ];
        for (input, expected) in cases {
            assert_eq!(parse_duration(input), Ok(expected), "{input:?}");
        }
    }

    #[test]
    fn bad_durations() {
        let cases = [
            ("", "expected a duration"),
            ("5y", "unknown unit \"y\""),
            ("15min", "unknown unit \"min\""),
            ("5M", "unknown unit \"M\""),
            ("15", "missing unit after \"15\""),
            ("1d12", "missing unit after \"12\""),
            ("h", "expected a number"),
            ("-1h", "expected a number"),
            ("1.5h", "fractions are not supported"),
            ("99999999999999999999s", "too large"),
            ("9999999999999999w", "too large"),
        ];
        for (input, fragment) in cases {
            let err = parse_duration(input).unwrap_err();
            assert!(err.message.contains(fragment), "{input:?}: {err}");
            assert_eq!(err.input, input);
        }
    }

    #[test]
    fn instants() {
        let cases = [
            ("2024-01-02T03:04:05Z", datetime!(2024-01-02 03:04:05 UTC)),
            ("2024-01-02t03:04:05z", datetime!(2024-01-02 03:04:05 UTC)),
            ("2024-01-02 03:04:05Z", datetime!(2024-01-02 03:04:05 UTC)),
            (
                "2024-01-02T03:04:05+02:00",
                datetime!(2024-01-02 03:04:05 +2),
            ),
            (
                "2024-01-02T03:04:05.250Z",
                datetime!(2024-01-02 03:04:05.25 UTC),
            ),
            ("2024-01-02T03:04:05", datetime!(2024-01-02 03:04:05 UTC)),
            (
                "2024-01-02T03:04:05.5",
                datetime!(2024-01-02 03:04:05.5 UTC),
            ),
            ("2024-01-02T03:04", datetime!(2024-01-02 03:04 UTC)),
            ("2024-01-02 03:04", datetime!(2024-01-02 03:04 UTC)),
            ("2024-01-02 03:04:05", datetime!(2024-01-02 03:04:05 UTC)),
            ("2024-01-02", datetime!(2024-01-02 00:00 UTC)),
            (" 2024-01-02 ", datetime!(2024-01-02 00:00 UTC)),
            ("1704164645", datetime!(2024-01-02 03:04:05 UTC)),
            ("0", datetime!(1970-01-01 00:00 UTC)),
            ("now", NOW),
            ("now-1h", datetime!(2024-06-15 11:00 UTC)),
            ("now-7d", datetime!(2024-06-08 12:00 UTC)),
            ("now - 30m", datetime!(2024-06-15 11:30 UTC)),
            ("now+1d", datetime!(2024-06-16 12:00 UTC)),
            ("1h", datetime!(2024-06-15 11:00 UTC)),
            ("7d", datetime!(2024-06-08 12:00 UTC)),
            ("1d12h", datetime!(2024-06-14 00:00 UTC)),
        ];
        for (input, expected) in cases {
            assert_eq!(parse_instant(input, NOW), Ok(expected), "{input:?}");
        }
        // Offsets are kept, and the instant compares equal to the same moment in UTC.
        assert_eq!(
            parse_instant("2024-01-02T05:04:05+02:00", NOW),
            Ok(datetime!(2024-01-02 03:04:05 UTC))
        );
    }

    #[test]
    fn bad_instants() {
        let cases = [
            ("", "expected a time"),
            ("yesterday", "expected a date"),
            ("now-", "expected a duration"),
            ("now-5y", "unknown unit \"y\""),
            ("now*2", "expected \"now\""),
            ("5y", "unknown unit \"y\""),
            ("2024-13-01", "month"),
            ("2024-02-30", "day"),
            ("2024-01-02T25:00", "hour"),
            ("2024-01-02T03:04:05+25:00", "offset"),
            ("2024-01-02X", "expected 2024-01-02"),
            ("99999999999999", "out of range"),
            ("now-999999w", "out of range"),
        ];
        for (input, fragment) in cases {
            let err = parse_instant(input, NOW).unwrap_err();
            assert!(err.message.contains(fragment), "{input:?}: {err}");
            assert_eq!(err.input, input);
        }
    }

    #[test]
    fn error_display_quotes_the_input() {
        let err = parse_duration("5y").unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid time \"5y\": unknown unit \"y\" (use s, m, h, d or w)"
        );
    }
}
