//! UTC times written as chrono writes them (RFC 3339 with a `Z`, and 0, 3, 6 or 9 digits of
//! fraction as the value needs), straight into the serializer: chrono goes through `fmt` a
//! character at a time, which was a sixth of a queue page's JSON (BENCHMARKS.md section 2).
//! For `#[serde(serialize_with = "rfc3339::write")]` (and `rfc3339::write_option`).

use chrono::{DateTime, Datelike, Timelike, Utc};
use serde::Serializer;

/// `2026-11-27T09:30:00.123456Z` into `buf`, its length; `None` for what chrono writes its own
/// way (years outside 0–9999, leap seconds).
fn format(t: &DateTime<Utc>, buf: &mut [u8; 32]) -> Option<usize> {
    let (year, nano) = (t.year(), t.nanosecond());
    if !(0..=9999).contains(&year) || nano >= 1_000_000_000 {
        return None;
    }
    let (fraction, digits) = match nano {
        0 => (0, 0),
        n if n % 1_000_000 == 0 => (n / 1_000_000, 3),
        n if n % 1_000 == 0 => (n / 1_000, 6),
        n => (n, 9),
    };
    let mut len = 0;
    // `value` in `width` digits, then `after` (0: nothing).
    let mut put = |value: u32, width: u32, after: u8| {
        for place in (0..width).rev() {
            buf[len] = b'0' + (value / 10u32.pow(place) % 10) as u8;
            len += 1;
        }
        if after != 0 {
            buf[len] = after;
            len += 1;
        }
    };
    put(year as u32, 4, b'-');
    put(t.month(), 2, b'-');
    put(t.day(), 2, b'T');
    put(t.hour(), 2, b':');
    put(t.minute(), 2, b':');
    put(t.second(), 2, if digits > 0 { b'.' } else { b'Z' });
    if digits > 0 {
        put(fraction, digits, b'Z');
    }
    Some(len)
}

pub fn write<S: Serializer>(t: &DateTime<Utc>, serializer: S) -> Result<S::Ok, S::Error> {
    let mut buf = [0u8; 32];
    match format(t, &mut buf) {
        // Only ASCII digits and separators were written.
        Some(len) => serializer.serialize_str(std::str::from_utf8(&buf[..len]).unwrap_or("")),
        None => serde::Serialize::serialize(t, serializer),
    }
}

pub fn write_option<S: Serializer>(
    t: &Option<DateTime<Utc>>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match t {
        Some(t) => write(t, serializer),
        None => serializer.serialize_none(),
    }
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, NaiveDate, Utc};

    #[derive(serde::Serialize)]
    struct Ours(#[serde(serialize_with = "super::write")] DateTime<Utc>);

    #[test]
    fn writes_what_chrono_writes() {
        let day = NaiveDate::from_ymd_opt(2026, 11, 27).unwrap();
        let mut times = vec![];
        for nano in [
            0,
            1,
            1_000,
            1_000_000,
            123_000_000,
            123_456_000,
            123_456_789,
            999_999_999,
        ] {
            times.push(day.and_hms_nano_opt(9, 5, 7, nano).unwrap());
        }
        times.push(
            NaiveDate::from_ymd_opt(1, 1, 1)
                .unwrap()
                .and_hms_opt(0, 0, 0)
                .unwrap(),
        );
        times.push(
            NaiveDate::from_ymd_opt(9999, 12, 31)
                .unwrap()
                .and_hms_opt(23, 59, 59)
                .unwrap(),
        );
        times.push(
            NaiveDate::from_ymd_opt(10000, 1, 1)
                .unwrap()
                .and_hms_opt(0, 0, 0)
                .unwrap(),
        );
        times.push(day.and_hms_nano_opt(23, 59, 59, 1_500_000_000).unwrap()); // a leap second
        for t in times {
            let t = t.and_utc();
            assert_eq!(
                serde_json::to_string(&Ours(t)).unwrap(),
                serde_json::to_string(&t).unwrap()
            );
        }
    }
}
