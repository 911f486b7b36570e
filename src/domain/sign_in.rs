//! How repeated failed sign-ins are slowed down.
//!
//! Failures are counted per email and per client address within a window. Past a threshold
//! the key is locked for a time that doubles with every further failure, up to a cap. The
//! same answer is given whether or not the email belongs to a user, so the lock reveals
//! nothing.

use chrono::{Duration, NaiveDateTime};

/// What is counted: an email address or a client IP.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ThrottleKind {
    Email,
    Address,
}

impl ThrottleKind {
    /// Failures allowed inside the window before a lock. An address is shared by a whole shop
    /// behind one router, so it gets more room than one email.
    pub fn threshold(self) -> i32 {
        match self {
            ThrottleKind::Email => 5,
            ThrottleKind::Address => 20,
        }
    }

    pub fn key(self, value: &str) -> String {
        match self {
            ThrottleKind::Email => format!("email:{}", value.trim().to_lowercase()),
            ThrottleKind::Address => format!("ip:{value}"),
        }
    }
}

/// The counted failures of one key, as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ThrottleState {
    pub failures: i32,
    pub window_started_at: NaiveDateTime,
    pub locked_until: Option<NaiveDateTime>,
}

pub const WINDOW: Duration = Duration::minutes(15);
pub const MAX_LOCK: Duration = Duration::minutes(60);

/// Seconds the caller must still wait, if the key is locked now.
pub fn locked_for(state: Option<&ThrottleState>, now: NaiveDateTime) -> Option<u64> {
    let until = state?.locked_until?;
    (until > now).then(|| (until - now).num_seconds().max(1) as u64)
}

/// The state after one more failure at `now`.
pub fn after_failure(
    kind: ThrottleKind,
    state: Option<&ThrottleState>,
    now: NaiveDateTime,
) -> ThrottleState {
    let (failures, window_started_at) = match state {
        // A lock extends the window: failures keep counting until a quiet period passes.
        Some(s)
            if now - s.window_started_at < WINDOW
                || s.locked_until.is_some_and(|u| u > now - WINDOW) =>
        {
            (s.failures + 1, s.window_started_at)
        }
        _ => (1, now),
    };
    let over = failures - kind.threshold();
    let locked_until = (over >= 0).then(|| {
        let seconds = 30i64.saturating_mul(1i64 << over.min(20));
        now + Duration::seconds(seconds).min(MAX_LOCK)
    });
    ThrottleState {
        failures,
        window_started_at,
        locked_until,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(minute: i64) -> NaiveDateTime {
        chrono::DateTime::from_timestamp(1_800_000_000 + minute * 60, 0)
            .unwrap()
            .naive_utc()
    }

    #[test]
    fn locks_after_the_threshold_and_doubles() {
        let mut state = None;
        for _ in 0..4 {
            state = Some(after_failure(ThrottleKind::Email, state.as_ref(), at(0)));
            assert_eq!(locked_for(state.as_ref(), at(0)), None);
        }
        state = Some(after_failure(ThrottleKind::Email, state.as_ref(), at(0)));
        assert_eq!(locked_for(state.as_ref(), at(0)), Some(30));
        state = Some(after_failure(ThrottleKind::Email, state.as_ref(), at(0)));
        assert_eq!(locked_for(state.as_ref(), at(0)), Some(60));
        for _ in 0..20 {
            state = Some(after_failure(ThrottleKind::Email, state.as_ref(), at(0)));
        }
        assert_eq!(locked_for(state.as_ref(), at(0)), Some(3600));
    }

    #[test]
    fn a_quiet_window_starts_over() {
        let mut state = None;
        for _ in 0..4 {
            state = Some(after_failure(ThrottleKind::Email, state.as_ref(), at(0)));
        }
        let next = after_failure(ThrottleKind::Email, state.as_ref(), at(16));
        assert_eq!(next.failures, 1);
        assert_eq!(locked_for(Some(&next), at(16)), None);
    }

    #[test]
    fn addresses_get_more_room() {
        let mut state = None;
        for _ in 0..19 {
            state = Some(after_failure(ThrottleKind::Address, state.as_ref(), at(0)));
        }
        assert_eq!(locked_for(state.as_ref(), at(0)), None);
    }
}
