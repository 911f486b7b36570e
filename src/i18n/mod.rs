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
    fn rupiah() {
        assert_eq!(format_rupiah(20_000, Locale::Id), "Rp20.000");
        assert_eq!(format_rupiah(1_250_000, Locale::En), "Rp1,250,000");
        assert_eq!(format_rupiah(500, Locale::Id), "Rp500");
        assert_eq!(format_rupiah(0, Locale::Id), "Rp0");
    }
}
