//! The page renderer: one handlebars registry built at start (templates compiled into the
//! binary), with helpers for words from the catalogs (`t`), dates in the shop's zone (`dt`)
//! and rupiah (`rupiah`). Output is HTML-escaped by default; no template uses `{{{…}}}` on data.

use std::collections::HashMap;
use std::sync::Arc;

use handlebars::{
    Context, Handlebars, Helper, HelperResult, Output, RenderContext, RenderErrorReason,
};
use serde_json::Value;

use crate::config::Locale;

macro_rules! templates {
    ($($name:literal => $path:literal),* $(,)?) => {
        &[$(($name, include_str!(concat!("../../templates/", $path)))),*]
    };
}

const TEMPLATES: &[(&str, &str)] = templates!(
    "base" => "layouts/base.hbs",
    "bare" => "layouts/bare.hbs",
    "nav" => "partials/nav.hbs",
    "flash" => "partials/flash.hbs",
    "ticket_rows" => "partials/ticket_rows.hbs",
    "login" => "pages/login.hbs",
    "queue" => "pages/queue.hbs",
    "new_ticket" => "pages/new_ticket.hbs",
    "ticket" => "pages/ticket.hbs",
    "replacements" => "pages/replacements.hbs",
    "dashboard" => "pages/dashboard.hbs",
    "admin" => "pages/admin.hbs",
    "customer" => "pages/customer.hbs",
    "feedback" => "pages/feedback.hbs",
    "message" => "pages/message.hbs",
    "password" => "pages/password.hbs",
);

/// Every word of the interface, per language.
pub struct Catalogs {
    pub id: HashMap<String, String>,
    pub en: HashMap<String, String>,
}

impl Catalogs {
    pub fn load() -> anyhow::Result<Self> {
        Ok(Self {
            id: serde_json::from_str(include_str!("../i18n/id.json"))?,
            en: serde_json::from_str(include_str!("../i18n/en.json"))?,
        })
    }

    pub fn word<'a>(&'a self, locale: Locale, key: &'a str) -> &'a str {
        let catalog = match locale {
            Locale::Id => &self.id,
            Locale::En => &self.en,
        };
        catalog.get(key).map(String::as_str).unwrap_or(key)
    }

    /// The word for a stored value: `value_word(locale, "stage", "listened")` is the word of
    /// "stage.listened" (the key itself when the catalog lacks it).
    pub fn value_word(&self, locale: Locale, prefix: &str, value: &str) -> String {
        self.word(locale, &format!("{prefix}.{value}")).to_owned()
    }
}

/// `source` with every `{{> name}}` replaced by that template's text. Handlebars renders a
/// partial from a copy of the whole data tree (a queue page's 50 tickets, and in the layout
/// the rendered body too): three copies per page, a quarter of the page's time (BENCHMARKS.md
/// section 2). These partials take no parameters, so writing them in place is the same page.
fn inline_partials(source: &str, depth: usize) -> anyhow::Result<String> {
    anyhow::ensure!(depth < 4, "partials nested too deep");
    let mut out = String::with_capacity(source.len());
    let mut rest = source;
    while let Some(start) = rest.find("{{>") {
        let (before, tag) = rest.split_at(start);
        let end = tag
            .find("}}")
            .ok_or_else(|| anyhow::anyhow!("an unclosed partial tag"))?;
        let name = tag[3..end].trim();
        let (_, partial) = TEMPLATES
            .iter()
            .find(|(n, _)| *n == name)
            .ok_or_else(|| anyhow::anyhow!("no partial {name:?} (or it takes parameters)"))?;
        out.push_str(before);
        let line = &out[out.rfind('\n').map_or(0, |i| i + 1)..];
        anyhow::ensure!(
            line.is_empty() || !line.trim().is_empty(),
            "partial {name:?} is indented (handlebars would indent its lines)"
        );
        let at_line_start = line.is_empty();
        out.push_str(&inline_partials(partial, depth + 1)?);
        rest = &tag[end + 2..];
        anyhow::ensure!(
            !(at_line_start
                && !rest.starts_with(['\r', '\n'])
                && rest
                    .trim_start_matches([' ', '\t'])
                    .starts_with(['\r', '\n'])),
            "partial {name:?} has spaces after its tag (handlebars would drop them)"
        );
        // A tag alone on its line is "standalone": handlebars drops that line's end.
        if at_line_start {
            if let Some(after) = rest
                .strip_prefix("\r\n")
                .or_else(|| rest.strip_prefix('\n'))
            {
                rest = after;
            }
        }
    }
    out.push_str(rest);
    Ok(out)
}

pub struct Pages {
    registry: Handlebars<'static>,
    pub catalogs: Arc<Catalogs>,
    /// The shop's zone, in which every date is shown.
    pub zone: chrono_tz::Tz,
}

fn locale_of(ctx: &Context) -> Locale {
    ctx.data()
        .get("locale")
        .and_then(Value::as_str)
        .and_then(Locale::parse)
        .unwrap_or(Locale::Id)
}

impl Pages {
    pub fn load(zone: chrono_tz::Tz, strict: bool) -> anyhow::Result<Self> {
        Self::build(zone, strict, true)
    }

    /// `inline`: partials written in place (see `inline_partials`); off only to test that.
    fn build(zone: chrono_tz::Tz, strict: bool, inline: bool) -> anyhow::Result<Self> {
        let catalogs = Arc::new(Catalogs::load()?);
        let mut registry = Handlebars::new();
        registry.set_strict_mode(strict);
        for (name, source) in TEMPLATES {
            if inline {
                registry.register_template_string(name, inline_partials(source, 0)?)?;
            } else {
                registry.register_template_string(name, *source)?;
            }
        }
        let words = catalogs.clone();
        registry.register_helper(
            "t",
            Box::new(
                move |h: &Helper,
                      _: &Handlebars,
                      ctx: &Context,
                      _: &mut RenderContext,
                      out: &mut dyn Output|
                      -> HelperResult {
                    let key = h
                        .param(0)
                        .and_then(|p| p.value().as_str())
                        .ok_or(RenderErrorReason::ParamNotFoundForIndex("t", 0))?;
                    out.write(&handlebars::html_escape(words.word(locale_of(ctx), key)))?;
                    Ok(())
                },
            ),
        );
        // `{{tv "stage" value}}`: the word for a stored value, e.g. "stage.listened".
        let words = catalogs.clone();
        registry.register_helper(
            "tv",
            Box::new(
                move |h: &Helper,
                      _: &Handlebars,
                      ctx: &Context,
                      _: &mut RenderContext,
                      out: &mut dyn Output|
                      -> HelperResult {
                    let prefix = h.param(0).and_then(|p| p.value().as_str()).unwrap_or("");
                    let value = match h.param(1).map(|p| p.value()) {
                        Some(Value::String(s)) => s.clone(),
                        Some(Value::Number(n)) => n.to_string(),
                        _ => return Ok(()),
                    };
                    let word = words.value_word(locale_of(ctx), prefix, &value);
                    out.write(&handlebars::html_escape(&word))?;
                    Ok(())
                },
            ),
        );
        registry.register_helper(
            "dt",
            Box::new(
                move |h: &Helper,
                      _: &Handlebars,
                      ctx: &Context,
                      _: &mut RenderContext,
                      out: &mut dyn Output|
                      -> HelperResult {
                    let text = h
                        .param(0)
                        .and_then(|p| p.value().as_str())
                        .and_then(|raw| chrono::DateTime::parse_from_rfc3339(raw).ok())
                        .map(|t| {
                            crate::i18n::format_datetime(
                                t.with_timezone(&chrono::Utc),
                                zone,
                                locale_of(ctx),
                            )
                        })
                        .unwrap_or_default();
                    out.write(&handlebars::html_escape(&text))?;
                    Ok(())
                },
            ),
        );
        // `{{since t}}`: how long ago a moment was ("3 jam 5 menit"), for how late a promise is.
        registry.register_helper(
            "since",
            Box::new(
                |h: &Helper,
                 _: &Handlebars,
                 ctx: &Context,
                 _: &mut RenderContext,
                 out: &mut dyn Output|
                 -> HelperResult {
                    let minutes = h
                        .param(0)
                        .and_then(|p| p.value().as_str())
                        .and_then(|raw| chrono::DateTime::parse_from_rfc3339(raw).ok())
                        .map(|t| (chrono::Utc::now() - t.with_timezone(&chrono::Utc)).num_minutes())
                        .unwrap_or(0);
                    out.write(&handlebars::html_escape(&crate::i18n::format_duration(
                        minutes,
                        locale_of(ctx),
                    )))?;
                    Ok(())
                },
            ),
        );
        registry.register_helper(
            "rupiah",
            Box::new(
                |h: &Helper,
                 _: &Handlebars,
                 ctx: &Context,
                 _: &mut RenderContext,
                 out: &mut dyn Output|
                 -> HelperResult {
                    let amount = h.param(0).and_then(|p| p.value().as_i64()).unwrap_or(0);
                    out.write(&crate::i18n::format_rupiah(amount, locale_of(ctx)))?;
                    Ok(())
                },
            ),
        );
        Ok(Self {
            registry,
            catalogs,
            zone,
        })
    }

    /// Renders page `name` inside the layout (`base` for the desk, `bare` for customers and
    /// the public form).
    ///
    /// Both renderings read the one `data` tree: `Registry::render` would serialize a copy of
    /// it each time, and copying the tree was most of a queue page's cost (perf: malloc and
    /// map clones ~35 % of the CPU at 2 clients).
    pub fn render(&self, layout: &str, name: &str, data: Value) -> anyhow::Result<String> {
        let mut context = Context::from(data);
        let body = self.registry.render_with_context(name, &context)?;
        if let Some(map) = context.data_mut().as_object_mut() {
            map.insert("body".into(), Value::String(body));
        }
        Ok(self.registry.render_with_context(layout, &context)?)
    }

    /// The words the templates ask for with `{{t "…"}}`, for the catalog test.
    pub fn words_used() -> Vec<String> {
        let mut keys = Vec::new();
        for (_, source) in TEMPLATES {
            let mut rest = *source;
            while let Some(i) = rest.find("{{t \"") {
                rest = &rest[i + 5..];
                if let Some(end) = rest.find('"') {
                    keys.push(rest[..end].to_owned());
                }
            }
        }
        keys.sort();
        keys.dedup();
        keys
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partials_written_in_place_render_the_same_page() {
        let zone = chrono_tz::Asia::Jakarta;
        let inlined = Pages::load(zone, false).unwrap();
        let partials = Pages::build(zone, false, false).unwrap();
        let row = serde_json::json!({
            "id": 7, "number": "TGP-000007", "subject": "Jahitan <lepas>",
            "channel_word": "WhatsApp", "kind_word": "Keluhan", "customer_name": "Bu Sari & anak",
            "step": 3, "stage_word": "Didengar", "priority": "high", "priority_word": "Tinggi",
            "row_class": "overdue breached", "breached": true,
            "finished": false, "promise": "Jum, 20 Nov 10.00 WIB", "late": "7 hari",
            "resolution_due_at": "2026-11-28T03:00:00Z", "resolution_due": "Sab, 28 Nov 10.00 WIB",
        });
        let data = serde_json::json!({
            "locale": "id", "nav": "queue", "tab": "mine",
            "me": {"name": "Budi", "role": "manager", "senior": true},
            "flash": {"kind": "error", "text": "Tiket <berubah>", "stale": true}, "path": "/queue",
            "tabs": [{"id": "mine", "count": "3", "active": true, "label": "tab.mine"}],
            "tickets": [row.clone(), row], "filters": {"q": "jahit"}, "partners": [],
            "next_url": "/queue?tab=mine&before=7", "stages": ["new"], "channels": ["whatsapp"],
            "categories": ["shipping"], "priorities": ["high"],
        });
        let page = inlined.render("base", "queue", data.clone()).unwrap();
        assert!(page.contains("TGP-000007") && page.contains("Bu Sari &amp; anak"));
        assert_eq!(
            page,
            partials.render("base", "queue", data.clone()).unwrap()
        );
        let not_pages = ["base", "bare", "nav", "flash", "ticket_rows"];
        for (name, _) in TEMPLATES {
            if !not_pages.contains(name) {
                for layout in ["base", "bare"] {
                    // (Pages whose data this is not may fail: then both do.)
                    assert_eq!(
                        inlined.render(layout, name, data.clone()).ok(),
                        partials.render(layout, name, data.clone()).ok(),
                        "{layout} {name}"
                    );
                }
            }
        }
        for (name, _) in TEMPLATES {
            let source = inline_partials(TEMPLATES.iter().find(|(n, _)| n == name).unwrap().1, 0);
            assert!(!source.unwrap().contains("{{>"), "{name}");
        }
    }

    #[test]
    fn every_word_is_in_both_catalogs() {
        let catalogs = Catalogs::load().unwrap();
        let used = Pages::words_used();
        assert!(used.len() > 50, "{}", used.len());
        for key in used {
            assert!(catalogs.id.contains_key(&key), "id.json lacks '{key}'");
            assert!(catalogs.en.contains_key(&key), "en.json lacks '{key}'");
        }
        let mut id_keys: Vec<_> = catalogs.id.keys().collect();
        let mut en_keys: Vec<_> = catalogs.en.keys().collect();
        id_keys.sort();
        en_keys.sort();
        assert_eq!(id_keys, en_keys, "both catalogs have the same words");
    }

    /// Words for stored values (`{{tv "stage" …}}`) exist for every value.
    #[test]
    fn every_value_has_a_word() {
        use crate::domain::{playbook::Stage, replacement::ReplacementStatus, vocab::*};
        let catalogs = Catalogs::load().unwrap();
        let mut keys: Vec<String> = Vec::new();
        keys.extend(Stage::ALL.iter().map(|v| format!("stage.{}", v.as_str())));
        keys.extend(
            Channel::ALL
                .iter()
                .map(|v| format!("channel.{}", v.as_str())),
        );
        keys.extend(
            Category::ALL
                .iter()
                .map(|v| format!("category.{}", v.as_str())),
        );
        keys.extend(
            Priority::ALL
                .iter()
                .map(|v| format!("priority.{}", v.as_str())),
        );
        keys.extend(
            SolutionType::ALL
                .iter()
                .map(|v| format!("solution.{}", v.as_str())),
        );
        keys.extend(Kind::ALL.iter().map(|v| format!("kind.{}", v.as_str())));
        keys.extend(
            ReplacementStatus::ALL
                .iter()
                .map(|v| format!("replacement.{}", v.as_str())),
        );
        keys.extend(crate::pages::queue::TABS.iter().map(|t| format!("tab.{t}")));
        keys.extend((1..=6).map(|n| format!("step.{n}")));
        keys.extend((0..7).map(|n| format!("weekday.{n}")));
        keys.extend(
            [
                "acknowledge",
                "record",
                "diagnose",
                "propose",
                "customer_response",
                "continue_escalated",
                "resolve",
                "close",
                "none",
            ]
            .iter()
            .map(|g| format!("guide.{g}")),
        );
        keys.extend(
            [
                "overdue_by_agent",
                "open_by_stage",
                "by_category",
                "by_product",
                "by_partner",
                "by_channel",
            ]
            .iter()
            .map(|d| format!("dash.{d}")),
        );
        keys.extend(
            [
                "created",
                "acknowledged",
                "recorded",
                "diagnosed",
                "proposed",
                "customer_response",
                "escalated",
                "resolved",
                "closed",
                "reopened",
                "reply",
                "note",
                "assigned",
                "updated",
                "promise_made",
                "promise_kept",
                "promise_broken",
                "replacement_requested",
                "replacement_approved",
                "replacement_shipped",
                "replacement_delivered",
                "replacement_cancelled",
                "overdue_alert_sent",
                "overdue_alert_escalated",
                "promise_reminder_sent",
                "target_warning_sent",
                "target_breached",
                "customer_emailed",
                "rated",
            ]
            .iter()
            .map(|e| format!("event.{e}")),
        );
        keys.extend(
            ["agent", "manager", "admin"]
                .iter()
                .map(|r| format!("role.{r}")),
        );
        for key in keys {
            assert!(
                catalogs.id.contains_key(&key) && catalogs.en.contains_key(&key),
                "missing '{key}'"
            );
        }
    }

    #[test]
    fn templates_compile_and_escape() {
        let pages = Pages::load(chrono_tz::Asia::Jakarta, false).unwrap();
        let html = pages
            .render("bare", "message", serde_json::json!({ "locale": "en", "title": "<script>alert(1)</script>", "text": "x" }))
            .unwrap();
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(!html.contains("<script>alert(1)"));
    }
}
