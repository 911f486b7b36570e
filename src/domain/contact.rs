//! Customer contact details, normalized so that one person is found again as one customer
//! however the agent typed the number or handle.

/// A phone or WhatsApp number as digits with the country code: "0812-3456 789",
/// "+62 812 3456 789" and "6281234567 89" all become "628123456789".
pub fn normalize_phone(raw: &str) -> Result<String, String> {
    let digits: String = raw.chars().filter(char::is_ascii_digit).collect();
    let bad = raw
        .chars()
        .any(|c| !(c.is_ascii_digit() || " +-().".contains(c)));
    if bad {
        return Err("may contain only digits, spaces, +, -, ( and )".into());
    }
    let normalized = if let Some(rest) = digits.strip_prefix('0') {
        format!("62{rest}")
    } else {
        digits
    };
    if !(8..=15).contains(&normalized.len()) {
        return Err("must have 8 to 15 digits".into());
    }
    Ok(normalized)
}

/// An Instagram handle without the @, lower-cased.
pub fn normalize_handle(raw: &str) -> Result<String, String> {
    let handle = raw.trim().trim_start_matches('@').to_lowercase();
    let handle = handle
        .trim_start_matches("https://www.instagram.com/")
        .trim_start_matches("instagram.com/")
        .trim_end_matches('/')
        .to_owned();
    if handle.is_empty() || handle.len() > 30 {
        return Err("must be 1 to 30 characters".into());
    }
    if !handle
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '_')
    {
        return Err("may contain only letters, digits, . and _".into());
    }
    Ok(handle)
}

/// A customer search term as stored values read: lower-cased, and a number typed the local
/// way ("0857 12") turned into the stored prefix ("6285712").
pub fn search_term(raw: &str) -> String {
    let term = raw.trim().to_lowercase();
    let looks_like_phone = !term.is_empty()
        && term
            .chars()
            .all(|c| c.is_ascii_digit() || " +-().".contains(c));
    if !looks_like_phone {
        return term;
    }
    let digits: String = term.chars().filter(char::is_ascii_digit).collect();
    match digits.strip_prefix('0') {
        Some(rest) => format!("62{rest}"),
        None => digits,
    }
}

/// Why text holding a NUL character is refused (here, and by `text_guard` for every request).
pub const NUL_REFUSED: &str = "must not contain a NUL character";

/// Trimmed text of at most `max` characters; `None` when empty.
pub fn optional_text(raw: Option<&str>, max: usize) -> Result<Option<String>, String> {
    match raw.map(str::trim) {
        None | Some("") => Ok(None),
        Some(text) if text.chars().count() > max => {
            Err(format!("must be at most {max} characters"))
        }
        // PostgreSQL refuses the NUL character in text (found by the fuzzer: a 500).
        Some(text) if text.contains('\0') => Err(NUL_REFUSED.to_owned()),
        Some(text) => Ok(Some(text.to_owned())),
    }
}

/// Trimmed, non-empty text of at most `max` characters.
pub fn required_text(raw: &str, max: usize) -> Result<String, String> {
    optional_text(Some(raw), max)?.ok_or_else(|| "must not be empty".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_with_a_nul_character_is_refused() {
        assert!(required_text("kain \0 robek", 100).is_err());
        assert!(optional_text(Some("\0"), 100).is_err());
        assert_eq!(required_text(" kain robek ", 100).unwrap(), "kain robek");
    }

    #[test]
    fn phones_compare_alike_however_written() {
        for raw in [
            "0812-3456-789",
            "+62 812 3456 789",
            "62812 3456789",
            "(0812) 3456789",
        ] {
            assert_eq!(normalize_phone(raw).unwrap(), "628123456789", "{raw}");
        }
        assert!(normalize_phone("12").is_err());
        assert!(normalize_phone("0812abc").is_err());
    }

    #[test]
    fn handles_lose_the_at_and_case() {
        assert_eq!(normalize_handle("@Toko.Sari_").unwrap(), "toko.sari_");
        assert_eq!(
            normalize_handle("https://www.instagram.com/tokosari/").unwrap(),
            "tokosari"
        );
        assert!(normalize_handle("bad handle").is_err());
    }

    #[test]
    fn search_terms_read_like_stored_values() {
        assert_eq!(search_term(" 0857 12"), "6285712");
        assert_eq!(search_term("+62 857"), "62857");
        assert_eq!(search_term("Rudi"), "rudi");
    }

    #[test]
    fn text_limits() {
        assert_eq!(required_text("  hi ", 10).unwrap(), "hi");
        assert!(required_text("   ", 10).is_err());
        assert!(optional_text(Some("x".repeat(11).as_str()), 10).is_err());
        assert_eq!(optional_text(Some(" "), 10).unwrap(), None);
    }
}
