//! Formatting for people: dates in the shop's time zone and money, the Indonesian way in
//! Indonesian ("Senin, 24 Nov 2026 14.00 WIB", "Rp20.000") and the English way in English.

use chrono::{DateTime, Datelike, TimeZone, Timelike, Utc, Weekday};

use crate::config::Locale;

const DAYS_ID: [&str; 7] = [
    "Senin", "Selasa", "Rabu", "Kamis", "Jumat", "Sabtu", "Minggu",
];
const DAYS_EN: [&str; 7] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];
const MONTHS_ID: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "Mei", "Jun", "Jul", "Agu", "Sep", "Okt", "Nov", "Des",
];
const MONTHS_EN: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

fn weekday_index(day: Weekday) -> usize {
    day.num_days_from_monday() as usize
}

/// A moment as the shop reads it: "Senin, 24 Nov 2026 14.00 WIB" / "Monday 24 Nov 2026, 14:00 WIB".
pub fn format_datetime(moment: DateTime<Utc>, zone: chrono_tz::Tz, locale: Locale) -> String {
    let local = zone.from_utc_datetime(&moment.naive_utc());
    let zone_name = local.format("%Z").to_string();
    let (day, month) = (weekday_index(local.weekday()), local.month0() as usize);
    match locale {
        Locale::Id => format!(
            "{}, {} {} {} {:02}.{:02} {}",
            DAYS_ID[day],
            local.day(),
            MONTHS_ID[month],
            local.year(),
            local.hour(),
            local.minute(),
            zone_name
        ),
        Locale::En => format!(
            "{} {} {} {}, {:02}:{:02} {}",
            DAYS_EN[day],
            local.day(),
            MONTHS_EN[month],
            local.year(),
            local.hour(),
            local.minute(),
            zone_name
        ),
    }
}

/// Rupiah without decimals: "Rp20.000" in Indonesian, "Rp20,000" in English.
pub fn format_rupiah(amount: i64, locale: Locale) -> String {
    let separator = match locale {
        Locale::Id => '.',
        Locale::En => ',',
    };
    let digits = amount.unsigned_abs().to_string();
    let mut grouped = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            grouped.push(separator);
        }
        grouped.push(c);
    }
    let sign = if amount < 0 { "-" } else { "" };
    format!("{sign}Rp{grouped}")
}

/// A length of time in words: "2 jam 5 menit" / "2 hours 5 minutes", "3 hari" / "3 days".
pub fn format_duration(minutes: i64, locale: Locale) -> String {
    let minutes = minutes.max(0);
    let (days, hours, mins) = (minutes / (24 * 60), (minutes / 60) % 24, minutes % 60);
    let unit = |n: i64, id: &str, en: &str| match locale {
        Locale::Id => format!("{n} {id}"),
        Locale::En => format!("{n} {en}{}", if n == 1 { "" } else { "s" }),
    };
    let mut parts = Vec::new();
    if days > 0 {
        parts.push(unit(days, "hari", "day"));
    }
    if hours > 0 {
        parts.push(unit(hours, "jam", "hour"));
    }
    if mins > 0 && days == 0 {
        parts.push(unit(mins, "menit", "minute"));
    }
    if parts.is_empty() {
        parts.push(unit(0, "menit", "minute"));
    }
    parts.join(" ")
}

/// A local date: "Senin, 24 Nov 2026" / "Monday 24 Nov 2026".
pub fn format_date(date: chrono::NaiveDate, locale: Locale) -> String {
    let (day, month) = (weekday_index(date.weekday()), date.month0() as usize);
    match locale {
        Locale::Id => format!(
            "{}, {} {} {}",
            DAYS_ID[day],
            date.day(),
            MONTHS_ID[month],
            date.year()
        ),
        Locale::En => format!(
            "{} {} {} {}",
            DAYS_EN[day],
            date.day(),
            MONTHS_EN[month],
            date.year()
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_read_as_the_shop_reads_them() {
        let moment = Utc.with_ymd_and_hms(2026, 11, 24, 7, 0, 0).unwrap();
        assert_eq!(
            format_datetime(moment, chrono_tz::Asia::Jakarta, Locale::Id),
            "Selasa, 24 Nov 2026 14.00 WIB"
        );
        assert_eq!(
            format_datetime(moment, chrono_tz::Asia::Jakarta, Locale::En),
            "Tuesday 24 Nov 2026, 14:00 WIB"
        );
        assert_eq!(
            format_datetime(moment, chrono_tz::Asia::Makassar, Locale::Id),
            "Selasa, 24 Nov 2026 15.00 WITA"
        );
        assert_eq!(
            format_datetime(moment, chrono_tz::Asia::Jayapura, Locale::Id),
            "Selasa, 24 Nov 2026 16.00 WIT"
        );
    }

    #[test]
    fn durations_and_dates() {
        assert_eq!(format_duration(125, Locale::Id), "2 jam 5 menit");
        assert_eq!(format_duration(61, Locale::En), "1 hour 1 minute");
        assert_eq!(
            format_duration(3 * 24 * 60 + 60, Locale::En),
            "3 days 1 hour"
        );
        assert_eq!(format_duration(0, Locale::Id), "0 menit");
        let date = chrono::NaiveDate::from_ymd_opt(2026, 11, 23).unwrap();
        assert_eq!(format_date(date, Locale::Id), "Senin, 23 Nov 2026");
    }

    #[test]
    fn rupiah() {
        assert_eq!(format_rupiah(20_000, Locale::Id), "Rp20.000");
        assert_eq!(format_rupiah(1_250_000, Locale::En), "Rp1,250,000");
        assert_eq!(format_rupiah(500, Locale::Id), "Rp500");
        assert_eq!(format_rupiah(0, Locale::Id), "Rp0");
    }
}
