//! Email templates: for every kind and language a subject, a plain-text and an HTML part
//! (templates/email/{id,en}/), compiled into the binary. The subject and text render without
//! escaping (they are not HTML); the HTML part is escaped and wrapped in the shared layout.

use handlebars::{Context, Handlebars};
use serde_json::Value;

use crate::config::Locale;

/// Every kind of email Tanggap sends.
pub const KINDS: [&str; 11] = [
    "promise_reminder",
    "promise_overdue",
    "promise_overdue_escalated",
    "target_warning",
    "target_breach",
    "digest",
    "customer_acknowledged",
    "customer_proposal",
    "customer_promise",
    "customer_replacement_shipped",
    "customer_resolved",
];

macro_rules! files {
    ($($kind:literal),* $(,)?) => {
        &[$(
            ($kind, "id",
                include_str!(concat!("../../templates/email/id/", $kind, ".subject.hbs")),
                include_str!(concat!("../../templates/email/id/", $kind, ".text.hbs")),
                include_str!(concat!("../../templates/email/id/", $kind, ".html.hbs"))),
            ($kind, "en",
                include_str!(concat!("../../templates/email/en/", $kind, ".subject.hbs")),
                include_str!(concat!("../../templates/email/en/", $kind, ".text.hbs")),
                include_str!(concat!("../../templates/email/en/", $kind, ".html.hbs"))),
        )*]
    };
}

const FILES: &[(&str, &str, &str, &str, &str)] = files!(
    "promise_reminder",
    "promise_overdue",
    "promise_overdue_escalated",
    "target_warning",
    "target_breach",
    "digest",
    "customer_acknowledged",
    "customer_proposal",
    "customer_promise",
    "customer_replacement_shipped",
    "customer_resolved",
);

const LAYOUTS: [(&str, &str); 2] = [
    (
        "id",
        include_str!("../../templates/email/id/layout.html.hbs"),
    ),
    (
        "en",
        include_str!("../../templates/email/en/layout.html.hbs"),
    ),
];

/// A rendered email, ready for the outbox.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rendered {
    pub subject: String,
    pub text: String,
    pub html: String,
}

pub struct EmailTemplates {
    plain: Handlebars<'static>,
    html: Handlebars<'static>,
}

impl EmailTemplates {
    /// Compiles every template; a broken one stops start-up.
    pub fn load(strict: bool) -> anyhow::Result<Self> {
        let mut plain = Handlebars::new();
        plain.register_escape_fn(handlebars::no_escape);
        plain.set_strict_mode(strict);
        let mut html = Handlebars::new();
        html.set_strict_mode(strict);
        for (kind, lang, subject, text, body) in FILES {
            plain
                .register_template_string(&format!("{lang}/{kind}.subject"), subject.trim_end())?;
            plain.register_template_string(&format!("{lang}/{kind}.text"), text)?;
            html.register_template_string(&format!("{lang}/{kind}.html"), body)?;
        }
        for (lang, layout) in LAYOUTS {
            html.register_template_string(&format!("{lang}/layout"), layout)?;
        }
        Ok(Self { plain, html })
    }

    /// The subject line alone (queued mails store it; their bodies are rendered when sent).
    pub fn subject(&self, kind: &str, locale: Locale, data: &Value) -> anyhow::Result<String> {
        self.subject_in(kind, locale, &Context::wraps(data)?)
    }

    fn subject_in(&self, kind: &str, locale: Locale, context: &Context) -> anyhow::Result<String> {
        let name = format!("{}/{kind}.subject", locale.as_str());
        Ok(one_line(&self.plain.render_with_context(&name, context)?))
    }

    /// Subject, text and HTML parts. The four renderings read one `data` tree
    /// (`Handlebars::render` would serialize a copy of it for each).
    pub fn render(&self, kind: &str, locale: Locale, data: Value) -> anyhow::Result<Rendered> {
        let lang = locale.as_str();
        let mut context = Context::from(data);
        let subject = self.subject_in(kind, locale, &context)?;
        let text = self
            .plain
            .render_with_context(&format!("{lang}/{kind}.text"), &context)?;
        let body = self
            .html
            .render_with_context(&format!("{lang}/{kind}.html"), &context)?;
        if let Some(map) = context.data_mut().as_object_mut() {
            map.insert("body".into(), Value::String(body));
        }
        let html = self
            .html
            .render_with_context(&format!("{lang}/layout"), &context)?;
        Ok(Rendered {
            subject,
            text,
            html,
        })
    }
}

/// A subject is one header line: line breaks and other control characters become spaces, so
/// nothing a customer typed can start a header of its own.
pub fn one_line(text: &str) -> String {
    let cleaned: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    cleaned.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_both_languages() {
        for kind in KINDS {
            for lang in ["id", "en"] {
                assert!(
                    FILES.iter().any(|(k, l, ..)| *k == kind && *l == lang),
                    "{lang}/{kind}"
                );
            }
        }
        assert!(EmailTemplates::load(false).is_ok());
    }

    /// Sample data for a kind: exactly the variables its templates promise, with distinct values.
    fn sample(kind: &str) -> Value {
        let ticket = serde_json::json!({ "number": "TGP-000042", "subject": "Kaos <sobek> & luntur", "url": "https://desk.toko.test/tickets/42" });
        let staged = serde_json::json!({ "number": "TGP-000042", "subject": "Kaos <sobek> & luntur", "url": "https://desk.toko.test/tickets/42", "stage": "listened" });
        let customer_ticket =
            serde_json::json!({ "number": "TGP-000042", "subject": "Kaos <sobek> & luntur" });
        let promise = serde_json::json!({ "what": "Kabari resi pengganti", "due": "Senin, 24 Nov 2026 14.00 WIB", "promised_by": "Sari Janji", "overdue_by": "3 jam 5 menit" });
        let extra = match kind {
            "promise_reminder" => {
                serde_json::json!({ "ticket": ticket, "customer": { "name": "Maya Lestari" }, "promise": { "what": "Kabari resi pengganti", "due": "Senin, 24 Nov 2026 14.00 WIB", "promised_by": "Sari Janji" } })
            }
            "promise_overdue" => {
                serde_json::json!({ "ticket": staged, "customer": { "name": "Maya Lestari", "contact": "6281234567890" }, "promise": promise, "agent": { "name": "Budi Agen" } })
            }
            "promise_overdue_escalated" => serde_json::json!({
                "ticket": staged, "customer": { "name": "Maya Lestari", "contact": "6281234567890" }, "promise": promise, "agent": { "name": "Budi Agen" },
                "manager": { "name": "Bos Besar" }, "first_alert_at": "Senin, 24 Nov 2026 15.00 WIB",
            }),
            "target_warning" => {
                serde_json::json!({ "ticket": ticket, "customer": { "name": "Maya Lestari" }, "target": { "kind": "first_response", "due": "Selasa, 25 Nov 2026 09.00 WIB" } })
            }
            "target_breach" => {
                serde_json::json!({ "ticket": ticket, "customer": { "name": "Maya Lestari" }, "target": { "kind": "resolution", "due": "Selasa, 25 Nov 2026 09.00 WIB" }, "agent": { "name": "Budi Agen" } })
            }
            "digest" => serde_json::json!({
                "date": "Rabu, 26 Nov 2026",
                "overdue_promises": [{ "agent": "Agen Telat", "count": 12, "items": [{ "number": "TGP-000007", "subject": "Sandal kebesaran", "due": "Selasa, 25 Nov 2026 10.00 WIB", "url": "https://desk.toko.test/tickets/7" }], "more": 11, "more_url": "https://desk.toko.test/queue?tab=all&overdue=true&assignee=3" }],
                "breaches": [{ "number": "TGP-000008", "subject": "Tas rotan pecah", "target_kind": "resolution", "due": "Selasa, 25 Nov 2026 16.00 WIB", "url": "https://desk.toko.test/tickets/8" }],
                "breaches_more": "999+", "breaches_url": "https://desk.toko.test/queue?tab=all&breached=true",
                "escalated": [{ "number": "TGP-000009", "subject": "Minta refund", "since": "Senin, 24 Nov 2026 11.00 WIB", "url": "https://desk.toko.test/tickets/9" }],
                "escalated_more": 2, "escalated_url": "https://desk.toko.test/queue?tab=escalated",
                "unshipped": [{ "number": "TGP-000010", "item": "Gamis katun", "days": 4, "url": "https://desk.toko.test/tickets/10" }],
                "unshipped_more": 1, "unshipped_url": "https://desk.toko.test/replacements",
            }),
            "customer_acknowledged" => {
                serde_json::json!({ "customer": { "name": "Maya Lestari" }, "ticket": customer_ticket, "agent": { "name": "Budi Agen" }, "message": "Terima kasih sudah mengabari kami", "link": "https://desk.toko.test/c/abc" })
            }
            "customer_proposal" => {
                serde_json::json!({ "customer": { "name": "Maya Lestari" }, "ticket": customer_ticket, "agent": { "name": "Budi Agen" }, "solution": { "text": "Kami kirim pengganti hari ini" }, "link": "https://desk.toko.test/c/abc" })
            }
            "customer_promise" => {
                serde_json::json!({ "customer": { "name": "Maya Lestari" }, "ticket": customer_ticket, "agent": { "name": "Budi Agen" }, "promise": { "what": "Kabari hasil cek gudang", "due": "Senin, 24 Nov 2026 14.00 WIB" } })
            }
            "customer_replacement_shipped" => {
                serde_json::json!({ "customer": { "name": "Maya Lestari" }, "ticket": { "number": "TGP-000042" }, "agent": { "name": "Budi Agen" }, "replacement": { "item": "Kaos Batik M", "quantity": 2, "courier": "JNE REG", "tracking_number": "JNE1234567" } })
            }
            "customer_resolved" => {
                serde_json::json!({ "customer": { "name": "Maya Lestari" }, "ticket": customer_ticket, "agent": { "name": "Budi Agen" }, "summary": "Pengganti sudah diterima", "link": "https://desk.toko.test/c/abc" })
            }
            other => panic!("no sample for {other}"),
        };
        let mut data = serde_json::json!({ "shop": { "name": "Toko Batik Sari" }, "recipient": { "name": "Rina Penerima" } });
        if let (Some(base), Some(extra)) = (data.as_object_mut(), extra.as_object()) {
            base.extend(extra.clone());
        }
        data
    }

    /// Every string and number in the data, except codes the templates turn into words.
    fn leaves(value: &Value, key: &str, out: &mut Vec<String>) {
        match value {
            Value::Object(map) => map.iter().for_each(|(k, v)| leaves(v, k, out)),
            Value::Array(items) => items.iter().for_each(|v| leaves(v, key, out)),
            Value::String(s) if !matches!(key, "kind" | "target_kind") => out.push(s.clone()),
            Value::Number(n) => out.push(n.to_string()),
            _ => {}
        }
    }

    #[test]
    fn every_template_renders_every_variable_in_both_languages() {
        let templates = EmailTemplates::load(true).expect("templates compile in strict mode");
        for kind in KINDS {
            for locale in [Locale::Id, Locale::En] {
                let data = sample(kind);
                let rendered = templates
                    .render(kind, locale, data.clone())
                    .unwrap_or_else(|e| panic!("{kind}/{locale:?}: {e:#}"));
                let mut values = Vec::new();
                leaves(&data, "", &mut values);
                for value in values {
                    assert!(
                        rendered.text.contains(&value),
                        "{kind}/{locale:?}: '{value}' missing from the text part:\n{}",
                        rendered.text
                    );
                }
                assert!(!rendered.subject.contains('\n'));
                assert!(
                    !rendered.html.contains("<sobek>"),
                    "{kind}/{locale:?}: data is escaped in HTML"
                );
                assert!(
                    rendered.html.contains("<html"),
                    "{kind}: wrapped in the layout"
                );
            }
        }
    }

    #[test]
    fn subjects_stay_on_one_line() {
        assert_eq!(
            one_line("Halo\r\nBcc: evil@x.test"),
            "Halo Bcc: evil@x.test"
        );
    }
}
