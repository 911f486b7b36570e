//! Email templates: for every kind and language a subject, a plain-text and an HTML part
//! (templates/email/{id,en}/), compiled into the binary. The subject and text render without
//! escaping (they are not HTML); the HTML part is escaped and wrapped in the shared layout.

use handlebars::Handlebars;
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

    pub fn render(&self, kind: &str, locale: Locale, data: &Value) -> anyhow::Result<Rendered> {
        let lang = locale.as_str();
        let subject = self.plain.render(&format!("{lang}/{kind}.subject"), data)?;
        let text = self.plain.render(&format!("{lang}/{kind}.text"), data)?;
        let body = self.html.render(&format!("{lang}/{kind}.html"), data)?;
        let mut layout_data = data.clone();
        if let Some(map) = layout_data.as_object_mut() {
            map.insert("body".into(), Value::String(body));
        }
        let html = self.html.render(&format!("{lang}/layout"), &layout_data)?;
        Ok(Rendered {
            subject: one_line(&subject),
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

    #[test]
    fn subjects_stay_on_one_line() {
        assert_eq!(
            one_line("Halo\r\nBcc: evil@x.test"),
            "Halo Bcc: evil@x.test"
        );
    }
}
