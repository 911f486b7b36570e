//! The six-step playbook as a state machine. This file is the one place that says which
//! action may happen at which stage, and why; the API, the pages and the scheduler all ask
//! `decide`.
//!
//! Stages: `new` → `acknowledged` (step 2, thank) → `listened` (step 3, complaint recorded) →
//! `understood` (step 4, root cause written down) → `solution_proposed` (step 5) → `resolved` →
//! `closed`. `escalated` (step 5b) can be entered from any open stage; the senior person then
//! continues from the stage the ticket was escalated from. Promises (step 6) do not move the
//! stage: any open ticket can carry them.

use super::vocab::{vocabulary, Kind, SolutionType};

vocabulary!(
    Stage {
        New => "new",
        Acknowledged => "acknowledged",
        Listened => "listened",
        Understood => "understood",
        SolutionProposed => "solution_proposed",
        Escalated => "escalated",
        Resolved => "resolved",
        Closed => "closed",
    }
);

impl Stage {
    pub fn is_open(self) -> bool {
        !matches!(self, Stage::Resolved | Stage::Closed)
    }

    /// The playbook step (1–6) a stage stands at, for steppers and reports.
    pub fn step(self) -> u8 {
        match self {
            Stage::New => 1,
            Stage::Acknowledged => 2,
            Stage::Listened => 3,
            Stage::Understood => 4,
            Stage::SolutionProposed | Stage::Escalated => 5,
            Stage::Resolved | Stage::Closed => 6,
        }
    }
}

vocabulary!(
    /// Where a proposal stands with the customer.
    ProposalState { Pending => "pending", Accepted => "accepted", Rejected => "rejected" }
);

vocabulary!(
    Action {
        Acknowledge => "acknowledge",
        Record => "record",
        Diagnose => "diagnose",
        Propose => "propose",
        CustomerResponse => "customer_response",
        Escalate => "escalate",
        Resolve => "resolve",
        Close => "close",
        Reopen => "reopen",
        Promise => "promise",
        Replacement => "replacement",
    }
);

/// What `decide` needs to know about a ticket.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TicketFacts {
    pub kind: Kind,
    pub stage: Stage,
    /// Set while `stage` is `escalated`: where the senior person continues from.
    pub escalated_from: Option<Stage>,
    pub proposal: Option<ProposalState>,
    pub solution_type: Option<SolutionType>,
    /// Replacements not yet delivered or cancelled.
    pub open_replacements: usize,
    pub replacements: usize,
}

/// A refused action: the message says which step is missing.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Refusal(pub String);

/// What an allowed action does to the ticket.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Outcome {
    pub stage: Stage,
    /// For `escalate`: the stage to continue from, kept on the ticket.
    pub escalated_from: Option<Stage>,
}

fn refuse<T>(message: impl Into<String>) -> Result<T, Refusal> {
    Err(Refusal(message.into()))
}

/// The step that must come before `stage` can move on, said as an instruction.
fn missing_step(facts: &TicketFacts, stage: Stage) -> &'static str {
    match stage {
        Stage::New => "thank the customer (acknowledge)",
        Stage::Acknowledged if facts.kind == Kind::Feedback => "resolve the feedback",
        Stage::Acknowledged => "record the complaint",
        Stage::Listened => "write down the root cause (diagnose)",
        Stage::Understood => "propose a solution",
        Stage::SolutionProposed => "record the customer's answer to the proposal",
        Stage::Escalated => "let the senior person continue",
        Stage::Resolved | Stage::Closed => "reopen the ticket",
    }
}

/// Decides whether `action` may happen now and where it leads.
///
/// `accepted` is the customer's answer for `customer_response` (ignored otherwise).
pub fn decide(
    facts: &TicketFacts,
    action: Action,
    accepted: Option<bool>,
) -> Result<Outcome, Refusal> {
    // An escalated ticket behaves like the stage it was escalated from: the senior person
    // picks up the playbook where it stopped.
    let stage = match facts.stage {
        Stage::Escalated => facts.escalated_from.unwrap_or(Stage::Acknowledged),
        other => other,
    };
    let to = |stage| {
        Ok(Outcome {
            stage,
            escalated_from: None,
        })
    };
    let before = |what: &str| format!("{} before {what}", missing_step(facts, stage));
    let feedback = facts.kind == Kind::Feedback;

    if !stage.is_open() && !matches!(action, Action::Close | Action::Reopen) {
        // Step 6 done: nothing moves a finished ticket but closing or reopening it, so a
        // resolved complaint cannot silently change under the customer.
        return refuse(format!("the ticket is {}; reopen it first", stage.as_str()));
    }

    match action {
        // Step 2: thanks come first, once.
        Action::Acknowledge => match stage {
            Stage::New => to(Stage::Acknowledged),
            _ => refuse("the customer has already been thanked (acknowledged)"),
        },
        // Step 3: listen and record — after the thanks, so the customer feels heard first.
        // Feedback is not a problem to record; it goes straight to resolved.
        Action::Record if feedback => refuse(
            "feedback is not recorded as a complaint; resolve it after thanking the customer",
        ),
        Action::Record => match stage {
            Stage::Acknowledged => to(Stage::Listened),
            Stage::New => refuse(before("recording the complaint")),
            _ => refuse("the complaint is already recorded"),
        },
        // Step 4: the root cause is written down before any solution, so the solution answers
        // the real problem. Writing it again refines it.
        Action::Diagnose if feedback => refuse("feedback has no root cause to diagnose"),
        Action::Diagnose => match stage {
            Stage::Listened | Stage::Understood => to(Stage::Understood),
            Stage::New | Stage::Acknowledged => refuse(before("diagnosing the root cause")),
            _ => refuse("a solution is already proposed; record the customer's answer first"),
        },
        // Step 5: one proposal at a time, and only once the problem is understood.
        Action::Propose if feedback => refuse("feedback needs no solution; resolve it"),
        Action::Propose => match stage {
            Stage::Understood => to(Stage::SolutionProposed),
            Stage::SolutionProposed => {
                refuse("a proposal is already waiting; record the customer's answer first")
            }
            _ => refuse(before("proposing a solution")),
        },
        // Step 5, "ask for their input": an answer only makes sense to a pending proposal.
        // A rejection goes back to `understood` for another proposal or an escalation.
        Action::CustomerResponse => match (stage, facts.proposal) {
            (Stage::SolutionProposed, Some(ProposalState::Pending)) => match accepted {
                Some(true) => to(Stage::SolutionProposed),
                Some(false) => to(Stage::Understood),
                None => refuse("say whether the customer accepted"),
            },
            (Stage::SolutionProposed, _) => {
                refuse("the customer has already answered this proposal")
            }
            _ => refuse(before("recording the customer's answer")),
        },
        // Step 5b: any open ticket can go to a more senior person; they continue from here.
        Action::Escalate => Ok(Outcome {
            stage: Stage::Escalated,
            escalated_from: Some(stage),
        }),
        // Step 6 ends with a resolution the customer agreed to. Feedback needs only the thanks;
        // a question needs an answer, so anything after the thanks will do.
        Action::Resolve => {
            if stage == Stage::New {
                return refuse(before("resolving"));
            }
            if feedback || facts.kind == Kind::Question {
                return to(Stage::Resolved);
            }
            match (stage, facts.proposal) {
                (Stage::SolutionProposed, Some(ProposalState::Accepted)) => {
                    // A promised replacement is part of the solution: the ticket stays open
                    // until the goods arrive (or the replacement is called off).
                    if facts.solution_type == Some(SolutionType::Replacement) {
                        if facts.replacements == 0 {
                            return refuse("record the replacement before resolving");
                        }
                        if facts.open_replacements > 0 {
                            return refuse(
                                "the replacement must be delivered or cancelled before resolving",
                            );
                        }
                    }
                    to(Stage::Resolved)
                }
                (Stage::SolutionProposed, _) => {
                    refuse("the customer must accept the proposal before resolving")
                }
                _ => refuse(before("resolving")),
            }
        }
        // Closing files away a resolved ticket.
        Action::Close => match stage {
            Stage::Resolved => to(Stage::Closed),
            Stage::Closed => refuse("the ticket is already closed"),
            _ => refuse("resolve the ticket before closing it"),
        },
        // A customer who comes back is thanked again: reopening returns to `acknowledged`.
        Action::Reopen => match stage {
            Stage::Resolved | Stage::Closed => to(Stage::Acknowledged),
            _ => refuse("only a resolved or closed ticket can be reopened"),
        },
        // Step 6 and replacements: allowed on any open ticket (checked above); no stage change.
        Action::Promise | Action::Replacement => to(facts.stage),
    }
}

/// One line of guidance for the current stage: what the agent should do next.
pub fn next_step(facts: &TicketFacts) -> &'static str {
    match facts.stage {
        Stage::New => "acknowledge",
        Stage::Acknowledged if facts.kind == Kind::Complaint => "record",
        Stage::Acknowledged => "resolve",
        Stage::Listened => "diagnose",
        Stage::Understood => "propose",
        Stage::SolutionProposed => match facts.proposal {
            Some(ProposalState::Accepted) => "resolve",
            _ => "customer_response",
        },
        Stage::Escalated => "continue_escalated",
        Stage::Resolved => "close",
        Stage::Closed => "none",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(kind: Kind, stage: Stage) -> TicketFacts {
        TicketFacts {
            kind,
            stage,
            escalated_from: (stage == Stage::Escalated).then_some(Stage::Listened),
            proposal: (stage == Stage::SolutionProposed).then_some(ProposalState::Pending),
            solution_type: None,
            open_replacements: 0,
            replacements: 0,
        }
    }

    /// The whole table for complaints, every stage × every action: the stage it leads to, or
    /// the start of the refusal message. (Escalated tickets continue from `listened` here.)
    #[test]
    fn complaint_table() {
        use Action::*;
        use Stage::*;
        let expect: &[(Stage, Action, Result<Stage, &str>)] = &[
            (New, Acknowledge, Ok(Acknowledged)),
            (
                New,
                Record,
                Err("thank the customer (acknowledge) before recording"),
            ),
            (New, Diagnose, Err("thank the customer")),
            (
                New,
                Propose,
                Err("thank the customer (acknowledge) before proposing"),
            ),
            (New, CustomerResponse, Err("thank the customer")),
            (New, Escalate, Ok(Escalated)),
            (New, Resolve, Err("thank the customer")),
            (New, Close, Err("resolve the ticket before closing")),
            (New, Reopen, Err("only a resolved or closed")),
            (New, Promise, Ok(New)),
            (New, Replacement, Ok(New)),
            (
                Acknowledged,
                Acknowledge,
                Err("the customer has already been thanked"),
            ),
            (Acknowledged, Record, Ok(Listened)),
            (
                Acknowledged,
                Diagnose,
                Err("record the complaint before diagnosing"),
            ),
            (
                Acknowledged,
                Propose,
                Err("record the complaint before proposing a solution"),
            ),
            (Acknowledged, CustomerResponse, Err("record the complaint")),
            (Acknowledged, Escalate, Ok(Escalated)),
            (
                Acknowledged,
                Resolve,
                Err("record the complaint before resolving"),
            ),
            (Acknowledged, Close, Err("resolve the ticket")),
            (Acknowledged, Reopen, Err("only a resolved")),
            (Acknowledged, Promise, Ok(Acknowledged)),
            (Acknowledged, Replacement, Ok(Acknowledged)),
            (
                Listened,
                Acknowledge,
                Err("the customer has already been thanked"),
            ),
            (Listened, Record, Err("the complaint is already recorded")),
            (Listened, Diagnose, Ok(Understood)),
            (
                Listened,
                Propose,
                Err("write down the root cause (diagnose) before proposing a solution"),
            ),
            (Listened, CustomerResponse, Err("write down the root cause")),
            (Listened, Escalate, Ok(Escalated)),
            (Listened, Resolve, Err("write down the root cause")),
            (Listened, Close, Err("resolve the ticket")),
            (Listened, Reopen, Err("only a resolved")),
            (Listened, Promise, Ok(Listened)),
            (Listened, Replacement, Ok(Listened)),
            (
                Understood,
                Acknowledge,
                Err("the customer has already been thanked"),
            ),
            (Understood, Record, Err("the complaint is already recorded")),
            (Understood, Diagnose, Ok(Understood)),
            (Understood, Propose, Ok(SolutionProposed)),
            (
                Understood,
                CustomerResponse,
                Err("propose a solution before"),
            ),
            (Understood, Escalate, Ok(Escalated)),
            (
                Understood,
                Resolve,
                Err("propose a solution before resolving"),
            ),
            (Understood, Close, Err("resolve the ticket")),
            (Understood, Reopen, Err("only a resolved")),
            (Understood, Promise, Ok(Understood)),
            (Understood, Replacement, Ok(Understood)),
            (
                SolutionProposed,
                Acknowledge,
                Err("the customer has already been thanked"),
            ),
            (
                SolutionProposed,
                Record,
                Err("the complaint is already recorded"),
            ),
            (
                SolutionProposed,
                Diagnose,
                Err("a solution is already proposed"),
            ),
            (
                SolutionProposed,
                Propose,
                Err("a proposal is already waiting"),
            ),
            (SolutionProposed, CustomerResponse, Ok(SolutionProposed)),
            (SolutionProposed, Escalate, Ok(Escalated)),
            (
                SolutionProposed,
                Resolve,
                Err("the customer must accept the proposal"),
            ),
            (SolutionProposed, Close, Err("resolve the ticket")),
            (SolutionProposed, Reopen, Err("only a resolved")),
            (SolutionProposed, Promise, Ok(SolutionProposed)),
            (SolutionProposed, Replacement, Ok(SolutionProposed)),
            (
                Escalated,
                Acknowledge,
                Err("the customer has already been thanked"),
            ),
            (Escalated, Record, Err("the complaint is already recorded")),
            (Escalated, Diagnose, Ok(Understood)),
            (Escalated, Propose, Err("write down the root cause")),
            (
                Escalated,
                CustomerResponse,
                Err("write down the root cause"),
            ),
            (Escalated, Escalate, Ok(Escalated)),
            (Escalated, Resolve, Err("write down the root cause")),
            (Escalated, Close, Err("resolve the ticket")),
            (Escalated, Reopen, Err("only a resolved")),
            (Escalated, Promise, Ok(Escalated)),
            (Escalated, Replacement, Ok(Escalated)),
            (
                Resolved,
                Acknowledge,
                Err("the ticket is resolved; reopen it first"),
            ),
            (Resolved, Record, Err("the ticket is resolved")),
            (Resolved, Diagnose, Err("the ticket is resolved")),
            (Resolved, Propose, Err("the ticket is resolved")),
            (Resolved, CustomerResponse, Err("the ticket is resolved")),
            (Resolved, Escalate, Err("the ticket is resolved")),
            (Resolved, Resolve, Err("the ticket is resolved")),
            (Resolved, Close, Ok(Closed)),
            (Resolved, Reopen, Ok(Acknowledged)),
            (Resolved, Promise, Err("the ticket is resolved")),
            (Resolved, Replacement, Err("the ticket is resolved")),
            (
                Closed,
                Acknowledge,
                Err("the ticket is closed; reopen it first"),
            ),
            (Closed, Record, Err("the ticket is closed")),
            (Closed, Diagnose, Err("the ticket is closed")),
            (Closed, Propose, Err("the ticket is closed")),
            (Closed, CustomerResponse, Err("the ticket is closed")),
            (Closed, Escalate, Err("the ticket is closed")),
            (Closed, Resolve, Err("the ticket is closed")),
            (Closed, Close, Err("the ticket is already closed")),
            (Closed, Reopen, Ok(Acknowledged)),
            (Closed, Promise, Err("the ticket is closed")),
            (Closed, Replacement, Err("the ticket is closed")),
        ];
        assert_eq!(
            expect.len(),
            Stage::ALL.len() * Action::ALL.len(),
            "every stage × action is listed"
        );
        for (stage, action, expected) in expect {
            let got = decide(&facts(Kind::Complaint, *stage), *action, Some(true));
            match (expected, got) {
                (Ok(want), Ok(outcome)) => assert_eq!(outcome.stage, *want, "{stage} {action}"),
                (Err(want), Err(Refusal(message))) => {
                    assert!(
                        message.starts_with(want),
                        "{stage} {action}: '{message}' should start with '{want}'"
                    )
                }
                (want, got) => panic!("{stage} {action}: expected {want:?}, got {got:?}"),
            }
        }
    }

    #[test]
    fn a_rejected_proposal_goes_back_to_understood() {
        let f = facts(Kind::Complaint, Stage::SolutionProposed);
        assert_eq!(
            decide(&f, Action::CustomerResponse, Some(false))
                .unwrap()
                .stage,
            Stage::Understood
        );
        let answered = TicketFacts {
            proposal: Some(ProposalState::Accepted),
            ..f
        };
        assert!(decide(&answered, Action::CustomerResponse, Some(true)).is_err());
    }

    #[test]
    fn an_accepted_replacement_waits_for_delivery() {
        let accepted = TicketFacts {
            proposal: Some(ProposalState::Accepted),
            solution_type: Some(SolutionType::Replacement),
            ..facts(Kind::Complaint, Stage::SolutionProposed)
        };
        assert_eq!(
            decide(&accepted, Action::Resolve, None).unwrap_err().0,
            "record the replacement before resolving"
        );
        let shipping = TicketFacts {
            replacements: 1,
            open_replacements: 1,
            ..accepted.clone()
        };
        assert!(decide(&shipping, Action::Resolve, None)
            .unwrap_err()
            .0
            .contains("delivered or cancelled"));
        let delivered = TicketFacts {
            replacements: 1,
            open_replacements: 0,
            ..accepted
        };
        assert_eq!(
            decide(&delivered, Action::Resolve, None).unwrap().stage,
            Stage::Resolved
        );
    }

    #[test]
    fn feedback_takes_the_short_path() {
        let new = facts(Kind::Feedback, Stage::New);
        assert_eq!(
            decide(&new, Action::Acknowledge, None).unwrap().stage,
            Stage::Acknowledged
        );
        assert!(decide(&new, Action::Resolve, None).is_err());
        let thanked = facts(Kind::Feedback, Stage::Acknowledged);
        assert_eq!(
            decide(&thanked, Action::Resolve, None).unwrap().stage,
            Stage::Resolved
        );
        for action in [Action::Record, Action::Diagnose, Action::Propose] {
            assert!(decide(&thanked, action, None).is_err(), "{action}");
        }
    }

    #[test]
    fn escalation_remembers_where_to_continue() {
        let understood = facts(Kind::Complaint, Stage::Understood);
        let outcome = decide(&understood, Action::Escalate, None).unwrap();
        assert_eq!(
            outcome,
            Outcome {
                stage: Stage::Escalated,
                escalated_from: Some(Stage::Understood)
            }
        );
        let escalated = TicketFacts {
            stage: Stage::Escalated,
            escalated_from: Some(Stage::Understood),
            ..understood
        };
        assert_eq!(
            decide(&escalated, Action::Propose, None).unwrap().stage,
            Stage::SolutionProposed
        );
    }
}
