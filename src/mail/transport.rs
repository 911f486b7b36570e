//! Where mail goes, chosen by `TANGGAP_MAIL_URL`: SMTP (`smtp://` with STARTTLS when offered
//! — add `?tls=required` to insist — or `smtps://` with TLS from the first byte; pooled
//! connections, timeouts), `.eml` files under a directory (`file://<dir>`, the default), or
//! the log (`log:`).

use std::time::Duration;

use anyhow::Context;
use lettre::message::header::ContentType;
use lettre::message::{Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::PoolConfig;
use lettre::{AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::config::Settings;
use crate::db::outbox::OutboxMail;

#[derive(Clone)]
pub enum Mailer {
    /// `smtp://`: one kept-open connection with TCP_NODELAY (see `mail::smtp`).
    Smtp(std::sync::Arc<super::smtp::DirectSmtp>),
    /// `smtps://`: lettre's pooled transport.
    Smtps(AsyncSmtpTransport<Tokio1Executor>),
    File(AsyncFileTransport<Tokio1Executor>),
    Log,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Mailer::Smtp(_) => "Mailer::Smtp",
            Mailer::Smtps(_) => "Mailer::Smtps",
            Mailer::File(_) => "Mailer::File",
            Mailer::Log => "Mailer::Log",
        })
    }
}

impl Mailer {
    pub fn from_settings(settings: &Settings) -> anyhow::Result<Self> {
        let url = settings
            .mail_url
            .clone()
            .unwrap_or_else(|| format!("file://{}", settings.data_dir.join("mail").display()));
        if url == "log:" {
            return Ok(Mailer::Log);
        }
        if let Some(dir) = url.strip_prefix("file://") {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("creating the mail directory {dir}"))?;
            return Ok(Mailer::File(AsyncFileTransport::new(dir)));
        }
        // Plain smtp:// upgrades with STARTTLS when the server offers it.
        let url = if url.starts_with("smtp://") && !url.contains("tls=") {
            format!(
                "{url}{}tls=opportunistic",
                if url.contains('?') { '&' } else { '?' }
            )
        } else {
            url
        };
        if url.starts_with("smtp://") {
            let direct = super::smtp::DirectSmtp::from_url(&url, Duration::from_secs(15))?;
            return Ok(Mailer::Smtp(std::sync::Arc::new(direct)));
        }
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(&url)
            .map_err(|e| anyhow::anyhow!("TANGGAP_MAIL_URL: {e}"))?
            .timeout(Some(Duration::from_secs(15)))
            .pool_config(
                PoolConfig::new()
                    .max_size(4)
                    .idle_timeout(Duration::from_secs(60)),
            )
            .build();
        Ok(Mailer::Smtps(transport))
    }

    /// Sends one queued mail; the error text is kept on the outbox row.
    pub async fn send(&self, from: &str, mail: &OutboxMail) -> Result<(), String> {
        let message = build_message(from, mail).map_err(|e| format!("{e:#}"))?;
        match self {
            Mailer::Smtp(t) => t.send(&message).await,
            Mailer::Smtps(t) => t.send(message).await.map(|_| ()).map_err(|e| e.to_string()),
            Mailer::File(t) => t.send(message).await.map(|_| ()).map_err(|e| e.to_string()),
            Mailer::Log => {
                tracing::info!(mail.id = mail.id, mail.kind = %mail.kind, mail.to = %mail.to_address, "mail (log transport)");
                Ok(())
            }
        }
    }
}

/// The MIME message of an outbox row: multipart text + HTML, its own Message-ID, and the
/// ticket's thread in In-Reply-To and References. lettre encodes every header value, and the
/// subject was made one line when queued, so nothing typed by a customer adds a header.
pub fn build_message(from: &str, mail: &OutboxMail) -> anyhow::Result<Message> {
    let from: Mailbox = from.parse().context("TANGGAP_MAIL_FROM is not a mailbox")?;
    let to = Mailbox::new(
        mail.to_name.clone().map(|n| super::templates::one_line(&n)),
        mail.to_address.parse().context("recipient address")?,
    );
    let mut builder = Message::builder()
        .from(from)
        .to(to)
        .subject(super::templates::one_line(&mail.subject))
        .message_id(Some(mail.message_id.clone()));
    if let Some(thread) = &mail.in_reply_to {
        builder = builder
            .in_reply_to(thread.clone())
            .references(thread.clone());
    }
    let body = MultiPart::alternative()
        .singlepart(
            SinglePart::builder()
                .header(ContentType::TEXT_PLAIN)
                .body(mail.text_body.clone()),
        )
        .singlepart(
            SinglePart::builder()
                .header(ContentType::TEXT_HTML)
                .body(mail.html_body.clone()),
        );
    builder.multipart(body).context("building the message")
}
