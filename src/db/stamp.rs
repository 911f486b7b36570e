//! Stored times read without chrono's format parser.
//!
//! SQLite keeps a `Timestamp` as text (`2026-11-27 09:30:00.123456`). diesel reads it with
//! `NaiveDateTime::parse_from_str`, which walks its format string for every value, tries up to
//! five formats, and was a tenth of a queue request's time (a page is 50 rows of 5 or more
//! times; BENCHMARKS.md section 2). `Stamp` and `MaybeStamp` read the form this desk writes
//! directly and leave any other form to diesel's parser; on PostgreSQL they are diesel's own.
//! Row structs use them with `#[diesel(deserialize_as = Stamp)]` (or `MaybeStamp` for a
//! nullable column); the fields stay `NaiveDateTime`.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::backend::Backend;
use diesel::deserialize::{self, FromSql};
use diesel::pg::Pg;
use diesel::sql_types::{Nullable, Timestamp};
use diesel::sqlite::Sqlite;

use super::MultiBackend;

/// A non-null `Timestamp` column.
#[derive(Clone, Copy, Debug, PartialEq, Eq, diesel::deserialize::FromSqlRow)]
pub struct Stamp(pub NaiveDateTime);

/// A nullable `Timestamp` column.
#[derive(Clone, Copy, Debug, PartialEq, Eq, diesel::deserialize::FromSqlRow)]
pub struct MaybeStamp(pub Option<NaiveDateTime>);

impl From<Stamp> for NaiveDateTime {
    fn from(stamp: Stamp) -> Self {
        stamp.0
    }
}

impl From<MaybeStamp> for Option<NaiveDateTime> {
    fn from(stamp: MaybeStamp) -> Self {
        stamp.0
    }
}

/// `YYYY-MM-DD HH:MM:SS` with up to nine digits of fraction after a dot (what diesel writes
/// for SQLite, and what SQLite's own `CURRENT_TIMESTAMP` gives); `None` for anything else.
pub fn parse_sqlite_text(text: &str) -> Option<NaiveDateTime> {
    let b = text.as_bytes();
    if b.len() < 19 || b[4] != b'-' || b[7] != b'-' || b[10] != b' ' || b[13] != b':' {
        return None;
    }
    if b[16] != b':' {
        return None;
    }
    let digits = |range: std::ops::Range<usize>| -> Option<u32> {
        b[range].iter().try_fold(0u32, |n, &c| {
            c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0'))
        })
    };
    let year = digits(0..4)?;
    let (month, day) = (digits(5..7)?, digits(8..10)?);
    let (hour, minute, second) = (digits(11..13)?, digits(14..16)?, digits(17..19)?);
    let nano = match &b[19..] {
        [] => 0,
        [b'.', fraction @ ..] if (1..=9).contains(&fraction.len()) => {
            let value = digits(20..b.len())?;
            value * 10u32.pow(9 - fraction.len() as u32)
        }
        _ => return None,
    };
    NaiveDate::from_ymd_opt(year as i32, month, day)?.and_hms_nano_opt(hour, minute, second, nano)
}

fn from_sqlite(mut value: <Sqlite as Backend>::RawValue<'_>) -> deserialize::Result<NaiveDateTime> {
    if let Some(time) = parse_sqlite_text(value.read_text()) {
        return Ok(time);
    }
    <NaiveDateTime as FromSql<Timestamp, Sqlite>>::from_sql(value)
}

impl FromSql<Timestamp, Sqlite> for Stamp {
    fn from_sql(value: <Sqlite as Backend>::RawValue<'_>) -> deserialize::Result<Self> {
        from_sqlite(value).map(Stamp)
    }
}

impl FromSql<Timestamp, Pg> for Stamp {
    fn from_sql(value: <Pg as Backend>::RawValue<'_>) -> deserialize::Result<Self> {
        <NaiveDateTime as FromSql<Timestamp, Pg>>::from_sql(value).map(Stamp)
    }
}

impl FromSql<Timestamp, MultiBackend> for Stamp {
    fn from_sql(value: <MultiBackend as Backend>::RawValue<'_>) -> deserialize::Result<Self> {
        value.from_sql::<Self, Timestamp>()
    }
}

impl FromSql<Nullable<Timestamp>, Sqlite> for MaybeStamp {
    fn from_sql(value: <Sqlite as Backend>::RawValue<'_>) -> deserialize::Result<Self> {
        from_sqlite(value).map(|time| MaybeStamp(Some(time)))
    }

    fn from_nullable_sql(
        value: Option<<Sqlite as Backend>::RawValue<'_>>,
    ) -> deserialize::Result<Self> {
        value.map_or(Ok(MaybeStamp(None)), |value| {
            <Self as FromSql<Nullable<Timestamp>, Sqlite>>::from_sql(value)
        })
    }
}

impl FromSql<Nullable<Timestamp>, Pg> for MaybeStamp {
    fn from_sql(value: <Pg as Backend>::RawValue<'_>) -> deserialize::Result<Self> {
        <NaiveDateTime as FromSql<Timestamp, Pg>>::from_sql(value).map(|t| MaybeStamp(Some(t)))
    }

    fn from_nullable_sql(
        value: Option<<Pg as Backend>::RawValue<'_>>,
    ) -> deserialize::Result<Self> {
        value.map_or(Ok(MaybeStamp(None)), |value| {
            <Self as FromSql<Nullable<Timestamp>, Pg>>::from_sql(value)
        })
    }
}

impl FromSql<Nullable<Timestamp>, MultiBackend> for MaybeStamp {
    fn from_sql(value: <MultiBackend as Backend>::RawValue<'_>) -> deserialize::Result<Self> {
        value.from_sql::<Self, Nullable<Timestamp>>()
    }

    fn from_nullable_sql(
        value: Option<<MultiBackend as Backend>::RawValue<'_>>,
    ) -> deserialize::Result<Self> {
        value.map_or(Ok(MaybeStamp(None)), |value| {
            <Self as FromSql<Nullable<Timestamp>, MultiBackend>>::from_sql(value)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::parse_sqlite_text;
    use chrono::NaiveDateTime;

    /// What chrono (diesel's parser) reads from the same text.
    fn chrono(text: &str) -> Option<NaiveDateTime> {
        NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f").ok()
    }

    #[test]
    fn reads_what_chrono_reads() {
        for text in [
            "2026-11-27 09:30:00",
            "2026-11-27 09:30:00.1",
            "2026-11-27 09:30:00.123",
            "2026-11-27 09:30:00.123456",
            "2026-11-27 09:30:00.000001",
            "2026-11-27 09:30:00.123456789",
            "2024-02-29 23:59:59.999999",
            "0001-01-01 00:00:00",
            "9999-12-31 23:59:59",
        ] {
            assert_eq!(parse_sqlite_text(text), chrono(text), "{text}");
            assert!(parse_sqlite_text(text).is_some(), "{text}");
        }
    }

    #[test]
    fn leaves_other_forms_to_chrono() {
        for text in [
            "",
            "2026-11-27",
            "2026-11-27T09:30:00",
            "2026-11-27 09:30:00Z",
            "2026-11-27 09:30:00.",
            "2026-11-27 09:30:00.1234567890",
            "2026-02-30 09:30:00",
            "2026-11-27 24:00:00",
            "2026-1x-27 09:30:00",
            "2460641.5",
        ] {
            assert_eq!(parse_sqlite_text(text), None, "{text}");
        }
    }
}
