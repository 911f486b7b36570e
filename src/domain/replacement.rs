//! The life of a replacement: requested → approved → shipped → delivered, or cancelled.

use super::vocab::vocabulary;

vocabulary!(
    ReplacementStatus {
        Requested => "requested",
        Approved => "approved",
        Shipped => "shipped",
        Delivered => "delivered",
        Cancelled => "cancelled",
    }
);

impl ReplacementStatus {
    /// Delivered and cancelled replacements are finished; the others still hold a ticket open.
    pub fn is_open(self) -> bool {
        !matches!(self, Self::Delivered | Self::Cancelled)
    }
}

/// The rupiah cost above which a replacement needs a manager's approval, unless configured.
pub const DEFAULT_APPROVAL_THRESHOLD: i64 = 250_000;

/// Why a status change is refused, or `Ok` when it may happen.
pub fn check_transition(from: ReplacementStatus, to: ReplacementStatus) -> Result<(), String> {
    use ReplacementStatus::*;
    match (from, to) {
        // Goods leave the warehouse only once approved: a cheap replacement is approved by the
        // agent, an expensive one by a manager (checked by the caller).
        (Requested, Approved) | (Approved, Shipped) | (Shipped, Delivered) => Ok(()),
        (Requested | Approved | Shipped, Cancelled) => Ok(()),
        (Requested, Shipped) => Err("approve the replacement before shipping it".into()),
        (Requested | Approved, Delivered) => {
            Err("ship the replacement before marking it delivered".into())
        }
        (Delivered | Cancelled, _) => Err(format!("the replacement is already {}", from.as_str())),
        (a, b) if a == b => Err(format!("the replacement is already {}", a.as_str())),
        (a, b) => Err(format!(
            "a replacement cannot go from {} back to {}",
            a.as_str(),
            b.as_str()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::ReplacementStatus::*;
    use super::*;

    #[test]
    fn the_happy_path_and_its_refusals() {
        assert!(check_transition(Requested, Approved).is_ok());
        assert!(check_transition(Approved, Shipped).is_ok());
        assert!(check_transition(Shipped, Delivered).is_ok());
        assert!(check_transition(Shipped, Cancelled).is_ok());
        assert!(check_transition(Requested, Shipped)
            .unwrap_err()
            .contains("approve"));
        assert!(check_transition(Delivered, Cancelled).is_err());
        assert!(check_transition(Shipped, Approved).is_err());
        assert!(check_transition(Approved, Approved).is_err());
    }
}
