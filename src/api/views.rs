//! The JSON shapes of the desk's resources. Times are RFC 3339 UTC.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::utc;
use crate::db::attachments::Attachment;
use crate::db::canned::CannedResponse;
use crate::db::customers::{Customer, Partner};
use crate::db::events::Event;
use crate::db::promises::Promise;
use crate::db::replacements::Replacement;
use crate::db::tickets::TicketHead;
use crate::desk::tickets::TicketDetail;
use crate::domain::playbook::{next_step, Stage};
use crate::domain::ticket_number;

#[derive(Serialize, utoipa::ToSchema)]
pub struct CustomerView {
    pub id: i64,
    pub name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub whatsapp: Option<String>,
    pub instagram: Option<String>,
    pub locale: String,
    pub notes: String,
    pub email_opt_out: bool,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<Customer> for CustomerView {
    fn from(c: Customer) -> Self {
        Self {
            id: c.id,
            name: c.name,
            email: c.email,
            phone: c.phone,
            whatsapp: c.whatsapp,
            instagram: c.instagram,
            locale: c.locale,
            notes: c.notes,
            email_opt_out: c.email_opt_out,
            version: c.version,
            created_at: utc(c.created_at),
            updated_at: utc(c.updated_at),
        }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct PartnerView {
    pub id: i64,
    pub name: String,
    pub kind: String,
    pub contact: String,
    pub created_at: DateTime<Utc>,
}

impl From<Partner> for PartnerView {
    fn from(p: Partner) -> Self {
        Self {
            id: p.id,
            name: p.name,
            kind: p.kind,
            contact: p.contact,
            created_at: utc(p.created_at),
        }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct PromiseView {
    pub id: i64,
    pub ticket_id: i64,
    pub what: String,
    pub due_at: DateTime<Utc>,
    pub promised_by: i64,
    pub status: String,
    pub overdue: bool,
    pub note: Option<String>,
    pub replaced_by: Option<i64>,
    pub closed_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

impl From<Promise> for PromiseView {
    fn from(p: Promise) -> Self {
        Self {
            overdue: p.status == "open" && p.due_at < crate::db::now(),
            id: p.id,
            ticket_id: p.ticket_id,
            what: p.what,
            due_at: utc(p.due_at),
            promised_by: p.promised_by,
            status: p.status,
            note: p.note,
            replaced_by: p.replaced_by,
            closed_at: p.closed_at.map(utc),
            created_at: utc(p.created_at),
        }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ReplacementView {
    pub id: i64,
    pub ticket_id: i64,
    pub item: String,
    pub quantity: i32,
    pub reason: String,
    pub cost: i64,
    pub status: String,
    pub needs_approval: bool,
    pub approved_by: Option<i64>,
    pub courier: Option<String>,
    pub tracking_number: Option<String>,
    pub cancel_reason: Option<String>,
    pub requested_by: i64,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub shipped_at: Option<DateTime<Utc>>,
    pub delivered_at: Option<DateTime<Utc>>,
}

impl From<Replacement> for ReplacementView {
    fn from(r: Replacement) -> Self {
        Self {
            id: r.id,
            ticket_id: r.ticket_id,
            item: r.item,
            quantity: r.quantity,
            reason: r.reason,
            cost: r.cost,
            status: r.status,
            needs_approval: r.needs_approval,
            approved_by: r.approved_by,
            courier: r.courier,
            tracking_number: r.tracking_number,
            cancel_reason: r.cancel_reason,
            requested_by: r.requested_by,
            version: r.version,
            created_at: utc(r.created_at),
            updated_at: utc(r.updated_at),
            shipped_at: r.shipped_at.map(utc),
            delivered_at: r.delivered_at.map(utc),
        }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct EventView {
    pub id: i64,
    pub ticket_id: i64,
    pub actor_id: Option<i64>,
    pub kind: String,
    pub visibility: String,
    pub body: Option<String>,
    /// The event's own facts (free-form; null when it has none).
    pub data: serde_json::Value,
    pub created_at: DateTime<Utc>,
}

impl From<Event> for EventView {
    fn from(e: Event) -> Self {
        Self {
            id: e.id,
            ticket_id: e.ticket_id,
            actor_id: e.actor_id,
            kind: e.kind,
            visibility: e.visibility,
            body: e.body,
            data: e
                .data
                .as_deref()
                .and_then(|d| serde_json::from_str(d).ok())
                .unwrap_or(serde_json::Value::Null),
            created_at: utc(e.created_at),
        }
    }
}

/// A ticket as the queue lists it.
#[derive(Serialize, utoipa::ToSchema)]
pub struct TicketSummary {
    pub id: i64,
    pub number: String,
    pub kind: String,
    pub channel: String,
    pub customer_id: i64,
    pub customer_name: Option<String>,
    pub partner_id: Option<i64>,
    pub subject: String,
    pub category: Option<String>,
    pub priority: String,
    pub stage: String,
    /// The playbook step (1–6) the ticket stands at.
    pub step: u8,
    pub assignee_id: Option<i64>,
    pub escalated_to: Option<i64>,
    /// customer (waiting for their answer to a proposal), us, or none (finished).
    pub awaiting: &'static str,
    #[serde(serialize_with = "super::rfc3339::write_option")]
    pub next_promise_due_at: Option<DateTime<Utc>>,
    pub overdue: bool,
    /// Service targets, counted in business time.
    #[serde(serialize_with = "super::rfc3339::write_option")]
    pub first_response_due_at: Option<DateTime<Utc>>,
    #[serde(serialize_with = "super::rfc3339::write_option")]
    pub resolution_due_at: Option<DateTime<Utc>>,
    pub first_response_breached: bool,
    pub resolution_breached: bool,
    /// True while the resolution clock is paused (waiting for the customer's answer).
    pub clock_paused: bool,
    pub version: i32,
    #[serde(serialize_with = "super::rfc3339::write")]
    pub created_at: DateTime<Utc>,
    #[serde(serialize_with = "super::rfc3339::write")]
    pub updated_at: DateTime<Utc>,
}

/// Who the ticket waits for: the customer (their answer to a proposal), us, or none (finished).
pub fn awaiting(stage: &str, awaiting_customer: bool) -> &'static str {
    let open = Stage::parse(stage).map(Stage::is_open).unwrap_or(false);
    match (open, awaiting_customer) {
        (false, _) => "none",
        (true, true) => "customer",
        (true, false) => "us",
    }
}

pub fn summary(t: TicketHead, customer_name: Option<String>) -> TicketSummary {
    let now = crate::db::now();
    TicketSummary {
        number: ticket_number(t.id),
        step: Stage::parse(&t.stage).map(Stage::step).unwrap_or(1),
        awaiting: awaiting(&t.stage, t.awaiting_customer),
        overdue: t.next_promise_due_at.is_some_and(|due| due < now),
        next_promise_due_at: t.next_promise_due_at.map(utc),
        first_response_due_at: t.first_response_due_at.map(utc),
        resolution_due_at: t.resolution_due_at.map(utc),
        first_response_breached: t.first_response_breached,
        resolution_breached: t.resolution_breached,
        clock_paused: t.clock_paused_at.is_some(),
        id: t.id,
        kind: t.kind,
        channel: t.channel,
        customer_id: t.customer_id,
        customer_name,
        partner_id: t.partner_id,
        subject: t.subject,
        category: t.category,
        priority: t.priority,
        stage: t.stage,
        assignee_id: t.assignee_id,
        escalated_to: t.escalated_to,
        version: t.version,
        created_at: utc(t.created_at),
        updated_at: utc(t.updated_at),
    }
}

/// A page of the queue, as `GET /api/tickets` answers it.
#[derive(Serialize, utoipa::ToSchema)]
pub struct TicketPage {
    pub tickets: Vec<TicketSummary>,
    /// Pass as `before` for the next page; null on the last one.
    pub next_before: Option<i64>,
}

impl TicketPage {
    pub fn new(page: crate::desk::queue::QueuePage) -> Self {
        TicketPage {
            tickets: page
                .tickets
                .into_iter()
                .map(|(head, name)| summary(head, Some(name)))
                .collect(),
            next_before: page.next_before,
        }
    }
}

/// A ticket with everything beside it.
#[derive(Serialize, utoipa::ToSchema)]
pub struct TicketView {
    #[serde(flatten)]
    pub summary: TicketSummary,
    pub customer: CustomerView,
    pub customer_words: String,
    pub product: Option<String>,
    pub order_ref: Option<String>,
    pub details: Option<String>,
    pub root_cause: Option<String>,
    pub solution_type: Option<String>,
    pub solution: Option<String>,
    pub proposal_state: Option<String>,
    pub customer_comment: Option<String>,
    pub escalated_from: Option<String>,
    pub escalation_reason: Option<String>,
    pub created_by: Option<i64>,
    pub resolution_summary: Option<String>,
    pub satisfaction: Option<i32>,
    pub acknowledged_at: Option<DateTime<Utc>>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub closed_at: Option<DateTime<Utc>>,
    /// The action the playbook suggests next.
    pub next_step: &'static str,
    pub promises: Vec<PromiseView>,
    pub replacements: Vec<ReplacementView>,
    pub attachments: Vec<AttachmentView>,
}

pub fn ticket_view(detail: TicketDetail) -> TicketView {
    let TicketDetail {
        ticket: t,
        customer,
        promises,
        replacements,
        attachments,
        facts,
    } = detail;
    let next = next_step(&facts);
    TicketView {
        customer_words: t.customer_words.clone(),
        product: t.product.clone(),
        order_ref: t.order_ref.clone(),
        details: t.details.clone(),
        root_cause: t.root_cause.clone(),
        solution_type: t.solution_type.clone(),
        solution: t.solution.clone(),
        proposal_state: t.proposal_state.clone(),
        customer_comment: t.customer_comment.clone(),
        escalated_from: t.escalated_from.clone(),
        escalation_reason: t.escalation_reason.clone(),
        created_by: t.created_by,
        resolution_summary: t.resolution_summary.clone(),
        satisfaction: t.satisfaction,
        acknowledged_at: t.acknowledged_at.map(utc),
        resolved_at: t.resolved_at.map(utc),
        closed_at: t.closed_at.map(utc),
        next_step: next,
        summary: summary(t.into(), Some(customer.name.clone())),
        customer: customer.into(),
        promises: promises.into_iter().map(Into::into).collect(),
        replacements: replacements.into_iter().map(Into::into).collect(),
        attachments: attachments.into_iter().map(Into::into).collect(),
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct CannedView {
    pub id: i64,
    pub key: Option<String>,
    pub step: String,
    pub locale: String,
    pub title: String,
    pub body: String,
    pub active: bool,
    pub version: i32,
    pub updated_at: DateTime<Utc>,
}

impl From<CannedResponse> for CannedView {
    fn from(c: CannedResponse) -> Self {
        Self {
            id: c.id,
            key: c.key,
            step: c.step,
            locale: c.locale,
            title: c.title,
            body: c.body,
            active: c.active,
            version: c.version,
            updated_at: utc(c.updated_at),
        }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct AttachmentView {
    pub id: i64,
    pub ticket_id: i64,
    pub event_id: Option<i64>,
    pub filename: String,
    pub content_type: String,
    pub size_bytes: i64,
    pub sha256: String,
    pub uploaded_by: i64,
    pub url: String,
    pub created_at: DateTime<Utc>,
}

impl From<Attachment> for AttachmentView {
    fn from(a: Attachment) -> Self {
        Self {
            url: format!("/api/attachments/{}", a.id),
            id: a.id,
            ticket_id: a.ticket_id,
            event_id: a.event_id,
            filename: a.filename,
            content_type: a.content_type,
            size_bytes: a.size_bytes,
            sha256: a.sha256,
            uploaded_by: a.uploaded_by,
            created_at: utc(a.created_at),
        }
    }
}

/// The schemas of the answers that handlers build with `json!` (a list under a key, a token
/// with its user, …). Documentation only: `bench/fuzz.sh` checks every answer against them.
#[allow(dead_code)]
pub mod answers {
    use utoipa::ToSchema;

    use super::{CannedView, CustomerView, EventView, PartnerView, ReplacementView, TicketView};
    use crate::api::outbox::OutboxView;
    use crate::api::users::UserView;
    use crate::desk::targets::{DayHours, Holiday, TargetPolicy};

    /// A calm-reply warning (`domain::calm::CalmWarning`); warnings never block.
    #[derive(serde::Serialize, ToSchema)]
    pub struct CalmWarning {
        /// shouting, exclamations, blaming, defensive, insult or sarcasm
        pub kind: String,
        /// the words of the draft that triggered it
        pub excerpt: String,
        /// a short suggestion in the requested language
        pub advice: String,
    }

    #[derive(ToSchema)]
    pub struct SignedIn {
        pub token: String,
        /// Always `Bearer`.
        pub token_type: String,
        /// Seconds until the token expires.
        pub expires_in: i64,
        pub user: UserView,
    }

    #[derive(ToSchema)]
    pub struct PasswordChanged {
        /// A fresh token: older ones stopped working.
        pub token: String,
        pub user: UserView,
    }

    #[derive(ToSchema)]
    pub struct UserList {
        pub users: Vec<UserView>,
    }

    #[derive(ToSchema)]
    pub struct CustomerPage {
        pub customers: Vec<CustomerView>,
        /// Pass as `before` for the next page; null on the last one.
        pub next_before: Option<i64>,
    }

    #[derive(ToSchema)]
    pub struct PartnerList {
        pub partners: Vec<PartnerView>,
    }

    #[derive(ToSchema)]
    pub struct EventList {
        pub events: Vec<EventView>,
    }

    #[derive(ToSchema)]
    pub struct MessageAdded {
        pub event: EventView,
        pub warnings: Vec<CalmWarning>,
    }

    #[derive(ToSchema)]
    pub struct ReplacementList {
        pub replacements: Vec<ReplacementView>,
    }

    #[derive(ToSchema)]
    pub struct CannedList {
        pub canned_responses: Vec<CannedView>,
    }

    #[derive(ToSchema)]
    pub struct Rendered {
        pub text: String,
        pub warnings: Vec<CalmWarning>,
    }

    #[derive(ToSchema)]
    pub struct ToneChecked {
        /// True when there is no warning.
        pub calm: bool,
        pub warnings: Vec<CalmWarning>,
    }

    #[derive(ToSchema)]
    pub struct OutboxPage {
        pub mails: Vec<OutboxView>,
        /// Pass as `before` for the next page; null on the last one.
        pub next_before: Option<i64>,
    }

    #[derive(ToSchema)]
    pub struct TargetList {
        pub policies: Vec<TargetPolicy>,
    }

    #[derive(ToSchema)]
    pub struct Week {
        /// The shop's IANA time zone.
        pub timezone: String,
        pub days: Vec<DayHours>,
    }

    #[derive(ToSchema)]
    pub struct HolidayList {
        pub holidays: Vec<Holiday>,
    }

    #[derive(ToSchema)]
    pub struct DeskSettings {
        pub auto_assign: bool,
        pub replacement_approval_threshold: i64,
        pub reminder_lead_minutes: i64,
        pub target_warning_minutes: i64,
        pub escalate_after_minutes: i64,
        /// HH:MM, the shop's local time.
        pub digest_time: String,
        pub unshipped_after_days: i64,
    }

    /// The ticket after a playbook action, with the calm-reply warnings of its message.
    #[derive(serde::Serialize, ToSchema)]
    pub struct ActedTicket {
        #[serde(flatten)]
        pub ticket: TicketView,
        pub warnings: Vec<CalmWarning>,
    }
}
