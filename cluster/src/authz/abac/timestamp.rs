//! Parsing of RFC 3339 timestamps and `HH:MM[:SS]` times of day.

/// Parses `HH:MM` or `HH:MM:SS` into seconds since midnight.
pub(super) fn parse_time_of_day(text: &str) -> Option<u32> {
    let bytes = text.as_bytes();
    if !matches!(bytes.len(), 5 | 8) || !byte_is(bytes, 2, b':') {
        return None;
    }
    let hour = digits(bytes, 0, 2)?;
    let minute = digits(bytes, 3, 2)?;
    let second = if bytes.len() == 8 {
        if !byte_is(bytes, 5, b':') {
            return None;
        }
        digits(bytes, 6, 2)?
    } else {
        0
    };
    if hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    Some(hour * 3600 + minute * 60 + second)
}

/// Parses an RFC 3339 timestamp into `(unix seconds, nanoseconds)` in UTC.
pub(super) fn parse_rfc3339(text: &str) -> Option<(i64, u32)> {
    let b = text.as_bytes();
    let separators = byte_is(b, 4, b'-')
        && byte_is(b, 7, b'-')
        && matches!(b.get(10), Some(b'T' | b't' | b' '))
        && byte_is(b, 13, b':')
        && byte_is(b, 16, b':');
    if !separators {
        return None;
    }
    let year = digits(b, 0, 4)?;
    let month = digits(b, 5, 2)?;
    let day = digits(b, 8, 2)?;
    let hour = digits(b, 11, 2)?;
    let minute = digits(b, 14, 2)?;
    let second = digits(b, 17, 2)?;
    if !(1..=12).contains(&month)
        || day == 0
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    let mut i = 19;
    let mut nanos = 0u32;
    if byte_is(b, i, b'.') {
        i += 1;
        let start = i;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            if i - start < 9 {
                nanos = nanos * 10 + u32::from(b.get(i).copied().unwrap_or(b'0') - b'0');
            }
            i += 1;
        }
        let count = i - start;
        if count == 0 {
            return None;
        }
        for _ in count..9 {
            nanos *= 10;
        }
    }
    let offset = match b.get(i) {
        Some(b'Z' | b'z') => {
            i += 1;
            0
        }
        Some(sign @ (b'+' | b'-')) => {
            let oh = digits(b, i + 1, 2)?;
            let om = digits(b, i + 4, 2)?;
            if !byte_is(b, i + 3, b':') || oh > 23 || om > 59 {
                return None;
            }
            i += 6;
            let total = i64::from(oh * 3600 + om * 60);
            if *sign == b'-' { -total } else { total }
        }
        _ => return None,
    };
    if i != b.len() {
        return None;
    }
    let days = days_from_civil(i64::from(year), i64::from(month), i64::from(day));
    let seconds = days * 86_400 + i64::from(hour * 3600 + minute * 60 + second) - offset;
    Some((seconds, nanos))
}

fn byte_is(bytes: &[u8], index: usize, expected: u8) -> bool {
    bytes.get(index) == Some(&expected)
}

fn digits(bytes: &[u8], start: usize, len: usize) -> Option<u32> {
    let slice = bytes.get(start..start + len)?;
    slice.iter().try_fold(0u32, |acc, b| {
        b.is_ascii_digit().then(|| acc * 10 + u32::from(b - b'0'))
    })
}

fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        2 => {
            let year = i64::from(year);
            let days = days_from_civil(year, 3, 1) - days_from_civil(year, 2, 1);
            if days == 29 { 29 } else { 28 }
        }
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let shifted_month = (month + 9) % 12;
    let day_of_year = (153 * shifted_month + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}
