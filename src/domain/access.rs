//! Who may act on a ticket. Agents work the tickets assigned to them and may pick up
//! unassigned ones (acting on one takes it); managers and admins act on every ticket. Only
//! managers and admins take escalations, approve expensive replacements and move other
//! agents' tickets.

use super::user::Role;

/// What acting means for the assignment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// Go ahead; the assignment stays as it is.
    Allowed,
    /// Go ahead, and the ticket becomes the actor's (an agent picking up an unassigned one).
    AllowedAndTaken,
}

/// May `actor` act on a ticket assigned to `assignee`? `Err` carries the reason for a 403.
pub fn may_act(actor_id: i64, actor_role: Role, assignee: Option<i64>) -> Result<Access, String> {
    match (actor_role, assignee) {
        (Role::Manager | Role::Admin, _) => Ok(Access::Allowed),
        (Role::Agent, None) => Ok(Access::AllowedAndTaken),
        (Role::Agent, Some(id)) if id == actor_id => Ok(Access::Allowed),
        (Role::Agent, Some(_)) => {
            Err("this ticket belongs to another agent; ask a manager to reassign it".into())
        }
    }
}

/// May `actor` assign the ticket (now with `assignee`) to `target`? Agents may only take an
/// unassigned ticket for themselves or give up their own.
pub fn may_assign(
    actor_id: i64,
    actor_role: Role,
    assignee: Option<i64>,
    target: Option<i64>,
) -> Result<(), String> {
    if actor_role.is_senior() {
        return Ok(());
    }
    let own_or_free = assignee.is_none() || assignee == Some(actor_id);
    let to_self_or_nobody = target.is_none() || target == Some(actor_id);
    if own_or_free && to_self_or_nobody {
        Ok(())
    } else {
        Err("only managers and admins reassign other agents' tickets".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agents_act_on_their_own_and_unassigned_tickets() {
        assert_eq!(may_act(1, Role::Agent, Some(1)), Ok(Access::Allowed));
        assert_eq!(may_act(1, Role::Agent, None), Ok(Access::AllowedAndTaken));
        assert!(may_act(1, Role::Agent, Some(2)).is_err());
        assert_eq!(may_act(1, Role::Manager, Some(2)), Ok(Access::Allowed));
    }

    #[test]
    fn only_seniors_reassign_others() {
        assert!(may_assign(1, Role::Agent, None, Some(1)).is_ok());
        assert!(may_assign(1, Role::Agent, Some(1), None).is_ok());
        assert!(may_assign(1, Role::Agent, Some(1), Some(2)).is_err());
        assert!(may_assign(1, Role::Agent, Some(2), Some(1)).is_err());
        assert!(may_assign(1, Role::Admin, Some(2), Some(3)).is_ok());
    }
}
