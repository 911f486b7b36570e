//! Email: the outbox writer (`Mailroom::enqueue`, inside the caller's transaction), the
//! transports (SMTP, file, log) and the dispatcher that sends what is queued. Handlers never
//! call lettre: email leaves only through the outbox.

pub mod dispatch;
pub mod smtp;
pub mod templates;
pub mod transport;

use std::sync::Arc;

use serde_json::{json, Value};

use crate::config::{Locale, Settings};
use crate::db::outbox::{self, NewMail};
use crate::db::{self, DbConnection};
use templates::EmailTemplates;

/// Who gets a mail.
#[derive(Clone, Debug)]
pub struct Recipient {
    pub address: String,
    pub name: Option<String>,
    pub locale: Locale,
}

/// Renders mails and writes them to the outbox. Cheap to clone.
#[derive(Clone)]
pub struct Mailroom {
    pub templates: Arc<EmailTemplates>,
    pub settings: Settings,
    pub links: crate::auth::links::LinkSigner,
}

impl Mailroom {
    pub fn new(settings: Settings, strict_templates: bool) -> anyhow::Result<Self> {
        let links = crate::auth::links::LinkSigner::new(&settings.resolve_jwt_secret()?);
        Ok(Self {
            templates: Arc::new(EmailTemplates::load(strict_templates)?),
            settings,
            links,
        })
    }

    /// The customer's own page for a ticket: a signed link, valid for `LINK_DAYS`.
    pub fn customer_link(&self, ticket_id: i64) -> String {
        let expires = (chrono::Utc::now() + chrono::Duration::days(crate::auth::links::LINK_DAYS))
            .timestamp();
        format!(
            "{}/c/{}",
            self.settings.base_url,
            self.links.sign(ticket_id, expires)
        )
    }

    /// The domain of the sender address, for Message-IDs.
    pub fn domain(&self) -> String {
        let from = &self.settings.mail_from;
        let address = from
            .rsplit_once('<')
            .map(|(_, a)| a.trim_end_matches('>'))
            .unwrap_or(from);
        address
            .rsplit_once('@')
            .map(|(_, d)| d.trim().to_owned())
            .filter(|d| !d.is_empty())
            .unwrap_or_else(|| "tanggap.local".into())
    }

    /// The Message-ID every mail about a ticket replies to, so they share one thread.
    pub fn ticket_thread(&self, ticket_id: i64) -> String {
        format!("<ticket-{ticket_id}@{}>", self.domain())
    }

    pub fn ticket_url(&self, ticket_id: i64) -> String {
        format!("{}/tickets/{ticket_id}", self.settings.base_url)
    }

    /// Renders `kind` for `to` and queues it under `key`, unless a mail with that key exists.
    /// Returns whether it was queued. Call it inside the transaction of the event.
    pub fn enqueue(
        &self,
        conn: &mut DbConnection,
        key: &str,
        kind: &str,
        to: &Recipient,
        ticket_id: Option<i64>,
        data: Value,
    ) -> Result<bool, crate::error::AppError> {
        if outbox::key_exists(conn, key)? {
            return Ok(false);
        }
        let mut data = data;
        if let Some(map) = data.as_object_mut() {
            map.insert("shop".into(), json!({ "name": self.settings.shop_name }));
            map.insert(
                "recipient".into(),
                json!({ "name": to.name.clone().unwrap_or_else(|| to.address.clone()) }),
            );
        }
        let rendered = self.templates.render(kind, to.locale, &data).map_err(|e| {
            crate::error::AppError::Internal(e.context(format!("rendering {kind}")))
        })?;
        let now = db::now();
        let mail = NewMail {
            idempotency_key: key.to_owned(),
            kind: kind.to_owned(),
            ticket_id,
            to_address: to.address.clone(),
            to_name: to.name.clone(),
            subject: rendered.subject,
            text_body: rendered.text,
            html_body: rendered.html,
            message_id: format!(
                "<{}.{}@{}>",
                kind.replace('_', "-"),
                uuid::Uuid::new_v4().simple(),
                self.domain()
            ),
            in_reply_to: ticket_id.map(|id| self.ticket_thread(id)),
            status: "pending".into(),
            attempts: 0,
            next_attempt_at: now,
            created_at: now,
        };
        Ok(outbox::insert_if_absent(conn, &mail)?)
    }
}
