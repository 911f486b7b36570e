//! Properties of the parsers and the calm-reply check over arbitrary input: they never panic,
//! and what they accept is what they promise.

use proptest::prelude::*;
use tanggap::domain::{calm, contact, parse_ticket_number, ticket_number, user};

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn the_calm_check_takes_any_text(text in "\\PC{0,400}", locale in "(id|en|xx)") {
        for warning in calm::check(&text, &locale) {
            prop_assert!(!warning.advice.is_empty());
            prop_assert!(["shouting", "exclamations", "blaming", "defensive", "insult", "sarcasm"].contains(&warning.kind));
        }
    }

    #[test]
    fn phones_normalize_to_digits_or_refuse(raw in "[0-9 +()\\-.a-z]{0,30}") {
        if let Ok(phone) = contact::normalize_phone(&raw) {
            prop_assert!(phone.chars().all(|c| c.is_ascii_digit()));
            prop_assert!((8..=15).contains(&phone.len()));
            prop_assert!(!phone.starts_with('0'));
            // Normalizing again changes nothing.
            prop_assert_eq!(contact::normalize_phone(&phone), Ok(phone.clone()));
        }
    }

    #[test]
    fn handles_and_emails_never_carry_markup_or_headers(raw in "\\PC{0,80}") {
        if let Ok(handle) = contact::normalize_handle(&raw) {
            prop_assert!(handle.chars().all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '_'));
        }
        if let Ok(email) = user::Email::parse(&raw) {
            let text = email.as_str();
            prop_assert!(!text.contains(['\r', '\n', '<', '>', ',', ';', ' ']));
            prop_assert_eq!(text.matches('@').count(), 1);
        }
    }

    #[test]
    fn ticket_numbers_round_trip(id in 1i64..10_000_000) {
        prop_assert_eq!(parse_ticket_number(&ticket_number(id)), Some(id));
    }

    #[test]
    fn search_words_are_plain(query in "\\PC{0,120}") {
        for word in tanggap::db::search::words(&query) {
            prop_assert!(!word.is_empty() && word.chars().all(char::is_alphanumeric));
        }
    }
}
