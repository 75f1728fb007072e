//! UTC calendar arithmetic and the few timestamp formats CloudTrail writes.
//!
//! Hand-written because it runs for every record: the `time` crate's formatting machinery is
//! general and comparatively slow, and these formats are fixed.

/// A broken-down UTC time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Tm {
    pub(crate) year: i64,
    pub(crate) month: u32,
    pub(crate) day: u32,
    pub(crate) hour: u32,
    pub(crate) minute: u32,
    pub(crate) second: u32,
}

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian.
pub(crate) fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097); // [0, 146096]
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365; // [0, 399]
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // [0, 365]
    let mp = (5 * doy + 2) / 153; // [0, 11]
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32; // [1, 31]
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32; // [1, 12]
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Breaks Unix seconds down.
pub(crate) fn split(secs: i64) -> Tm {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400) as u32;
    let (year, month, day) = civil_from_days(days);
    Tm {
        year,
        month,
        day,
        hour: rem / 3600,
        minute: rem / 60 % 60,
        second: rem % 60,
    }
}

/// 0 = Sunday ... 6 = Saturday.
pub(crate) fn weekday(secs: i64) -> u32 {
    // 1970-01-01 was a Thursday.
    (secs.div_euclid(86_400) + 4).rem_euclid(7) as u32
}

fn put2(out: &mut [u8], v: u32) {
    out[0] = b'0' + (v / 10 % 10) as u8;
    out[1] = b'0' + (v % 10) as u8;
}

fn put4(out: &mut [u8], v: i64) {
    let v = v.rem_euclid(10_000) as u32;
    put2(&mut out[0..2], v / 100);
    put2(&mut out[2..4], v % 100);
}

/// `YYYY-MM-DDTHH:MM:SSZ`, the form of `eventTime`.
pub(crate) fn rfc3339(secs: i64) -> [u8; 20] {
    let t = split(secs);
    let mut out = *b"0000-00-00T00:00:00Z";
    put4(&mut out[0..4], t.year);
    put2(&mut out[5..7], t.month);
    put2(&mut out[8..10], t.day);
    put2(&mut out[11..13], t.hour);
    put2(&mut out[14..16], t.minute);
    put2(&mut out[17..19], t.second);
    out
}

pub(crate) fn rfc3339_string(secs: i64) -> String {
    String::from_utf8_lossy(&rfc3339(secs)).into_owned()
}

/// `YYYYMMDDTHHmmZ`, the delivery stamp in a log file's name.
pub(crate) fn name_stamp(secs: i64) -> String {
    let t = split(secs);
    format!(
        "{:04}{:02}{:02}T{:02}{:02}Z",
        t.year, t.month, t.day, t.hour, t.minute
    )
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// `Jun 1, 2025, 3:04:05 PM`: how IAM and STS responses render dates in CloudTrail.
pub(crate) fn aws_human(secs: i64) -> String {
    let t = split(secs);
    let (h12, ampm) = match t.hour {
        0 => (12, "AM"),
        1..=11 => (t.hour, "AM"),
        12 => (12, "PM"),
        _ => (t.hour - 12, "PM"),
    };
    format!(
        "{} {}, {}, {}:{:02}:{:02} {}",
        MONTHS[(t.month - 1) as usize],
        t.day,
        t.year,
        h12,
        t.minute,
        t.second,
        ampm
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::format_description::well_known::Rfc3339;

    #[test]
    fn matches_the_time_crate() {
        let mut secs: i64 = -86_400 * 800;
        while secs < 4_102_444_800 {
            let ours = rfc3339_string(secs);
            let theirs = time::OffsetDateTime::from_unix_timestamp(secs)
                .unwrap()
                .format(&Rfc3339)
                .unwrap();
            assert_eq!(ours, theirs);
            let wd = time::OffsetDateTime::from_unix_timestamp(secs)
                .unwrap()
                .weekday()
                .number_days_from_sunday();
            assert_eq!(weekday(secs), u32::from(wd));
            secs += 86_400 * 13 + 3_607;
        }
    }

    #[test]
    fn formats() {
        // 2025-06-01T15:04:05Z
        let t = 1_748_790_245;
        assert_eq!(rfc3339_string(t), "2025-06-01T15:04:05Z");
        assert_eq!(name_stamp(t), "20250601T1504Z");
        assert_eq!(aws_human(t), "Jun 1, 2025, 3:04:05 PM");
        assert_eq!(aws_human(t - 15 * 3600), "Jun 1, 2025, 12:04:05 AM");
    }
}
