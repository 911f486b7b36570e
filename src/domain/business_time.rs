//! Business time: service targets count only the shop's working hours, in the shop's time
//! zone, skipping closed days and holidays. Works in any IANA zone (WIB, WITA, WIT …); on a
//! zone with daylight saving, a local time that does not exist is skipped and an ambiguous
//! one takes its earlier reading.

use std::collections::BTreeSet;

use chrono::{
    DateTime, Datelike, Duration, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc,
};

/// Opening and closing time of one weekday, in minutes after local midnight.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Hours {
    pub open: u32,
    pub close: u32,
}

/// The shop's calendar: zone, hours per weekday (Monday first; `None` = closed) and holidays.
#[derive(Clone, Debug)]
pub struct Calendar {
    pub zone: chrono_tz::Tz,
    pub week: [Option<Hours>; 7],
    pub holidays: BTreeSet<NaiveDate>,
}

/// How far the arithmetic looks ahead before it gives up (a calendar with no open day).
const HORIZON_DAYS: i64 = 800;

impl Calendar {
    /// Monday to Saturday 08:00–17:00, the default of a small Indonesian shop.
    pub fn default_for(zone: chrono_tz::Tz) -> Self {
        let day = Some(Hours {
            open: 8 * 60,
            close: 17 * 60,
        });
        Self {
            zone,
            week: [day, day, day, day, day, day, None],
            holidays: BTreeSet::new(),
        }
    }

    /// The working window of a local date, as UTC instants, if the shop opens that day.
    fn window(&self, date: NaiveDate) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
        if self.holidays.contains(&date) {
            return None;
        }
        let hours = self.week[date.weekday().num_days_from_monday() as usize]?;
        if hours.close <= hours.open {
            return None;
        }
        let at = |minute: u32| -> Option<DateTime<Utc>> {
            let time = NaiveTime::from_hms_opt(minute / 60, minute % 60, 0)?;
            match self.zone.from_local_datetime(&date.and_time(time)) {
                LocalResult::Single(t) | LocalResult::Ambiguous(t, _) => {
                    Some(t.with_timezone(&Utc))
                }
                LocalResult::None => None,
            }
        };
        Some((at(hours.open)?, at(hours.close.min(24 * 60 - 1))?))
    }

    fn local_date(&self, moment: DateTime<Utc>) -> NaiveDate {
        self.zone
            .from_utc_datetime(&moment.naive_utc())
            .date_naive()
    }

    /// The instant `minutes` of business time after `start`.
    pub fn add(&self, start: DateTime<Utc>, minutes: i64) -> DateTime<Utc> {
        let mut left = Duration::minutes(minutes.max(0));
        let mut date = self.local_date(start);
        for _ in 0..HORIZON_DAYS {
            if let Some((open, close)) = self.window(date) {
                let from = start.max(open);
                if from < close {
                    let available = close - from;
                    if left <= available {
                        return from + left;
                    }
                    left -= available;
                }
            }
            date = date.succ_opt().unwrap_or(date);
        }
        // No working hours at all: fall back to wall-clock time rather than never.
        start + Duration::minutes(minutes.max(0))
    }

    /// Business minutes between two instants (0 when `to` is not after `from`).
    pub fn minutes_between(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> i64 {
        if to <= from {
            return 0;
        }
        let mut total = Duration::zero();
        let mut date = self.local_date(from);
        let last = self.local_date(to);
        let mut guard = 0;
        while date <= last && guard < HORIZON_DAYS * 4 {
            if let Some((open, close)) = self.window(date) {
                let a = from.max(open);
                let b = to.min(close);
                if b > a {
                    total += b - a;
                }
            }
            date = date.succ_opt().unwrap_or(last);
            guard += 1;
        }
        total.num_minutes()
    }
}

/// Naive (stored UTC) variants, for callers holding database timestamps.
pub fn add_naive(calendar: &Calendar, start: NaiveDateTime, minutes: i64) -> NaiveDateTime {
    calendar.add(start.and_utc(), minutes).naive_utc()
}

pub fn minutes_between_naive(calendar: &Calendar, from: NaiveDateTime, to: NaiveDateTime) -> i64 {
    calendar.minutes_between(from.and_utc(), to.and_utc())
}

/// Indonesia's national holidays (libur nasional) for 2026 and 2027, the default list admins
/// edit. Dates of the Islamic, Chinese, Balinese and Buddhist calendars follow the government's
/// decree and can move by a day: check the year's SKB and adjust.
pub const INDONESIAN_HOLIDAYS: &[(&str, &str)] = &[
    ("2026-01-01", "Tahun Baru 2026 Masehi"),
    ("2026-01-16", "Isra Mikraj Nabi Muhammad SAW"),
    ("2026-02-17", "Tahun Baru Imlek 2577 Kongzili"),
    ("2026-03-19", "Hari Suci Nyepi (Tahun Baru Saka 1948)"),
    ("2026-03-20", "Idul Fitri 1447 Hijriah"),
    ("2026-03-21", "Idul Fitri 1447 Hijriah"),
    ("2026-04-03", "Wafat Yesus Kristus"),
    ("2026-04-05", "Kebangkitan Yesus Kristus (Paskah)"),
    ("2026-05-01", "Hari Buruh Internasional"),
    ("2026-05-14", "Kenaikan Yesus Kristus"),
    ("2026-05-27", "Idul Adha 1447 Hijriah"),
    ("2026-05-31", "Hari Raya Waisak 2570 BE"),
    ("2026-06-01", "Hari Lahir Pancasila"),
    ("2026-06-16", "1 Muharam Tahun Baru Islam 1448 Hijriah"),
    ("2026-08-17", "Proklamasi Kemerdekaan"),
    ("2026-08-25", "Maulid Nabi Muhammad SAW"),
    ("2026-12-25", "Kelahiran Yesus Kristus"),
    ("2027-01-01", "Tahun Baru 2027 Masehi"),
    ("2027-01-05", "Isra Mikraj Nabi Muhammad SAW"),
    ("2027-02-06", "Tahun Baru Imlek 2578 Kongzili"),
    ("2027-03-09", "Hari Suci Nyepi (Tahun Baru Saka 1949)"),
    ("2027-03-10", "Idul Fitri 1448 Hijriah"),
    ("2027-03-11", "Idul Fitri 1448 Hijriah"),
    ("2027-03-26", "Wafat Yesus Kristus"),
    ("2027-03-28", "Kebangkitan Yesus Kristus (Paskah)"),
    ("2027-05-01", "Hari Buruh Internasional"),
    ("2027-05-06", "Kenaikan Yesus Kristus"),
    ("2027-05-17", "Idul Adha 1448 Hijriah"),
    ("2027-05-20", "Hari Raya Waisak 2571 BE"),
    ("2027-06-01", "Hari Lahir Pancasila"),
    ("2027-06-06", "1 Muharam Tahun Baru Islam 1449 Hijriah"),
    ("2027-08-15", "Maulid Nabi Muhammad SAW"),
    ("2027-08-17", "Proklamasi Kemerdekaan"),
    ("2027-12-25", "Kelahiran Yesus Kristus"),
];

#[cfg(test)]
mod tests {
    use super::*;

    fn jakarta() -> Calendar {
        let mut c = Calendar::default_for(chrono_tz::Asia::Jakarta);
        c.holidays
            .insert(NaiveDate::from_ymd_opt(2026, 12, 25).unwrap());
        c
    }

    /// Local Jakarta time (UTC+7) as UTC.
    fn wib(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
        chrono_tz::Asia::Jakarta
            .with_ymd_and_hms(y, m, d, h, min, 0)
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn inside_one_working_day() {
        // Tuesday 24 Nov 2026, 09:00 WIB + 2h = 11:00 WIB (04:00 UTC).
        assert_eq!(
            jakarta().add(wib(2026, 11, 24, 9, 0), 120),
            wib(2026, 11, 24, 11, 0)
        );
        assert_eq!(
            wib(2026, 11, 24, 11, 0).to_rfc3339(),
            "2026-11-24T04:00:00+00:00"
        );
    }

    #[test]
    fn across_the_night() {
        // 16:00 + 2h: one hour today, one tomorrow from 08:00.
        assert_eq!(
            jakarta().add(wib(2026, 11, 24, 16, 0), 120),
            wib(2026, 11, 25, 9, 0)
        );
        // Started at night: the clock starts at opening.
        assert_eq!(
            jakarta().add(wib(2026, 11, 24, 22, 30), 60),
            wib(2026, 11, 25, 9, 0)
        );
    }

    #[test]
    fn across_the_weekend() {
        // Saturday 28 Nov 16:30 + 1h: 30 min Saturday, Sunday closed, 30 min Monday.
        assert_eq!(
            jakarta().add(wib(2026, 11, 28, 16, 30), 60),
            wib(2026, 11, 30, 8, 30)
        );
    }

    #[test]
    fn across_a_holiday() {
        // Thursday 24 Dec 16:00 + 2h: Christmas Friday is a holiday → Saturday 09:00.
        assert_eq!(
            jakarta().add(wib(2026, 12, 24, 16, 0), 120),
            wib(2026, 12, 26, 9, 0)
        );
    }

    #[test]
    fn a_full_business_day_is_nine_hours() {
        assert_eq!(
            jakarta().add(wib(2026, 11, 24, 8, 0), 9 * 60),
            wib(2026, 11, 24, 17, 0)
        );
        assert_eq!(
            jakarta().add(wib(2026, 11, 24, 8, 0), 9 * 60 + 1),
            wib(2026, 11, 25, 8, 1)
        );
    }

    #[test]
    fn minutes_between_counts_only_working_hours() {
        let c = jakarta();
        assert_eq!(
            c.minutes_between(wib(2026, 11, 24, 16, 0), wib(2026, 11, 25, 9, 0)),
            120
        );
        assert_eq!(
            c.minutes_between(wib(2026, 11, 28, 16, 30), wib(2026, 11, 30, 8, 30)),
            60
        );
        assert_eq!(
            c.minutes_between(wib(2026, 11, 25, 9, 0), wib(2026, 11, 24, 9, 0)),
            0
        );
        // add and minutes_between agree.
        let start = wib(2026, 12, 23, 15, 17);
        for minutes in [1, 59, 600, 1234, 5000] {
            assert_eq!(
                c.minutes_between(start, c.add(start, minutes)),
                minutes,
                "{minutes}"
            );
        }
    }

    #[test]
    fn other_zones_use_their_own_clock() {
        // The same instant is 09:00 WIB and 10:00 WITA; in Makassar 1h of work ends at 11:00 WITA.
        let makassar = Calendar::default_for(chrono_tz::Asia::Makassar);
        let end = makassar.add(wib(2026, 11, 24, 9, 0), 60);
        assert_eq!(
            end,
            chrono_tz::Asia::Makassar
                .with_ymd_and_hms(2026, 11, 24, 11, 0, 0)
                .unwrap()
                .with_timezone(&Utc)
        );
    }

    #[test]
    fn no_open_day_falls_back_to_wall_clock() {
        let mut closed = jakarta();
        closed.week = [None; 7];
        let start = wib(2026, 11, 24, 9, 0);
        assert_eq!(closed.add(start, 60), start + Duration::minutes(60));
    }

    #[test]
    fn holiday_dates_parse() {
        for (date, name) in INDONESIAN_HOLIDAYS {
            assert!(
                NaiveDate::parse_from_str(date, "%Y-%m-%d").is_ok(),
                "{date} {name}"
            );
        }
    }
}
