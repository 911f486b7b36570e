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
use crate::db::outbox::{self, NewMail, OutboxMail};
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
        let mail = self.compose(key, kind, to, ticket_id, data)?;
        Ok(outbox::insert_if_absent(conn, &mail)?)
    }

    /// Renders `kind` for `to` into an outbox row keyed `key`, without writing it (a batch
    /// renders before it takes the write lock, then queues with `outbox::insert_new`).
    pub fn compose(
        &self,
        key: &str,
        kind: &str,
        to: &Recipient,
        ticket_id: Option<i64>,
        data: Value,
    ) -> Result<NewMail, crate::error::AppError> {
        let mut data = data;
        if let Some(map) = data.as_object_mut() {
            map.insert("shop".into(), json!({ "name": self.settings.shop_name }));
            map.insert(
                "recipient".into(),
                json!({ "name": to.name.clone().unwrap_or_else(|| to.address.clone()) }),
            );
        }
        // The subject now (the outbox lists it); the bodies when the mail is sent, from the
        // variables kept with it (`fill`), so a large pass writes small rows.
        let subject = self
            .templates
            .subject(kind, to.locale, &data)
            .map_err(|e| {
                crate::error::AppError::Internal(e.context(format!("rendering {kind}")))
            })?;
        let template_data = json!({ "locale": to.locale.as_str(), "data": data }).to_string();
        let now = db::now();
        Ok(NewMail {
            idempotency_key: key.to_owned(),
            kind: kind.to_owned(),
            ticket_id,
            to_address: to.address.clone(),
            to_name: to.name.clone(),
            subject,
            text_body: String::new(),
            html_body: String::new(),
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
            template_data: Some(template_data),
        })
    }

    /// Renders the bodies of a mail queued with its template variables (mails queued before
    /// bodies were deferred carry theirs already and pass through unchanged).
    pub fn fill(&self, mut mail: OutboxMail) -> anyhow::Result<OutboxMail> {
        let Some(stored) = mail.template_data.as_deref() else {
            return Ok(mail);
        };
        let mut stored: Value = serde_json::from_str(stored)?;
        let locale = stored["locale"]
            .as_str()
            .and_then(Locale::parse)
            .unwrap_or(Locale::Id);
        let rendered = self
            .templates
            .render(
                &mail.kind,
                locale,
                stored.get_mut("data").map(Value::take).unwrap_or_default(),
            )
            .map_err(|e| e.context(format!("rendering {}", mail.kind)))?;
        mail.text_body = rendered.text;
        mail.html_body = rendered.html;
        Ok(mail)
    }
}
