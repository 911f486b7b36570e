//! Ticket operations: intake, the playbook actions, promises, replacements, replies and notes.
//! Each runs in one transaction: load, check access and version, ask `domain::playbook`,
//! write the ticket with its version moved on, append the timeline events.

use chrono::{DateTime, NaiveDateTime, Utc};
use serde_json::json;

use super::customers::{find_or_create, CustomerInput};
use crate::config::Locale;
use crate::db::customers::{self as customer_db, Customer};
use crate::db::events::{self, Event, NewEvent};
use crate::db::promises::{self, Promise};
use crate::db::replacements::{self, NewReplacement, Replacement, ReplacementChanges};
use crate::db::tickets::{self, NewTicket, Ticket, TicketChanges};
use crate::db::users::{self, User};
use crate::db::{self, app_settings, search, DbConnection};
use crate::desk::targets;
use crate::domain::access::{may_act, may_assign, Access};
use crate::domain::contact::{optional_text, required_text};
use crate::domain::playbook::{decide, Action, Outcome, ProposalState, Stage, TicketFacts};
use crate::domain::replacement::{check_transition, ReplacementStatus, DEFAULT_APPROVAL_THRESHOLD};
use crate::domain::ticket_number;
use crate::domain::user::Role;
use crate::domain::vocab::{Category, Channel, Kind, Priority, SolutionType};
use crate::error::{AppError, FieldErrors};
use crate::mail::{Mailroom, Recipient};

pub const SETTING_AUTO_ASSIGN: &str = "auto_assign";
pub const SETTING_APPROVAL_THRESHOLD: &str = "replacement_approval_threshold";

const SHORT: usize = 200;
const LONG: usize = 10_000;

fn stale() -> AppError {
    AppError::conflict(
        "stale",
        "someone else changed this ticket first; reload it and try again",
    )
}

fn refused(refusal: crate::domain::playbook::Refusal) -> AppError {
    AppError::conflict("invalid_transition", refusal.0)
}

fn parse_into<T>(
    fields: &mut FieldErrors,
    field: &str,
    raw: Option<&str>,
    parse: fn(&str) -> Result<T, String>,
) -> Option<T> {
    raw.and_then(|raw| {
        parse(raw)
            .map_err(|m| fields.insert(field.to_owned(), m))
            .ok()
    })
}

fn text_field(fields: &mut FieldErrors, field: &str, raw: &str, max: usize) -> String {
    required_text(raw, max).unwrap_or_else(|m| {
        fields.insert(field.to_owned(), m);
        String::new()
    })
}

fn optional_field(
    fields: &mut FieldErrors,
    field: &str,
    raw: Option<&str>,
    max: usize,
) -> Option<String> {
    optional_text(raw, max).unwrap_or_else(|m| {
        fields.insert(field.to_owned(), m);
        None
    })
}

fn event(
    ticket_id: i64,
    actor: Option<i64>,
    kind: &str,
    visibility: &str,
    body: Option<String>,
    data: serde_json::Value,
) -> NewEvent {
    NewEvent {
        ticket_id,
        actor_id: actor,
        kind: kind.to_owned(),
        visibility: visibility.to_owned(),
        body,
        data: (!data.is_null()).then(|| data.to_string()),
        created_at: db::now(),
    }
}

/// The searchable text of a ticket: its number, subject, the customer's words, the customer's
/// name, product and order reference.
pub(crate) fn search_document(ticket: &Ticket, customer_name: &str) -> String {
    [
        Some(ticket_number(ticket.id)),
        Some(ticket.subject.clone()),
        Some(ticket.customer_words.clone()),
        Some(customer_name.to_owned()),
        ticket.product.clone(),
        ticket.order_ref.clone(),
        ticket.details.clone(),
    ]
    .into_iter()
    .flatten()
    .collect::<Vec<_>>()
    .join("\n")
}

fn reindex(conn: &mut DbConnection, ticket: &Ticket) -> Result<(), AppError> {
    let name = customer_db::find(conn, ticket.customer_id)?
        .map(|c| c.name)
        .unwrap_or_default();
    search::index(conn, ticket.id, &search_document(ticket, &name))?;
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Intake

#[derive(Debug, Clone, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTicketInput {
    /// complaint (default), feedback or question
    #[schema(value_type = Option<crate::domain::vocab::Kind>)]
    pub kind: Option<String>,
    #[schema(value_type = crate::domain::vocab::Channel)]
    pub channel: String,
    /// An existing customer …
    pub customer_id: Option<i64>,
    /// … or one to find by contact details, or create.
    pub customer: Option<CustomerInput>,
    pub partner_id: Option<i64>,
    pub subject: String,
    /// The customer's own words, pasted as they wrote them.
    #[serde(alias = "customer_words", alias = "message")]
    pub words: String,
    pub product: Option<String>,
    pub order_ref: Option<String>,
    #[schema(value_type = Option<crate::domain::vocab::Category>)]
    pub category: Option<String>,
    /// low, normal (default), high or urgent
    #[schema(value_type = Option<crate::domain::vocab::Priority>)]
    pub priority: Option<String>,
}

pub fn create(
    conn: &mut DbConnection,
    mail: &Mailroom,
    actor: &User,
    input: &NewTicketInput,
) -> Result<TicketDetail, AppError> {
    create_as(conn, mail, Some(actor), input)
}

/// Intake by a signed-in user, or (`None`) by the public feedback form: then the ticket waits
/// unassigned, or goes to the least busy agent when automatic assignment is on.
///
/// Returns the new ticket's detail as written, so the caller answers without reading it back
/// (a new ticket has no promises, replacements or attachments yet).
pub fn create_as(
    conn: &mut DbConnection,
    mail: &Mailroom,
    actor: Option<&User>,
    input: &NewTicketInput,
) -> Result<TicketDetail, AppError> {
    let default_locale = mail.settings.locale;
    let mut fields = FieldErrors::new();
    let kind = parse_into(&mut fields, "kind", input.kind.as_deref(), Kind::parse)
        .unwrap_or(Kind::Complaint);
    let channel = parse_into(&mut fields, "channel", Some(&input.channel), Channel::parse);
    let category = parse_into(
        &mut fields,
        "category",
        input.category.as_deref(),
        Category::parse,
    );
    let priority = parse_into(
        &mut fields,
        "priority",
        input.priority.as_deref(),
        Priority::parse,
    )
    .unwrap_or(Priority::Normal);
    let subject = text_field(&mut fields, "subject", &input.subject, SHORT);
    let words = text_field(&mut fields, "words", &input.words, LONG);
    let product = optional_field(&mut fields, "product", input.product.as_deref(), SHORT);
    let order_ref = optional_field(&mut fields, "order_ref", input.order_ref.as_deref(), 100);
    if input.customer_id.is_none() && input.customer.is_none() {
        fields.insert(
            "customer".into(),
            "give customer_id or an inline customer".into(),
        );
    }
    if input.customer_id.is_some() && input.customer.is_some() {
        fields.insert(
            "customer".into(),
            "give customer_id or an inline customer, not both".into(),
        );
    }
    AppError::check(fields)?;
    let channel = channel.ok_or_else(|| AppError::invalid("channel", "is required"))?;

    // Read the settings before taking the write lock: SQLite has one writer at a time, so
    // everything done inside the transaction is time every other intake waits.
    let targets::Rules {
        calendar,
        policy,
        auto_assign,
    } = targets::rules(conn, mail.settings.timezone, priority.as_str())?;
    crate::db::write(conn, |conn| {
        let customer = match (&input.customer_id, &input.customer) {
            (Some(id), _) => customer_db::find(conn, *id)?
                .ok_or_else(|| AppError::invalid("customer_id", "no customer has this id"))?,
            (None, Some(inline)) => find_or_create(conn, inline, default_locale, "customer.")?.0,
            (None, None) => return Err(AppError::invalid("customer", "is required")),
        };
        if let Some(partner_id) = input.partner_id {
            if customer_db::find_partner(conn, partner_id)?.is_none() {
                return Err(AppError::invalid("partner_id", "no partner has this id"));
            }
        }
        let assignee = if auto_assign {
            least_busy_agent(conn)?.or(actor.map(|a| a.id))
        } else {
            actor.map(|a| a.id)
        };
        let now = db::now();
        let (first_response_due, resolution_due) = targets::due_times(&calendar, &policy, now, 0);
        let ticket = tickets::insert(
            conn,
            &NewTicket {
                kind: kind.as_str(),
                channel: channel.as_str(),
                customer_id: customer.id,
                partner_id: input.partner_id,
                subject: &subject,
                customer_words: &words,
                product: product.as_deref(),
                order_ref: order_ref.as_deref(),
                category: category.map(Category::as_str),
                priority: priority.as_str(),
                stage: Stage::New.as_str(),
                assignee_id: assignee,
                created_by: actor.map(|a| a.id),
                awaiting_customer: false,
                version: 1,
                created_at: now,
                updated_at: now,
                first_response_due_at: Some(first_response_due),
                resolution_due_at: Some(resolution_due),
            },
        )?;
        events::append(
            conn,
            &event(
                ticket.id,
                actor.map(|a| a.id),
                "created",
                "public",
                Some(words.clone()),
                json!({ "channel": channel, "assignee_id": assignee }),
            ),
        )?;
        search::index_new(
            conn,
            &[(ticket.id, search_document(&ticket, &customer.name))],
        )?;
        Ok(TicketDetail {
            facts: facts_of(&ticket, &[]),
            ticket,
            customer,
            promises: Vec::new(),
            replacements: Vec::new(),
            attachments: Vec::new(),
        })
    })
}

/// The active, present agent with the fewest open tickets; ties go to the one who has waited
/// longest (lowest id), which makes a round robin among equals.
fn least_busy_agent(conn: &mut DbConnection) -> Result<Option<i64>, AppError> {
    let agents: Vec<i64> = users::list(conn)?
        .into_iter()
        .filter(|u| u.active && !u.away && u.role() == Role::Agent)
        .map(|u| u.id)
        .collect();
    let counts = tickets::open_counts(conn, &agents)?;
    let load = |id: i64| counts.iter().find(|(a, _)| *a == id).map_or(0, |(_, n)| *n);
    Ok(agents.into_iter().min_by_key(|id| (load(*id), *id)))
}

// ---------------------------------------------------------------------------------------
// The detail view

/// A ticket with everything a page or client shows beside it.
pub struct TicketDetail {
    pub ticket: Ticket,
    pub customer: Customer,
    pub promises: Vec<Promise>,
    pub replacements: Vec<Replacement>,
    pub attachments: Vec<crate::db::attachments::Attachment>,
    pub facts: TicketFacts,
}

pub fn load(conn: &mut DbConnection, id: i64) -> Result<Ticket, AppError> {
    tickets::find(conn, id)?.ok_or_else(|| AppError::not_found("ticket"))
}

pub fn detail(conn: &mut DbConnection, id: i64) -> Result<TicketDetail, AppError> {
    let ticket = load(conn, id)?;
    let customer = customer_db::find(conn, ticket.customer_id)?
        .ok_or_else(|| AppError::not_found("customer"))?;
    let promises = promises::for_ticket(conn, id)?;
    let replacements = replacements::for_ticket(conn, id)?;
    let facts = facts_of(&ticket, &replacements);
    let attachments = crate::db::attachments::for_ticket(conn, id)?;
    Ok(TicketDetail {
        ticket,
        customer,
        promises,
        replacements,
        attachments,
        facts,
    })
}

pub fn facts_of(ticket: &Ticket, replacements: &[Replacement]) -> TicketFacts {
    let open = replacements
        .iter()
        .filter(|r| {
            ReplacementStatus::parse(&r.status)
                .map(ReplacementStatus::is_open)
                .unwrap_or(true)
        })
        .count();
    TicketFacts {
        kind: Kind::parse(&ticket.kind).unwrap_or(Kind::Complaint),
        stage: Stage::parse(&ticket.stage).unwrap_or(Stage::New),
        escalated_from: ticket
            .escalated_from
            .as_deref()
            .and_then(|s| Stage::parse(s).ok()),
        proposal: ticket
            .proposal_state
            .as_deref()
            .and_then(|s| ProposalState::parse(s).ok()),
        solution_type: ticket
            .solution_type
            .as_deref()
            .and_then(|s| SolutionType::parse(s).ok()),
        open_replacements: open,
        replacements: replacements.len(),
    }
}

// ---------------------------------------------------------------------------------------
// Playbook actions

/// The input of a playbook action — also its JSON body in the API: every field any action
/// takes; each action reads its own (see the route's description).
#[derive(Debug, Clone, Default, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ActionInput {
    /// The ticket version you saw (required by the API).
    pub version: Option<i32>,
    /// acknowledge: the thank-you sent to the customer.
    pub message: Option<String>,
    /// record
    #[schema(value_type = Option<crate::domain::vocab::Category>)]
    pub category: Option<String>,
    /// record: the complaint in full.
    pub details: Option<String>,
    pub product: Option<String>,
    pub order_ref: Option<String>,
    /// diagnose
    pub root_cause: Option<String>,
    /// propose: refund, replacement, repair, voucher, explanation or other.
    #[schema(value_type = Option<crate::domain::vocab::SolutionType>)]
    pub solution_type: Option<String>,
    pub solution: Option<String>,
    /// customer-response
    pub accepted: Option<bool>,
    pub comment: Option<String>,
    /// escalate: a manager or admin.
    pub to_user_id: Option<i64>,
    /// escalate, reopen
    pub reason: Option<String>,
    /// resolve
    pub summary: Option<String>,
    /// acknowledge, propose, promise, resolve: email the customer about this step (default
    /// true; only when they have an email address and did not opt out).
    pub notify_customer: Option<bool>,
}

/// Emails the customer about a step, in their language, in the caller's transaction — when
/// the agent wants it, the customer has an address, and did not opt out.
#[allow(clippy::too_many_arguments)]
fn notify_customer(
    conn: &mut DbConnection,
    mail: &Mailroom,
    ticket: &Ticket,
    actor: &User,
    wanted: Option<bool>,
    key: String,
    kind: &str,
    extra: serde_json::Value,
) -> Result<(), AppError> {
    if wanted == Some(false) {
        return Ok(());
    }
    let Some(customer) = customer_db::find(conn, ticket.customer_id)? else {
        return Ok(());
    };
    let Some(address) = customer.email.clone().filter(|_| !customer.email_opt_out) else {
        return Ok(());
    };
    let to = Recipient {
        address,
        name: Some(customer.name.clone()),
        locale: Locale::parse(&customer.locale).unwrap_or(mail.settings.locale),
    };
    let mut data = json!({
        "customer": { "name": customer.name },
        "ticket": { "number": ticket_number(ticket.id), "subject": ticket.subject },
                "agent": { "name": actor.name },
        "link": mail.customer_link(ticket.id),
    });
    if let (Some(base), Some(extra)) = (data.as_object_mut(), extra.as_object()) {
        for (k, v) in extra {
            base.insert(k.clone(), v.clone());
        }
    }
    if mail.enqueue(conn, &key, kind, &to, Some(ticket.id), data)? {
        events::append(
            conn,
            &event(
                ticket.id,
                Some(actor.id),
                "customer_emailed",
                "system",
                None,
                json!({ "kind": kind, "to": to.address }),
            ),
        )?;
    }
    Ok(())
}

/// Runs one action in a transaction: access, version, the playbook's decision, then `apply`
/// fills in the action's own changes and events. The actor may be the customer (`None`),
/// answering through their signed link: the link is their access, and nothing is taken or
/// assigned.
fn run_as<F>(
    conn: &mut DbConnection,
    actor: Option<&User>,
    ticket_id: i64,
    version: Option<i32>,
    action: Action,
    accepted: Option<bool>,
    apply: F,
) -> Result<Ticket, AppError>
where
    F: FnOnce(
            &mut DbConnection,
            &Ticket,
            Outcome,
            &mut TicketChanges,
            &mut Vec<NewEvent>,
        ) -> Result<(), AppError>
        + Send,
{
    crate::db::write(conn, |conn| {
        let ticket = load(conn, ticket_id)?;
        let access = match actor {
            Some(actor) => {
                may_act(actor.id, actor.role(), ticket.assignee_id).map_err(AppError::Forbidden)?
            }
            None => Access::Allowed,
        };
        if version.is_some_and(|v| v != ticket.version) {
            return Err(stale());
        }
        let facts = facts_of(&ticket, &replacements::for_ticket(conn, ticket.id)?);
        let outcome = decide(&facts, action, accepted).map_err(refused)?;
        let mut changes = TicketChanges::default();
        let mut new_events = Vec::new();
        if outcome.stage != facts.stage {
            changes.stage = Some(outcome.stage.as_str().to_owned());
            changes.escalated_from = Some(outcome.escalated_from.map(|s| s.as_str().to_owned()));
        }
        if let (Access::AllowedAndTaken, Some(actor)) = (access, actor) {
            changes.assignee_id = Some(Some(actor.id));
        }
        apply(conn, &ticket, outcome, &mut changes, &mut new_events)?;
        let updated =
            tickets::update_versioned(conn, ticket.id, ticket.version, &changes, db::now())?
                .ok_or_else(stale)?;
        for mut e in new_events {
            if outcome.stage != facts.stage {
                let mut data: serde_json::Value = e
                    .data
                    .as_deref()
                    .and_then(|d| serde_json::from_str(d).ok())
                    .unwrap_or(json!({}));
                data["stage"] = json!({ "before": facts.stage, "after": outcome.stage });
                e.data = Some(data.to_string());
            }
            events::append(conn, &e)?;
        }
        Ok(updated)
    })
}

pub fn act(
    conn: &mut DbConnection,
    mail: &Mailroom,
    actor: &User,
    ticket_id: i64,
    action: Action,
    input: &ActionInput,
) -> Result<Ticket, AppError> {
    let notify = input.notify_customer;
    let mut fields = FieldErrors::new();
    // Every action refuses a word outside a vocabulary, even in a field it does not read: the
    // API document lists the allowed words for all of them. Parsed once; the actions that
    // need one (record, propose) refuse its absence below.
    let category = parse_into(
        &mut fields,
        "category",
        input.category.as_deref(),
        Category::parse,
    );
    let solution_type = parse_into(
        &mut fields,
        "solution_type",
        input.solution_type.as_deref(),
        SolutionType::parse,
    );
    AppError::check(std::mem::take(&mut fields))?;
    let who = Some(actor.id);
    let now = db::now();
    match action {
        Action::Acknowledge => {
            let message = text_field(
                &mut fields,
                "message",
                input.message.as_deref().unwrap_or(""),
                LONG,
            );
            AppError::check(fields)?;
            run_as(
                conn,
                Some(actor),
                ticket_id,
                input.version,
                action,
                None,
                |conn, t, _, changes, events| {
                    changes.acknowledged_at = Some(Some(now));
                    notify_customer(
                        conn,
                        mail,
                        t,
                        actor,
                        notify,
                        format!("customer:acknowledged:ticket:{}", t.id),
                        "customer_acknowledged",
                        json!({ "message": message }),
                    )?;
                    events.push(event(
                        t.id,
                        who,
                        "acknowledged",
                        "public",
                        Some(message),
                        json!(null),
                    ));
                    Ok(())
                },
            )
        }
        Action::Record => {
            // Absent: the same "'' is not one of …" answer as an empty word.
            let category =
                category.or_else(|| parse_into(&mut fields, "category", Some(""), Category::parse));
            let details = text_field(
                &mut fields,
                "details",
                input.details.as_deref().unwrap_or(""),
                LONG,
            );
            let product = optional_field(&mut fields, "product", input.product.as_deref(), SHORT);
            let order_ref =
                optional_field(&mut fields, "order_ref", input.order_ref.as_deref(), 100);
            AppError::check(fields)?;
            // The search index changes with the ticket, in the same transaction.
            let ticket = crate::db::write(conn, |conn| -> Result<Ticket, AppError> {
                let ticket = run_as(
                    conn,
                    Some(actor),
                    ticket_id,
                    input.version,
                    action,
                    None,
                    |_, t, _, changes, events| {
                        changes.category = Some(category.map(|c| c.as_str().to_owned()));
                        changes.details = Some(Some(details.clone()));
                        if product.is_some() {
                            changes.product = Some(product.clone());
                        }
                        if order_ref.is_some() {
                            changes.order_ref = Some(order_ref.clone());
                        }
                        let data = json!({ "category": category, "product": product, "order_ref": order_ref });
                        events.push(event(
                            t.id,
                            who,
                            "recorded",
                            "internal",
                            Some(details),
                            data,
                        ));
                        Ok(())
                    },
                )?;
                reindex(conn, &ticket)?;
                Ok(ticket)
            })?;
            Ok(ticket)
        }
        Action::Diagnose => {
            let root_cause = text_field(
                &mut fields,
                "root_cause",
                input.root_cause.as_deref().unwrap_or(""),
                LONG,
            );
            AppError::check(fields)?;
            run_as(
                conn,
                Some(actor),
                ticket_id,
                input.version,
                action,
                None,
                |_, t, _, changes, events| {
                    let before = t.root_cause.clone();
                    changes.root_cause = Some(Some(root_cause.clone()));
                    events.push(event(
                        t.id,
                        who,
                        "diagnosed",
                        "internal",
                        Some(root_cause),
                        json!({ "root_cause": { "before": before } }),
                    ));
                    Ok(())
                },
            )
        }
        Action::Propose => {
            let solution_type = solution_type.or_else(|| {
                parse_into(&mut fields, "solution_type", Some(""), SolutionType::parse)
            });
            let solution = text_field(
                &mut fields,
                "solution",
                input.solution.as_deref().unwrap_or(""),
                LONG,
            );
            AppError::check(fields)?;
            run_as(
                conn,
                Some(actor),
                ticket_id,
                input.version,
                action,
                None,
                |conn, t, _, changes, events| {
                    targets::pause(changes, now);
                    let key = format!("customer:proposal:ticket:{}:v{}", t.id, t.version);
                    notify_customer(
                        conn,
                        mail,
                        t,
                        actor,
                        notify,
                        key,
                        "customer_proposal",
                        json!({ "solution": { "text": solution } }),
                    )?;
                    changes.solution_type = Some(solution_type.map(|s| s.as_str().to_owned()));
                    changes.solution = Some(Some(solution.clone()));
                    changes.proposal_state = Some(Some(ProposalState::Pending.as_str().to_owned()));
                    changes.customer_comment = Some(None);
                    // The clock is the customer's now: the ticket waits for their answer.
                    changes.awaiting_customer = Some(true);
                    events.push(event(
                        t.id,
                        who,
                        "proposed",
                        "public",
                        Some(solution),
                        json!({ "solution_type": solution_type }),
                    ));
                    Ok(())
                },
            )
        }
        Action::CustomerResponse => {
            let Some(accepted) = input.accepted else {
                return Err(AppError::invalid(
                    "accepted",
                    "say whether the customer accepted (true or false)",
                ));
            };
            let comment = optional_field(&mut fields, "comment", input.comment.as_deref(), LONG);
            AppError::check(fields)?;
            run_as(
                conn,
                Some(actor),
                ticket_id,
                input.version,
                action,
                Some(accepted),
                |conn, t, _, changes, events| {
                    let answer = Answer {
                        accepted,
                        comment: comment.clone(),
                        by: who,
                        data: json!({ "accepted": accepted }),
                    };
                    record_answer(conn, mail, t, changes, events, answer, now)
                },
            )
        }
        Action::Escalate => {
            let reason = text_field(
                &mut fields,
                "reason",
                input.reason.as_deref().unwrap_or(""),
                LONG,
            );
            if input.to_user_id.is_none() {
                fields.insert(
                    "to_user_id".into(),
                    "name the manager or admin to hand the ticket to".into(),
                );
            }
            AppError::check(fields)?;
            let to = input.to_user_id.unwrap_or_default();
            run_as(
                conn,
                Some(actor),
                ticket_id,
                input.version,
                action,
                None,
                |conn, t, _, changes, events| {
                    let target = users::find(conn, to)?
                        .ok_or_else(|| AppError::invalid("to_user_id", "no user has this id"))?;
                    if !target.active || !target.role().is_senior() {
                        return Err(AppError::invalid(
                            "to_user_id",
                            "must be an active manager or admin",
                        ));
                    }
                    changes.escalated_to = Some(Some(target.id));
                    changes.escalation_reason = Some(Some(reason.clone()));
                    changes.assignee_id = Some(Some(target.id));
                    let data = json!({ "to_user_id": target.id, "assignee_id": { "before": t.assignee_id, "after": target.id } });
                    events.push(event(
                        t.id,
                        who,
                        "escalated",
                        "internal",
                        Some(reason),
                        data,
                    ));
                    Ok(())
                },
            )
        }
        Action::Resolve => {
            let summary = text_field(
                &mut fields,
                "summary",
                input.summary.as_deref().unwrap_or(""),
                LONG,
            );
            AppError::check(fields)?;
            run_as(
                conn,
                Some(actor),
                ticket_id,
                input.version,
                action,
                None,
                |conn, t, _, changes, events| {
                    // Resolving keeps every open promise: the customer got the answer promised.
                    for promise in promises::open_for_ticket(conn, t.id)? {
                        promises::close(
                            conn,
                            promise.id,
                            "kept",
                            Some("kept by resolving the ticket"),
                            None,
                            now,
                        )?;
                    }
                    let key = format!("customer:resolved:ticket:{}:v{}", t.id, t.version);
                    notify_customer(
                        conn,
                        mail,
                        t,
                        actor,
                        notify,
                        key,
                        "customer_resolved",
                        json!({ "summary": summary }),
                    )?;
                    changes.resolution_summary = Some(Some(summary.clone()));
                    changes.resolved_at = Some(Some(now));
                    changes.clock_paused_at = Some(None);
                    changes.awaiting_customer = Some(false);
                    changes.next_promise_due_at = Some(None);
                    events.push(event(
                        t.id,
                        who,
                        "resolved",
                        "public",
                        Some(summary),
                        json!(null),
                    ));
                    Ok(())
                },
            )
        }
        Action::Close => run_as(
            conn,
            Some(actor),
            ticket_id,
            input.version,
            action,
            None,
            |_, t, _, changes, events| {
                changes.closed_at = Some(Some(now));
                events.push(event(t.id, who, "closed", "system", None, json!(null)));
                Ok(())
            },
        ),
        Action::Reopen => {
            let reason = text_field(
                &mut fields,
                "reason",
                input.reason.as_deref().unwrap_or(""),
                LONG,
            );
            AppError::check(fields)?;
            run_as(
                conn,
                Some(actor),
                ticket_id,
                input.version,
                action,
                None,
                |_, t, _, changes, events| {
                    changes.resolved_at = Some(None);
                    changes.closed_at = Some(None);
                    changes.proposal_state = Some(None);
                    changes.awaiting_customer = Some(false);
                    events.push(event(
                        t.id,
                        who,
                        "reopened",
                        "internal",
                        Some(reason),
                        json!(null),
                    ));
                    Ok(())
                },
            )
        }
        Action::Promise | Action::Replacement => Err(AppError::Internal(anyhow::anyhow!(
            "{action} has its own operation"
        ))),
    }
}

// ---------------------------------------------------------------------------------------
// Editing, assignment, replies and notes

#[derive(Debug, Clone, Default, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TicketPatch {
    pub version: i32,
    #[schema(value_type = Option<crate::domain::vocab::Priority>)]
    pub priority: Option<String>,
    pub subject: Option<String>,
    #[schema(value_type = Option<crate::domain::vocab::Category>)]
    pub category: Option<String>,
    pub product: Option<String>,
    pub order_ref: Option<String>,
    pub partner_id: Option<i64>,
}

pub fn patch(
    conn: &mut DbConnection,
    mail: &Mailroom,
    actor: &User,
    ticket_id: i64,
    input: &TicketPatch,
) -> Result<Ticket, AppError> {
    let mut fields = FieldErrors::new();
    let priority = parse_into(
        &mut fields,
        "priority",
        input.priority.as_deref(),
        Priority::parse,
    );
    let category = parse_into(
        &mut fields,
        "category",
        input.category.as_deref(),
        Category::parse,
    );
    let subject = input
        .subject
        .as_deref()
        .map(|s| text_field(&mut fields, "subject", s, SHORT));
    let product = input
        .product
        .as_deref()
        .map(|s| optional_field(&mut fields, "product", Some(s), SHORT));
    let order_ref = input
        .order_ref
        .as_deref()
        .map(|s| optional_field(&mut fields, "order_ref", Some(s), 100));
    AppError::check(fields)?;
    let ticket = crate::db::write(conn, |conn| {
        let ticket = load(conn, ticket_id)?;
        may_act(actor.id, actor.role(), ticket.assignee_id).map_err(AppError::Forbidden)?;
        if input.version != ticket.version {
            return Err(stale());
        }
        if let Some(partner_id) = input.partner_id {
            if customer_db::find_partner(conn, partner_id)?.is_none() {
                return Err(AppError::invalid("partner_id", "no partner has this id"));
            }
        }
        let mut changes = TicketChanges {
            priority: priority.map(|p| p.as_str().to_owned()),
            category: category.map(|c| Some(c.as_str().to_owned())),
            subject: subject.clone(),
            product: product.clone(),
            order_ref: order_ref.clone(),
            partner_id: input.partner_id.map(Some),
            ..Default::default()
        };
        // A new priority means new targets, computed from when the ticket came in.
        if let Some(p) = priority.filter(|p| p.as_str() != ticket.priority) {
            targets::recompute(
                conn,
                mail.settings.timezone,
                &ticket,
                p.as_str(),
                &mut changes,
            )?;
        }
        let before = json!({
            "priority": ticket.priority, "subject": ticket.subject, "category": ticket.category,
            "product": ticket.product, "order_ref": ticket.order_ref, "partner_id": ticket.partner_id,
        });
        let updated =
            tickets::update_versioned(conn, ticket.id, ticket.version, &changes, db::now())?
                .ok_or_else(stale)?;
        let after = json!({
            "priority": updated.priority, "subject": updated.subject, "category": updated.category,
            "product": updated.product, "order_ref": updated.order_ref, "partner_id": updated.partner_id,
        });
        events::append(
            conn,
            &event(
                ticket.id,
                Some(actor.id),
                "updated",
                "internal",
                None,
                json!({ "before": before, "after": after }),
            ),
        )?;
        // The search index changes with the ticket, in the same transaction.
        reindex(conn, &updated)?;
        Ok::<_, AppError>(updated)
    })?;
    Ok(ticket)
}

pub fn assign(
    conn: &mut DbConnection,
    actor: &User,
    ticket_id: i64,
    version: Option<i32>,
    target: Option<i64>,
) -> Result<Ticket, AppError> {
    crate::db::write(conn, |conn| {
        let ticket = load(conn, ticket_id)?;
        may_assign(actor.id, actor.role(), ticket.assignee_id, target)
            .map_err(AppError::Forbidden)?;
        if version.is_some_and(|v| v != ticket.version) {
            return Err(stale());
        }
        if let Some(id) = target {
            match users::find(conn, id)? {
                Some(u) if u.active => {}
                Some(_) => return Err(AppError::invalid("user_id", "this user is deactivated")),
                None => return Err(AppError::invalid("user_id", "no user has this id")),
            }
        }
        let changes = TicketChanges {
            assignee_id: Some(target),
            ..Default::default()
        };
        let updated =
            tickets::update_versioned(conn, ticket.id, ticket.version, &changes, db::now())?
                .ok_or_else(stale)?;
        let data = json!({ "assignee_id": { "before": ticket.assignee_id, "after": target } });
        events::append(
            conn,
            &event(
                ticket.id,
                Some(actor.id),
                "assigned",
                "internal",
                None,
                data,
            ),
        )?;
        Ok(updated)
    })
}

/// A public reply to the customer (`internal: false`) or an internal note (`internal: true`).
/// Replies count as acting on the ticket (an agent replying to an unassigned ticket takes it);
/// notes are for collaboration and anyone may add one.
pub fn add_message(
    conn: &mut DbConnection,
    actor: &User,
    ticket_id: i64,
    version: Option<i32>,
    body: &str,
    internal: bool,
) -> Result<Event, AppError> {
    let body = required_text(body, LONG).map_err(|m| AppError::invalid("body", m))?;
    crate::db::write(conn, |conn| {
        let ticket = load(conn, ticket_id)?;
        // Who may reply is settled first, as for every other action on a ticket: someone
        // refused hears 403 whatever the version or stage.
        let access = if internal {
            None
        } else {
            Some(may_act(actor.id, actor.role(), ticket.assignee_id).map_err(AppError::Forbidden)?)
        };
        if version.is_some_and(|v| v != ticket.version) {
            return Err(stale());
        }
        if !internal {
            if ticket.stage == Stage::Closed.as_str() {
                return Err(AppError::conflict(
                    "invalid_transition",
                    "the ticket is closed; reopen it before replying",
                ));
            }
            if access == Some(Access::AllowedAndTaken) {
                let changes = TicketChanges {
                    assignee_id: Some(Some(actor.id)),
                    ..Default::default()
                };
                tickets::update_versioned(conn, ticket.id, ticket.version, &changes, db::now())?
                    .ok_or_else(stale)?;
            }
        }
        let (kind, visibility) = if internal {
            ("note", "internal")
        } else {
            ("reply", "public")
        };
        Ok(events::append(
            conn,
            &event(
                ticket.id,
                Some(actor.id),
                kind,
                visibility,
                Some(body),
                json!(null),
            ),
        )?)
    })
}

// ---------------------------------------------------------------------------------------
// Promises (step 6)

#[allow(clippy::too_many_arguments)]
pub fn add_promise(
    conn: &mut DbConnection,
    mail: &Mailroom,
    actor: &User,
    ticket_id: i64,
    version: Option<i32>,
    due_at: DateTime<Utc>,
    what: &str,
    notify: Option<bool>,
) -> Result<Promise, AppError> {
    let mut fields = FieldErrors::new();
    let what = text_field(&mut fields, "what", what, 500);
    let due = due_at.naive_utc();
    if due <= db::now() {
        fields.insert("due_at".into(), "must be in the future".into());
    }
    AppError::check(fields)?;
    let mut made = None;
    run_as(
        conn,
        Some(actor),
        ticket_id,
        version,
        Action::Promise,
        None,
        |conn, t, _, changes, events| {
            let now = db::now();
            let promise = promises::insert(conn, t.id, &what, due, actor.id, now)?;
            // A new date replaces the old one: the earlier promise is broken, and says by what.
            for old in promises::open_for_ticket(conn, t.id)?
                .into_iter()
                .filter(|p| p.id != promise.id)
            {
                promises::close(
                    conn,
                    old.id,
                    "broken",
                    Some("replaced by a new date"),
                    Some(promise.id),
                    now,
                )?;
                events.push(event(t.id, Some(actor.id), "promise_broken", "internal", Some(old.what.clone()), json!({ "promise_id": old.id, "due_at": old.due_at.and_utc(), "replaced_by": promise.id })));
            }
            changes.next_promise_due_at = Some(Some(due));
            let customer_locale = customer_db::find(conn, t.customer_id)?
                .and_then(|c| Locale::parse(&c.locale))
                .unwrap_or(mail.settings.locale);
            let due_text =
                crate::i18n::format_datetime(due_at, mail.settings.timezone, customer_locale);
            notify_customer(
                conn,
                mail,
                t,
                actor,
                notify,
                format!("customer:promise:{}", promise.id),
                "customer_promise",
                json!({ "promise": { "what": what, "due": due_text } }),
            )?;
            events.push(event(
                t.id,
                Some(actor.id),
                "promise_made",
                "public",
                Some(what.clone()),
                json!({ "promise_id": promise.id, "due_at": due_at }),
            ));
            made = Some(promise);
            Ok(())
        },
    )?;
    made.ok_or_else(|| AppError::Internal(anyhow::anyhow!("promise not created")))
}

pub fn keep_promise(
    conn: &mut DbConnection,
    actor: &User,
    ticket_id: i64,
    promise_id: i64,
    version: Option<i32>,
    note: Option<&str>,
) -> Result<Promise, AppError> {
    let note = optional_text(note, LONG).map_err(|m| AppError::invalid("note", m))?;
    let mut kept = None;
    run_as(
        conn,
        Some(actor),
        ticket_id,
        version,
        Action::Promise,
        None,
        |conn, t, _, changes, events| {
            let open = promises::open_for_ticket(conn, t.id)?;
            let promise = match open.iter().find(|p| p.id == promise_id) {
                Some(p) => p.clone(),
                None if promises::for_ticket(conn, t.id)?
                    .iter()
                    .any(|p| p.id == promise_id) =>
                {
                    return Err(AppError::conflict(
                        "promise_not_open",
                        "this promise is already kept or broken",
                    ));
                }
                None => return Err(AppError::not_found("promise")),
            };
            let closed =
                promises::close(conn, promise.id, "kept", note.as_deref(), None, db::now())?
                    .ok_or_else(|| {
                        AppError::conflict(
                            "promise_not_open",
                            "this promise is already kept or broken",
                        )
                    })?;
            changes.next_promise_due_at = Some(
                open.iter()
                    .filter(|p| p.id != promise_id)
                    .map(|p| p.due_at)
                    .min(),
            );
            events.push(event(
                t.id,
                Some(actor.id),
                "promise_kept",
                "internal",
                note.clone(),
                json!({ "promise_id": promise.id, "due_at": promise.due_at.and_utc() }),
            ));
            kept = Some(closed);
            Ok(())
        },
    )?;
    kept.ok_or_else(|| AppError::Internal(anyhow::anyhow!("promise not kept")))
}

// ---------------------------------------------------------------------------------------
// Replacements

pub fn approval_threshold(conn: &mut DbConnection) -> Result<i64, AppError> {
    Ok(app_settings::get(conn, SETTING_APPROVAL_THRESHOLD)?
        .and_then(|v| v.parse().ok())
        .unwrap_or(DEFAULT_APPROVAL_THRESHOLD))
}

#[derive(Debug, Clone, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReplacementInput {
    pub item: String,
    pub quantity: i64,
    pub reason: String,
    /// Cost in rupiah.
    pub cost: i64,
    pub version: Option<i32>,
}

pub fn add_replacement(
    conn: &mut DbConnection,
    actor: &User,
    ticket_id: i64,
    input: &ReplacementInput,
) -> Result<Replacement, AppError> {
    let mut fields = FieldErrors::new();
    let item = text_field(&mut fields, "item", &input.item, SHORT);
    let reason = text_field(&mut fields, "reason", &input.reason, LONG);
    if !(1..=10_000).contains(&input.quantity) {
        fields.insert(
            "quantity".into(),
            "must be a whole number from 1 to 10000".into(),
        );
    }
    if !(0..=1_000_000_000_000).contains(&input.cost) {
        fields.insert(
            "cost".into(),
            "must be a whole number of rupiah, 0 or more".into(),
        );
    }
    AppError::check(fields)?;
    let mut made = None;
    run_as(
        conn,
        Some(actor),
        ticket_id,
        input.version,
        Action::Replacement,
        None,
        |conn, t, _, _, events| {
            let now = db::now();
            let needs_approval = input.cost > approval_threshold(conn)?;
            let replacement = replacements::insert(
                conn,
                &NewReplacement {
                    ticket_id: t.id,
                    item: &item,
                    quantity: input.quantity as i32,
                    reason: &reason,
                    cost: input.cost,
                    status: ReplacementStatus::Requested.as_str(),
                    needs_approval,
                    approved_by: None,
                    requested_by: actor.id,
                    version: 1,
                    created_at: now,
                    updated_at: now,
                },
            )?;
            let data = json!({ "replacement_id": replacement.id, "item": item, "quantity": input.quantity, "cost": input.cost, "needs_approval": needs_approval });
            events.push(event(
                t.id,
                Some(actor.id),
                "replacement_requested",
                "internal",
                Some(reason.clone()),
                data,
            ));
            made = Some(replacement);
            Ok(())
        },
    )?;
    made.ok_or_else(|| AppError::Internal(anyhow::anyhow!("replacement not created")))
}

#[derive(Debug, Clone, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReplacementPatch {
    #[schema(value_type = crate::domain::replacement::ReplacementStatus)]
    pub status: String,
    pub courier: Option<String>,
    pub tracking_number: Option<String>,
    /// Why it was cancelled (required to cancel).
    pub reason: Option<String>,
    pub version: Option<i32>,
    /// Email the customer when it ships (default true).
    pub notify_customer: Option<bool>,
}

pub fn update_replacement(
    conn: &mut DbConnection,
    mail: &Mailroom,
    actor: &User,
    id: i64,
    input: &ReplacementPatch,
) -> Result<Replacement, AppError> {
    let mut fields = FieldErrors::new();
    let status = parse_into(
        &mut fields,
        "status",
        Some(&input.status),
        ReplacementStatus::parse,
    );
    let courier = optional_field(&mut fields, "courier", input.courier.as_deref(), 100);
    let tracking = optional_field(
        &mut fields,
        "tracking_number",
        input.tracking_number.as_deref(),
        100,
    );
    let reason = optional_field(&mut fields, "reason", input.reason.as_deref(), LONG);
    if status == Some(ReplacementStatus::Shipped) {
        if courier.is_none() {
            fields.insert("courier".into(), "is required to ship".into());
        }
        if tracking.is_none() {
            fields.insert("tracking_number".into(), "is required to ship".into());
        }
    }
    if status == Some(ReplacementStatus::Cancelled) && reason.is_none() {
        fields.insert(
            "reason".into(),
            "say why the replacement is cancelled".into(),
        );
    }
    AppError::check(fields)?;
    let Some(status) = status else {
        return Err(AppError::invalid("status", "is required"));
    };
    crate::db::write(conn, |conn| {
        let current =
            replacements::find(conn, id)?.ok_or_else(|| AppError::not_found("replacement"))?;
        let ticket = load(conn, current.ticket_id)?;
        may_act(actor.id, actor.role(), ticket.assignee_id).map_err(AppError::Forbidden)?;
        if input.version.is_some_and(|v| v != current.version) {
            return Err(AppError::conflict(
                "stale",
                "someone else changed this replacement first; reload and try again",
            ));
        }
        let from = ReplacementStatus::parse(&current.status)
            .map_err(|e| AppError::Internal(anyhow::anyhow!(e)))?;
        check_transition(from, status).map_err(|m| AppError::conflict("invalid_transition", m))?;
        if status == ReplacementStatus::Approved
            && current.needs_approval
            && !actor.role().is_senior()
        {
            return Err(AppError::Forbidden(format!(
                "a replacement costing Rp{} needs a manager's approval",
                current.cost
            )));
        }
        let now = db::now();
        let mut changes = ReplacementChanges {
            status: Some(status.as_str().to_owned()),
            ..Default::default()
        };
        match status {
            ReplacementStatus::Approved => changes.approved_by = Some(Some(actor.id)),
            ReplacementStatus::Shipped => {
                changes.courier = Some(courier.clone());
                changes.tracking_number = Some(tracking.clone());
                changes.shipped_at = Some(Some(now));
            }
            ReplacementStatus::Delivered => changes.delivered_at = Some(Some(now)),
            ReplacementStatus::Cancelled => changes.cancel_reason = Some(reason.clone()),
            ReplacementStatus::Requested => {}
        }
        let updated = replacements::update_versioned(conn, id, current.version, &changes, now)?
            .ok_or_else(|| {
                AppError::conflict(
                    "stale",
                    "someone else changed this replacement first; reload and try again",
                )
            })?;
        if status == ReplacementStatus::Shipped {
            let data = json!({ "replacement": { "item": updated.item, "quantity": updated.quantity, "courier": updated.courier, "tracking_number": updated.tracking_number } });
            notify_customer(
                conn,
                mail,
                &ticket,
                actor,
                input.notify_customer,
                format!("customer:shipped:replacement:{id}"),
                "customer_replacement_shipped",
                data,
            )?;
        }
        // The customer hears about the parcel on its way; the rest is internal bookkeeping.
        let visibility = if status == ReplacementStatus::Shipped {
            "public"
        } else {
            "internal"
        };
        let body = match status {
            ReplacementStatus::Shipped => Some(format!(
                "{} × {} — {} {}",
                updated.quantity,
                updated.item,
                courier.unwrap_or_default(),
                tracking.unwrap_or_default()
            )),
            ReplacementStatus::Cancelled => reason,
            _ => None,
        };
        let data = json!({ "replacement_id": id, "status": { "before": from, "after": status } });
        events::append(
            conn,
            &event(
                ticket.id,
                Some(actor.id),
                &format!("replacement_{}", status.as_str()),
                visibility,
                body,
                data,
            ),
        )?;
        Ok(updated)
    })
}

/// Times in the past for tests and imports would be refused by `add_promise`; this is the
/// one place that turns a stored time back into UTC for views.
pub fn utc(t: NaiveDateTime) -> DateTime<Utc> {
    t.and_utc()
}

// ---------------------------------------------------------------------------------------
// The customer's own answers (through their signed link)

/// The customer accepts or rejects the proposal themselves (step 5, "ask for their input").
pub fn customer_answer(
    conn: &mut DbConnection,
    mail: &Mailroom,
    ticket_id: i64,
    accepted: bool,
    comment: Option<&str>,
) -> Result<Ticket, AppError> {
    let comment = optional_text(comment, LONG).map_err(|m| AppError::invalid("comment", m))?;
    let now = db::now();
    run_as(
        conn,
        None,
        ticket_id,
        None,
        Action::CustomerResponse,
        Some(accepted),
        |conn, t, _, changes, events| {
            let answer = Answer {
                accepted,
                comment: comment.clone(),
                by: None,
                data: json!({ "accepted": accepted, "by": "customer" }),
            };
            record_answer(conn, mail, t, changes, events, answer, now)
        },
    )
}

/// The customer's answer to a proposal, recorded by an agent (`by`) or by the customer.
struct Answer {
    accepted: bool,
    comment: Option<String>,
    by: Option<i64>,
    data: serde_json::Value,
}

/// Writes an answer: the resolution clock runs again, the proposal is accepted or rejected,
/// the ticket no longer waits for the customer, and the timeline says so.
fn record_answer(
    conn: &mut DbConnection,
    mail: &Mailroom,
    t: &Ticket,
    changes: &mut TicketChanges,
    events: &mut Vec<NewEvent>,
    answer: Answer,
    now: NaiveDateTime,
) -> Result<(), AppError> {
    targets::resume(conn, mail.settings.timezone, t, changes, now)?;
    let state = if answer.accepted {
        ProposalState::Accepted
    } else {
        ProposalState::Rejected
    };
    changes.proposal_state = Some(Some(state.as_str().to_owned()));
    changes.customer_comment = Some(answer.comment.clone());
    changes.awaiting_customer = Some(false);
    events.push(event(
        t.id,
        answer.by,
        "customer_response",
        "public",
        answer.comment,
        answer.data,
    ));
    Ok(())
}

/// The customer rates the help (1–5) after the ticket is resolved; a later rating replaces
/// an earlier one.
pub fn rate(
    conn: &mut DbConnection,
    ticket_id: i64,
    rating: i32,
    comment: Option<&str>,
) -> Result<Ticket, AppError> {
    if !(1..=5).contains(&rating) {
        return Err(AppError::invalid("rating", "must be from 1 to 5"));
    }
    let comment = optional_text(comment, LONG).map_err(|m| AppError::invalid("comment", m))?;
    crate::db::write(conn, |conn| {
        let ticket = load(conn, ticket_id)?;
        if Stage::parse(&ticket.stage)
            .map(Stage::is_open)
            .unwrap_or(true)
        {
            return Err(AppError::conflict(
                "invalid_transition",
                "the help can be rated once the ticket is resolved",
            ));
        }
        let changes = TicketChanges {
            satisfaction: Some(Some(rating)),
            ..Default::default()
        };
        let updated =
            tickets::update_versioned(conn, ticket.id, ticket.version, &changes, db::now())?
                .ok_or_else(stale)?;
        events::append(
            conn,
            &event(
                ticket.id,
                None,
                "rated",
                "public",
                comment,
                json!({ "rating": rating }),
            ),
        )?;
        Ok(updated)
    })
}
