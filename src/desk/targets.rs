//! Service targets and the business calendar as stored: defaults on first start, the
//! calendar the arithmetic runs on, and the due times a ticket carries.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use crate::db::schema::{business_hours, holidays, target_policies};
use crate::db::tickets::{Ticket, TicketChanges};
use crate::db::{self, DbConnection};
use crate::domain::business_time::{
    add_naive, minutes_between_naive, Calendar, Hours, INDONESIAN_HOLIDAYS,
};
use crate::domain::vocab::Priority;
use crate::error::AppError;

/// Targets of one priority, in business minutes.
#[derive(
    Clone, Debug, PartialEq, Eq, Queryable, Selectable, Serialize, Deserialize, utoipa::ToSchema,
)]
#[diesel(table_name = target_policies)]
pub struct TargetPolicy {
    pub priority: String,
    /// Time to the first response (the acknowledgement).
    pub first_response_minutes: i32,
    /// Longest gap before the customer hears from us again.
    pub next_response_minutes: i32,
    /// Time to resolution.
    pub resolution_minutes: i32,
}

/// Sensible defaults: urgent answers within an hour, low within a business day.
pub fn default_policies() -> Vec<TargetPolicy> {
    [
        ("urgent", 60, 120, 540),
        ("high", 240, 480, 1620),
        ("normal", 480, 960, 2700),
        ("low", 1440, 2880, 5400),
    ]
    .into_iter()
    .map(|(p, f, n, r)| TargetPolicy {
        priority: p.into(),
        first_response_minutes: f,
        next_response_minutes: n,
        resolution_minutes: r,
    })
    .collect()
}

/// On an empty desk: the default policies, Monday–Saturday 08:00–17:00, and Indonesia's
/// national holidays.
pub fn seed_defaults(conn: &mut DbConnection) -> anyhow::Result<()> {
    let now = db::now();
    if target_policies::table.count().get_result::<i64>(conn)? == 0 {
        for p in default_policies() {
            diesel::insert_into(target_policies::table)
                .values((
                    target_policies::priority.eq(&p.priority),
                    target_policies::first_response_minutes.eq(p.first_response_minutes),
                    target_policies::next_response_minutes.eq(p.next_response_minutes),
                    target_policies::resolution_minutes.eq(p.resolution_minutes),
                    target_policies::updated_at.eq(now),
                ))
                .execute(conn)?;
        }
    }
    if business_hours::table.count().get_result::<i64>(conn)? == 0 {
        for weekday in 0..7 {
            let (open, close) = if weekday < 6 {
                (Some(8 * 60), Some(17 * 60))
            } else {
                (None, None)
            };
            diesel::insert_into(business_hours::table)
                .values((
                    business_hours::weekday.eq(weekday),
                    business_hours::open_minute.eq(open),
                    business_hours::close_minute.eq(close),
                ))
                .execute(conn)?;
        }
    }
    if holidays::table.count().get_result::<i64>(conn)? == 0 {
        for (date, name) in INDONESIAN_HOLIDAYS {
            let date = NaiveDate::parse_from_str(date, "%Y-%m-%d")?;
            diesel::insert_into(holidays::table)
                .values((holidays::holiday_date.eq(date), holidays::name.eq(name)))
                .execute(conn)?;
        }
    }
    Ok(())
}

pub fn policies(conn: &mut DbConnection) -> QueryResult<Vec<TargetPolicy>> {
    target_policies::table
        .select(TargetPolicy::as_select())
        .order(target_policies::first_response_minutes.asc())
        .load(conn)
}

pub fn policy_for(conn: &mut DbConnection, priority: &str) -> QueryResult<TargetPolicy> {
    let found = crate::db::on_backend!(conn, c => target_policies::table
        .find(priority)
        .select(TargetPolicy::as_select())
        .first(c)
        .optional())?;
    Ok(found.unwrap_or_else(|| default_policy(priority)))
}

/// The built-in policy of `priority` (normal's for an unknown one).
fn default_policy(priority: &str) -> TargetPolicy {
    default_policies()
        .into_iter()
        .find(|p| p.priority == priority)
        .unwrap_or_else(|| default_policies().remove(2))
}

pub fn update_policy(
    conn: &mut DbConnection,
    policy: &TargetPolicy,
) -> Result<TargetPolicy, AppError> {
    let mut fields = crate::error::FieldErrors::new();
    if Priority::parse(&policy.priority).is_err() {
        fields.insert(
            "priority".into(),
            "must be one of: low, normal, high, urgent".into(),
        );
    }
    for (name, value) in [
        ("first_response_minutes", policy.first_response_minutes),
        ("next_response_minutes", policy.next_response_minutes),
        ("resolution_minutes", policy.resolution_minutes),
    ] {
        if !(1..=525_600).contains(&value) {
            fields.insert(
                name.into(),
                "must be from 1 to 525600 business minutes".into(),
            );
        }
    }
    AppError::check(fields)?;
    let now = db::now();
    let updated = diesel::update(target_policies::table.find(&policy.priority))
        .set((
            target_policies::first_response_minutes.eq(policy.first_response_minutes),
            target_policies::next_response_minutes.eq(policy.next_response_minutes),
            target_policies::resolution_minutes.eq(policy.resolution_minutes),
            target_policies::updated_at.eq(now),
        ))
        .execute(conn)?;
    if updated == 0 {
        diesel::insert_into(target_policies::table)
            .values((
                target_policies::priority.eq(&policy.priority),
                target_policies::first_response_minutes.eq(policy.first_response_minutes),
                target_policies::next_response_minutes.eq(policy.next_response_minutes),
                target_policies::resolution_minutes.eq(policy.resolution_minutes),
                target_policies::updated_at.eq(now),
            ))
            .execute(conn)?;
    }
    Ok(policy_for(conn, &policy.priority)?)
}

/// Working hours of one weekday as the API shows them ("08:00"–"17:00", or closed).
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DayHours {
    /// 0 = Monday … 6 = Sunday
    pub weekday: i32,
    /// "HH:MM", or null when closed
    pub open: Option<String>,
    pub close: Option<String>,
}

fn hhmm(minute: i32) -> String {
    format!("{:02}:{:02}", minute / 60, minute % 60)
}

fn parse_hhmm(raw: &str) -> Option<i32> {
    let (h, m) = raw.trim().split_once(':')?;
    let (h, m): (i32, i32) = (h.parse().ok()?, m.parse().ok()?);
    ((0..24).contains(&h) && (0..60).contains(&m))
        .then_some(h * 60 + m)
        .or((h == 24 && m == 0).then_some(24 * 60))
}

pub fn week(conn: &mut DbConnection) -> QueryResult<Vec<DayHours>> {
    let rows: Vec<(i32, Option<i32>, Option<i32>)> = business_hours::table
        .order(business_hours::weekday.asc())
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(weekday, open, close)| DayHours {
            weekday,
            open: open.map(hhmm),
            close: close.map(hhmm),
        })
        .collect())
}

pub fn set_week(conn: &mut DbConnection, days: &[DayHours]) -> Result<Vec<DayHours>, AppError> {
    let mut fields = crate::error::FieldErrors::new();
    let mut parsed = Vec::new();
    for (i, day) in days.iter().enumerate() {
        let key = |f: &str| format!("days[{i}].{f}");
        if !(0..7).contains(&day.weekday) {
            fields.insert(key("weekday"), "must be 0 (Monday) to 6 (Sunday)".into());
            continue;
        }
        match (day.open.as_deref(), day.close.as_deref()) {
            (None, None) => parsed.push((day.weekday, None, None)),
            (Some(o), Some(c)) => match (parse_hhmm(o), parse_hhmm(c)) {
                (Some(o), Some(c)) if o < c => parsed.push((day.weekday, Some(o), Some(c))),
                (Some(_), Some(_)) => {
                    fields.insert(key("close"), "must be after open".into());
                }
                _ => {
                    fields.insert(key("open"), "times are HH:MM".into());
                }
            },
            _ => {
                fields.insert(
                    key("open"),
                    "give both open and close, or neither for a closed day".into(),
                );
            }
        }
    }
    AppError::check(fields)?;
    crate::db::write(conn, |conn| {
        for (weekday, open, close) in parsed {
            diesel::delete(business_hours::table.find(weekday)).execute(conn)?;
            diesel::insert_into(business_hours::table)
                .values((
                    business_hours::weekday.eq(weekday),
                    business_hours::open_minute.eq(open),
                    business_hours::close_minute.eq(close),
                ))
                .execute(conn)?;
        }
        Ok::<_, AppError>(())
    })?;
    Ok(week(conn)?)
}

#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Holiday {
    /// YYYY-MM-DD in the shop's calendar
    pub date: NaiveDate,
    pub name: String,
}

pub fn holiday_list(conn: &mut DbConnection) -> QueryResult<Vec<Holiday>> {
    let rows: Vec<(NaiveDate, String)> = holidays::table
        .order(holidays::holiday_date.asc())
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(date, name)| Holiday { date, name })
        .collect())
}

pub fn add_holiday(conn: &mut DbConnection, holiday: &Holiday) -> Result<Holiday, AppError> {
    let name = crate::domain::contact::required_text(&holiday.name, 200)
        .map_err(|m| AppError::invalid("name", m))?;
    diesel::delete(holidays::table.find(holiday.date)).execute(conn)?;
    diesel::insert_into(holidays::table)
        .values((
            holidays::holiday_date.eq(holiday.date),
            holidays::name.eq(&name),
        ))
        .execute(conn)?;
    Ok(Holiday {
        date: holiday.date,
        name,
    })
}

pub fn remove_holiday(conn: &mut DbConnection, date: NaiveDate) -> Result<(), AppError> {
    let removed = diesel::delete(holidays::table.find(date)).execute(conn)?;
    if removed == 0 {
        return Err(AppError::not_found("holiday"));
    }
    Ok(())
}

/// The shop's calendar as stored.
pub fn calendar(conn: &mut DbConnection, zone: chrono_tz::Tz) -> QueryResult<Calendar> {
    Ok(rules(conn, zone, Priority::Normal.as_str())?.calendar)
}

/// What a ticket's targets and its first assignee follow: the shop's calendar, the policy of
/// one priority, and whether new tickets go to the least busy agent.
pub struct Rules {
    pub calendar: Calendar,
    pub policy: TargetPolicy,
    pub auto_assign: bool,
}

/// One row of [`rules`]: which table it came from, then that table's values.
type RuleRow = (
    String,
    Option<i32>,
    Option<i32>,
    Option<i32>,
    Option<NaiveDate>,
    Option<String>,
);

/// [`Rules`] for `priority`, read in one statement (a `UNION ALL` of the business hours, the
/// holidays, the priority's policy and the auto-assign setting): on PostgreSQL each statement
/// is a round trip, and an intake read these four ways before it wrote (BENCHMARKS.md §1).
pub fn rules(conn: &mut DbConnection, zone: chrono_tz::Tz, priority: &str) -> QueryResult<Rules> {
    use diesel::sql_types::{Date, Integer, Nullable, Text};
    use diesel::IntoSql;

    use crate::db::schema::app_settings;
    let no_int = || None::<i32>.into_sql::<Nullable<Integer>>();
    let no_day = || None::<NaiveDate>.into_sql::<Nullable<Date>>();
    let no_text = || None::<String>.into_sql::<Nullable<Text>>();
    let hours = business_hours::table.select((
        "hours".into_sql::<Text>(),
        business_hours::weekday.nullable(),
        business_hours::open_minute,
        business_hours::close_minute,
        no_day(),
        no_text(),
    ));
    let days = holidays::table.select((
        "holiday".into_sql::<Text>(),
        no_int(),
        no_int(),
        no_int(),
        holidays::holiday_date.nullable(),
        no_text(),
    ));
    let policy = target_policies::table
        .filter(target_policies::priority.eq(priority))
        .select((
            "policy".into_sql::<Text>(),
            target_policies::first_response_minutes.nullable(),
            target_policies::next_response_minutes.nullable(),
            target_policies::resolution_minutes.nullable(),
            no_day(),
            no_text(),
        ));
    let setting = app_settings::table
        .filter(app_settings::key.eq(crate::desk::tickets::SETTING_AUTO_ASSIGN))
        .select((
            "auto_assign".into_sql::<Text>(),
            no_int(),
            no_int(),
            no_int(),
            no_day(),
            app_settings::value.nullable(),
        ));
    let rows: Vec<RuleRow> = crate::db::on_backend!(conn, c => hours
        .union_all(days)
        .union_all(policy)
        .union_all(setting)
        .load(c))?;
    Ok(rules_of(rows, zone, priority))
}

fn rules_of(rows: Vec<RuleRow>, zone: chrono_tz::Tz, priority: &str) -> Rules {
    // Stored business hours replace the default week when there are any; the holidays are the
    // stored list (seeded with the national ones on first start).
    let mut calendar = Calendar::default_for(zone);
    let (mut week, mut stored_week) = ([None; 7], false);
    let mut stored_policy = None;
    let mut auto_assign = false;
    for (kind, a, b, c, day, text) in rows {
        match kind.as_str() {
            "hours" => {
                stored_week = true;
                if let (Some(i), Some(open), Some(close)) =
                    (a.and_then(|w| usize::try_from(w).ok()), b, c)
                {
                    if i < 7 {
                        week[i] = Some(Hours {
                            open: open as u32,
                            close: close as u32,
                        });
                    }
                }
            }
            "holiday" => calendar.holidays.extend(day),
            "policy" => {
                if let (Some(first), Some(next), Some(resolution)) = (a, b, c) {
                    stored_policy = Some(TargetPolicy {
                        priority: priority.to_owned(),
                        first_response_minutes: first,
                        next_response_minutes: next,
                        resolution_minutes: resolution,
                    });
                }
            }
            "auto_assign" => auto_assign = text.as_deref() == Some("true"),
            _ => {}
        }
    }
    if stored_week {
        calendar.week = week;
    }
    Rules {
        calendar,
        policy: stored_policy.unwrap_or_else(|| default_policy(priority)),
        auto_assign,
    }
}

/// Due times for a ticket opened at `created_at` with `priority`, after `paused_minutes` of
/// waiting for the customer.
pub fn due_times(
    calendar: &Calendar,
    policy: &TargetPolicy,
    created_at: NaiveDateTime,
    paused_minutes: i32,
) -> (NaiveDateTime, NaiveDateTime) {
    (
        add_naive(calendar, created_at, policy.first_response_minutes.into()),
        add_naive(
            calendar,
            created_at,
            i64::from(policy.resolution_minutes) + i64::from(paused_minutes),
        ),
    )
}

/// Recomputes the due times of `ticket` (its priority may be changing to `priority`).
pub fn recompute(
    conn: &mut DbConnection,
    zone: chrono_tz::Tz,
    ticket: &Ticket,
    priority: &str,
    changes: &mut TicketChanges,
) -> QueryResult<()> {
    let Rules {
        calendar, policy, ..
    } = rules(conn, zone, priority)?;
    let (first, resolution) =
        due_times(&calendar, &policy, ticket.created_at, ticket.paused_minutes);
    changes.first_response_due_at = Some(Some(first));
    changes.resolution_due_at = Some(Some(resolution));
    // A new target is a new chance: flags of the old one do not carry over.
    changes.first_response_warned = Some(false);
    changes.first_response_breached = Some(ticket.acknowledged_at.is_some_and(|at| at > first));
    changes.resolution_warned = Some(false);
    changes.resolution_breached = Some(false);
    Ok(())
}

/// The resolution clock stops while the ticket waits for the customer's answer.
pub fn pause(changes: &mut TicketChanges, now: NaiveDateTime) {
    changes.clock_paused_at = Some(Some(now));
}

/// The clock runs again: the business time spent waiting moves the resolution target on.
pub fn resume(
    conn: &mut DbConnection,
    zone: chrono_tz::Tz,
    ticket: &Ticket,
    changes: &mut TicketChanges,
    now: NaiveDateTime,
) -> QueryResult<()> {
    let Some(paused_at) = ticket.clock_paused_at else {
        return Ok(());
    };
    let Rules {
        calendar, policy, ..
    } = rules(conn, zone, &ticket.priority)?;
    let waited = minutes_between_naive(&calendar, paused_at, now) as i32;
    let paused_minutes = ticket.paused_minutes + waited;
    let (_, resolution) = due_times(&calendar, &policy, ticket.created_at, paused_minutes);
    changes.clock_paused_at = Some(None);
    changes.paused_minutes = Some(paused_minutes);
    changes.resolution_due_at = Some(Some(resolution));
    Ok(())
}
