//! The calm-reply check: playbook step 1, "jangan emosi".
//!
//! Before an agent sends a public reply, the draft is read for wording that sounds heated:
//! shouting, piles of exclamation marks, blaming the customer, defending ourselves, insults
//! and sarcasm. The check never blocks a reply. It only returns warnings, because a word list
//! cannot see the whole conversation and the agent has the last word.
//!
//! The phrase lists are data, in `calm_words/id.txt` and `calm_words/en.txt`, so that people
//! who know how Indonesian sellers and customers really write can extend them without reading
//! Rust. Both lists are checked on every draft whatever the agent's language, because
//! customers and agents mix Indonesian and English in one chat. The format is described at
//! the top of each file.

use std::collections::{HashMap, HashSet};
use std::sync::OnceLock;

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CalmWarning {
    /// one of: "shouting", "exclamations", "blaming", "defensive", "insult", "sarcasm"
    pub kind: &'static str,
    /// the words of the draft that triggered it (as written in the draft)
    pub excerpt: String,
    /// a short suggestion in the requested language (Indonesian for "id", English for "en")
    pub advice: String,
}

/// `locale` is "id" or "en" (anything else -> "id"). Checks BOTH languages' word lists
/// (customers and agents mix languages), but writes advice in `locale`.
///
/// Warnings come in the order their excerpts appear in the draft. The same kind with the
/// same words is reported once, however often the draft repeats it.
pub fn check(text: &str, locale: &str) -> Vec<CalmWarning> {
    let language = Language::from_locale(locale);
    let mut findings = find_shouting(text);
    findings.extend(find_exclamations(text));
    findings.extend(find_phrases(text));
    // The sort is stable, so findings that start at the same place keep the order above.
    findings.sort_by_key(|finding| finding.start);

    let mut reported = HashSet::new();
    findings
        .into_iter()
        .filter(|finding| reported.insert((finding.kind, folded_excerpt(&finding.excerpt))))
        .map(|finding| CalmWarning {
            kind: finding.kind.name(),
            advice: finding.kind.advice(language).to_string(),
            excerpt: finding.excerpt,
        })
        .collect()
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Language {
    Indonesian,
    English,
}

impl Language {
    fn from_locale(locale: &str) -> Language {
        if locale.trim().eq_ignore_ascii_case("en") {
            Language::English
        } else {
            Language::Indonesian
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Kind {
    Shouting,
    Exclamations,
    Blaming,
    Defensive,
    Insult,
    Sarcasm,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Shouting => "shouting",
            Kind::Exclamations => "exclamations",
            Kind::Blaming => "blaming",
            Kind::Defensive => "defensive",
            Kind::Insult => "insult",
            Kind::Sarcasm => "sarcasm",
        }
    }

    /// The kinds a phrase list may name. Shouting and exclamations are found by shape, not
    /// by words, so a list cannot use them.
    fn from_list_name(name: &str) -> Option<Kind> {
        match name {
            "blaming" => Some(Kind::Blaming),
            "defensive" => Some(Kind::Defensive),
            "insult" => Some(Kind::Insult),
            "sarcasm" => Some(Kind::Sarcasm),
            _ => None,
        }
    }

    fn advice(self, language: Language) -> &'static str {
        match (self, language) {
            (Kind::Shouting, Language::Indonesian) => {
                "Tulis dengan huruf biasa; huruf kapital semua terbaca seperti membentak."
            }
            (Kind::Shouting, Language::English) => {
                "Write in normal sentence case; whole words in capitals read as shouting."
            }
            (Kind::Exclamations, Language::Indonesian) => {
                "Cukup satu tanda seru, atau ganti dengan titik; tanda seru beruntun terkesan marah."
            }
            (Kind::Exclamations, Language::English) => {
                "Use one exclamation mark at most, or a full stop; a row of them reads as anger."
            }
            (Kind::Blaming, Language::Indonesian) => {
                "Hindari menyalahkan pelanggan; akui masalahnya dan tawarkan langkah berikutnya."
            }
            (Kind::Blaming, Language::English) => {
                "Avoid blaming the customer; acknowledge the problem and offer the next step."
            }
            (Kind::Defensive, Language::Indonesian) => {
                "Jangan membela diri; jelaskan apa adanya dan sampaikan apa yang akan kami lakukan."
            }
            (Kind::Defensive, Language::English) => {
                "Don't defend the shop; say plainly what happened and what we will do about it."
            }
            (Kind::Insult, Language::Indonesian) => {
                "Hapus kata kasar ini; kritik pada produk bukan serangan pribadi."
            }
            (Kind::Insult, Language::English) => {
                "Remove the insult; criticism of the product is not a personal attack."
            }
            (Kind::Sarcasm, Language::Indonesian) => {
                "Hindari sindiran dan nada meremehkan; tulis langsung dan sopan apa yang bisa kami bantu."
            }
            (Kind::Sarcasm, Language::English) => {
                "Avoid sarcasm and talking down; say directly and politely how we can help."
            }
        }
    }
}

/// Something heated found in the draft, before it is deduplicated and given advice.
#[derive(Debug)]
struct Finding {
    kind: Kind,
    /// Byte offset in the draft, used only to order the warnings.
    start: usize,
    excerpt: String,
}

/// Two excerpts that differ only in case or spacing are the same warning to the agent.
fn folded_excerpt(excerpt: &str) -> String {
    excerpt
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

// ---------------------------------------------------------------------------------------
// Shouting

/// Short, well-known capitalised words that sellers write in capitals as a matter of course:
/// couriers, payment methods, time zones, documents. They are neither shouting on their own
/// nor a part of a shouted run, so "kirim via JNE YES, bayar COD" stays quiet.
const USUAL_CAPITALS: &[&str] = &[
    "API", "ATM", "BCA", "BNI", "BRI", "BSI", "BTN", "CIMB", "COD", "DANA", "ETA", "FAQ", "GMT",
    "IDR", "JNE", "JNT", "KTP", "NIK", "NPWP", "OTP", "OVO", "PDF", "PIN", "POS", "PPN", "QRIS",
    "REG", "RMA", "SAP", "SKU", "SMS", "SOP", "SPX", "TGP", "TIKI", "UKM", "UMKM", "URL", "USD",
    "UTC", "WIB", "WIT", "WITA", "YES",
];

/// A run of at least this many capitalised words is shouting.
const SHOUTED_RUN_WORDS: usize = 2;
/// Words shorter than this ("OK", "CS", "I") are too short to shout.
const SHOUTED_WORD_LETTERS: usize = 3;
/// Below this many letters a text is too short to judge by its share of capitals.
const CAPITALS_SHARE_MIN_LETTERS: usize = 12;
/// More than this percentage of capital letters reads as shouting even without a run.
const CAPITALS_SHARE_PERCENT: usize = 60;
/// How much of the draft a whole-text shouting warning quotes.
const WHOLE_TEXT_EXCERPT_CHARS: usize = 80;

/// Characters that keep a word together when they sit between two letters or digits, so
/// "TGP-000123" and "DON'T" are one word each when judging capitals.
const CAPITALS_WORD_JOINERS: &[char] = &['\'', '\u{2019}', '-'];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum WordCase {
    /// Has a lower-case letter, so it ends any run of capitals.
    Lower,
    /// All capitals and long enough to count towards a shouted run.
    Shouted,
    /// Neither: numbers, order numbers, short words, the usual acronyms. They neither count
    /// nor break a run, so "SAYA SUDAH KIRIM VIA JNE" is still one shouted run.
    Neutral,
}

fn find_shouting(text: &str) -> Vec<Finding> {
    let mut findings = Vec::new();
    let mut run: Option<(usize, usize, usize)> = None;
    let mut letters = 0;
    let mut capitals = 0;

    for (start, end) in word_spans(text, CAPITALS_WORD_JOINERS) {
        let word = &text[start..end];
        let case = word_case(word);
        if !is_code_or_usual_capitals(word) {
            letters += word.chars().filter(|c| c.is_alphabetic()).count();
            capitals += word.chars().filter(|c| c.is_uppercase()).count();
        }
        match case {
            WordCase::Shouted => {
                let (run_start, _, count) = run.unwrap_or((start, end, 0));
                run = Some((run_start, end, count + 1));
            }
            WordCase::Lower => {
                if let Some(finding) = shouted_run(text, run.take()) {
                    findings.push(finding);
                }
            }
            WordCase::Neutral => {}
        }
    }
    if let Some(finding) = shouted_run(text, run.take()) {
        findings.push(finding);
    }

    let mostly_capitals =
        letters >= CAPITALS_SHARE_MIN_LETTERS && capitals * 100 > letters * CAPITALS_SHARE_PERCENT;
    // A shouted run already points at the loud words; quoting the whole text as well would
    // only repeat it.
    if findings.is_empty() && mostly_capitals {
        let trimmed = text.trim_start();
        findings.push(Finding {
            kind: Kind::Shouting,
            start: text.len() - trimmed.len(),
            excerpt: shortened(trimmed, WHOLE_TEXT_EXCERPT_CHARS).to_string(),
        });
    }
    findings
}

fn shouted_run(text: &str, run: Option<(usize, usize, usize)>) -> Option<Finding> {
    let (start, end, count) = run?;
    (count >= SHOUTED_RUN_WORDS).then(|| Finding {
        kind: Kind::Shouting,
        start,
        excerpt: text[start..end].to_string(),
    })
}

fn word_case(word: &str) -> WordCase {
    if word.chars().any(char::is_lowercase) {
        return WordCase::Lower;
    }
    let capitals = word.chars().filter(|c| c.is_uppercase()).count();
    let all_letters_capital = word
        .chars()
        .filter(|c| c.is_alphabetic())
        .all(char::is_uppercase);
    if is_code_or_usual_capitals(word) || capitals < SHOUTED_WORD_LETTERS || !all_letters_capital {
        WordCase::Neutral
    } else {
        WordCase::Shouted
    }
}

/// Order numbers, tracking numbers and the usual acronyms are written in capitals by
/// convention, so they say nothing about the writer's mood.
fn is_code_or_usual_capitals(word: &str) -> bool {
    word.chars().any(|c| c.is_ascii_digit()) || USUAL_CAPITALS.contains(&word)
}

/// The text cut at a word boundary to at most `limit` characters.
fn shortened(text: &str, limit: usize) -> &str {
    let text = text.trim_end();
    let Some((cut, _)) = text.char_indices().nth(limit) else {
        return text;
    };
    let head = &text[..cut];
    match head.rfind(char::is_whitespace) {
        Some(space) => head[..space].trim_end(),
        None => head,
    }
}

// ---------------------------------------------------------------------------------------
// Exclamation marks

/// This many exclamation marks in a row ("!!", "!?!", "?!?!") read as raised voice.
const EXCLAMATIONS_IN_A_ROW: usize = 2;
/// This many exclamation marks in one draft, even spread out, read the same way.
const EXCLAMATIONS_IN_TOTAL: usize = 3;

fn find_exclamations(text: &str) -> Vec<Finding> {
    let runs = mark_runs(text);
    let total: usize = runs.iter().map(|run| run.exclamations).sum();

    let loud_runs: Vec<Finding> = runs
        .iter()
        .filter(|run| run.exclamations >= EXCLAMATIONS_IN_A_ROW)
        .map(|run| {
            let start = start_of_word_before(text, run.start);
            Finding {
                kind: Kind::Exclamations,
                start,
                excerpt: text[start..run.end].to_string(),
            }
        })
        .collect();
    if !loud_runs.is_empty() || total < EXCLAMATIONS_IN_TOTAL {
        return loud_runs;
    }

    // Single marks spread over the draft: quote each with the word it follows, so the agent
    // sees where they are without reading the whole draft back.
    let pieces: Vec<(usize, &str)> = runs
        .iter()
        .filter(|run| run.exclamations > 0)
        .map(|run| {
            let start = start_of_word_before(text, run.start);
            (start, &text[start..run.end])
        })
        .collect();
    vec![Finding {
        kind: Kind::Exclamations,
        start: pieces.first().map_or(0, |(start, _)| *start),
        excerpt: pieces
            .iter()
            .map(|(_, piece)| *piece)
            .collect::<Vec<_>>()
            .join(" … "),
    }]
}

/// A run of exclamation and question marks with nothing between them.
struct MarkRun {
    start: usize,
    end: usize,
    exclamations: usize,
}

fn mark_runs(text: &str) -> Vec<MarkRun> {
    let mut runs: Vec<MarkRun> = Vec::new();
    for (index, character) in text.char_indices() {
        let exclamations = match character {
            '!' | '\u{FF01}' | '\u{A1}' | '\u{2049}' | '\u{2048}' => 1,
            '\u{203C}' => 2,
            '?' | '\u{FF1F}' | '\u{BF}' => 0,
            _ => continue,
        };
        let end = index + character.len_utf8();
        match runs.last_mut() {
            Some(run) if run.end == index => {
                run.end = end;
                run.exclamations += exclamations;
            }
            _ => runs.push(MarkRun {
                start: index,
                end,
                exclamations,
            }),
        }
    }
    runs
}

/// Where the word just before `position` starts (spaces between them allowed), or
/// `position` itself when no word is there.
fn start_of_word_before(text: &str, position: usize) -> usize {
    let before = text[..position].trim_end();
    let mut start = before.len();
    for (index, character) in before.char_indices().rev() {
        if character.is_alphanumeric() || APOSTROPHES.contains(&character) {
            start = index;
        } else {
            break;
        }
    }
    if start == before.len() {
        position
    } else {
        start
    }
}

// ---------------------------------------------------------------------------------------
// Phrase lists

const INDONESIAN_WORDS: &str = include_str!("calm_words/id.txt");
const ENGLISH_WORDS: &str = include_str!("calm_words/en.txt");

/// Apostrophes are part of a word ("didn't") and are dropped when comparing, so "didnt"
/// written without one matches too.
const APOSTROPHES: &[char] = &['\'', '\u{2019}', '\u{2018}'];

/// The lists are parsed once per process. A line the parser cannot read is skipped rather
/// than failing a reply; the tests below refuse any such line, so none reaches a release.
fn phrase_books() -> &'static [PhraseBook; 2] {
    static BOOKS: OnceLock<[PhraseBook; 2]> = OnceLock::new();
    BOOKS.get_or_init(|| {
        [
            PhraseBook::parse(INDONESIAN_WORDS).0,
            PhraseBook::parse(ENGLISH_WORDS).0,
        ]
    })
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Entry {
    Heated(Kind),
    /// A harmless phrase that contains a heated one ("you should have received"). Heated
    /// matches overlapping it are dropped.
    Calm,
}

#[derive(Debug)]
struct Phrase {
    /// Lower-cased words with each spelling variant replaced by its usual form.
    words: Vec<String>,
    entry: Entry,
    /// The phrase counts only when nothing but punctuation or the end of the text follows
    /// it: "Terserah." is dismissive, "terserah kakak mau warna apa" is a polite offer.
    at_clause_end: bool,
}

/// One language's list, ready for matching.
#[derive(Debug, Default)]
struct PhraseBook {
    /// Chat spelling -> the usual word ("gak" -> "tidak", "lo" -> "anda").
    spellings: HashMap<String, String>,
    /// Forms of address ("kak", "pak"). A comma next to one usually marks a vocative
    /// ("Kak, yang salah kirim kami"), so punctuation is not skipped beside them.
    address_words: HashSet<String>,
    /// Phrases by their first word, so a draft is scanned once per book.
    phrases_by_first_word: HashMap<String, Vec<Phrase>>,
}

impl PhraseBook {
    /// Reads a list file; the second value names every line that could not be used.
    fn parse(source: &str) -> (PhraseBook, Vec<String>) {
        let mut book = PhraseBook::default();
        let mut problems = Vec::new();
        let lines: Vec<(usize, Vec<&str>)> = source
            .lines()
            .enumerate()
            .filter(|(_, line)| {
                let line = line.trim();
                !line.is_empty() && !line.starts_with('#')
            })
            .map(|(index, line)| {
                let fields = line
                    .split('\t')
                    .map(str::trim)
                    .filter(|field| !field.is_empty())
                    .collect();
                (index + 1, fields)
            })
            .collect();

        // Spellings first, wherever they stand in the file, because every phrase is folded
        // with them.
        for (number, fields) in &lines {
            match fields.as_slice() {
                ["same", usual, variants] => {
                    let usual = fold_word(usual);
                    for variant in variants.split_whitespace().map(fold_word) {
                        let previous = book.spellings.insert(variant.clone(), usual.clone());
                        if previous.is_some_and(|previous| previous != usual) {
                            problems.push(format!("line {number}: {variant} has two usual forms"));
                        }
                    }
                }
                ["address", words] => {
                    book.address_words
                        .extend(words.split_whitespace().map(fold_word));
                }
                ["same" | "address", ..] => {
                    problems.push(format!("line {number}: expected two fields after the kind"))
                }
                _ => {}
            }
        }

        let mut seen = HashSet::new();
        for (number, fields) in &lines {
            let (kind, phrase, at_clause_end) = match fields.as_slice() {
                ["same" | "address", ..] => continue,
                [kind, phrase] => (*kind, *phrase, false),
                [kind, phrase, "at-end"] => (*kind, *phrase, true),
                _ => {
                    problems.push(format!("line {number}: expected kind<TAB>phrase"));
                    continue;
                }
            };
            let entry = match (kind, Kind::from_list_name(kind)) {
                ("calm", _) => Entry::Calm,
                (_, Some(kind)) => Entry::Heated(kind),
                (_, None) => {
                    problems.push(format!("line {number}: unknown kind {kind}"));
                    continue;
                }
            };
            let words: Vec<String> = word_spans(phrase, APOSTROPHES)
                .into_iter()
                .map(|(start, end)| book.usual_form(&fold_word(&phrase[start..end])))
                .collect();
            let Some(first_word) = words.first().cloned() else {
                problems.push(format!("line {number}: the phrase has no words"));
                continue;
            };
            if !seen.insert(words.clone()) {
                problems.push(format!(
                    "line {number}: {phrase} repeats an earlier phrase once spellings are folded"
                ));
                continue;
            }
            book.phrases_by_first_word
                .entry(first_word)
                .or_default()
                .push(Phrase {
                    words,
                    entry,
                    at_clause_end,
                });
        }
        (book, problems)
    }

    fn usual_form(&self, folded: &str) -> String {
        self.spellings
            .get(folded)
            .cloned()
            .unwrap_or_else(|| folded.to_string())
    }

    /// Every place in the draft where one of this book's phrases occurs.
    fn find(&self, text: &str, words: &[DraftWord]) -> Vec<PhraseMatch> {
        let usual: Vec<String> = words
            .iter()
            .map(|word| self.usual_form(&word.folded))
            .collect();
        let mut matches = Vec::new();
        for first in 0..words.len() {
            let Some(phrases) = self.phrases_by_first_word.get(&usual[first]) else {
                continue;
            };
            for phrase in phrases {
                let last = first + phrase.words.len() - 1;
                if last >= words.len() || usual[first..=last] != phrase.words[..] {
                    continue;
                }
                let gaps_are_soft = (first..last)
                    .all(|index| self.gap_is_soft(text, &words[index], &words[index + 1]));
                if !gaps_are_soft {
                    continue;
                }
                if phrase.at_clause_end && !ends_clause(text, words, last) {
                    continue;
                }
                matches.push(PhraseMatch {
                    start: words[first].start,
                    end: words[last].end,
                    entry: phrase.entry,
                });
            }
        }
        matches
    }

    /// Whether two neighbouring draft words may belong to one phrase. Spaces and light
    /// punctuation are skipped ("bukan, salah kami"), but a sentence or line ending is not,
    /// and neither is punctuation beside a form of address.
    fn gap_is_soft(&self, text: &str, left: &DraftWord, right: &DraftWord) -> bool {
        let gap = &text[left.end..right.start];
        if gap
            .chars()
            .all(|c| c.is_whitespace() && c != '\n' && c != '\r')
        {
            return true;
        }
        !self.address_words.contains(&left.folded)
            && !self.address_words.contains(&right.folded)
            && !ends_sentence(gap)
    }
}

/// A word of the draft with its place, lower-cased and without apostrophes.
#[derive(Debug)]
struct DraftWord {
    start: usize,
    end: usize,
    folded: String,
}

#[derive(Debug)]
struct PhraseMatch {
    start: usize,
    end: usize,
    entry: Entry,
}

fn find_phrases(text: &str) -> Vec<Finding> {
    let words: Vec<DraftWord> = word_spans(text, APOSTROPHES)
        .into_iter()
        .map(|(start, end)| DraftWord {
            start,
            end,
            folded: fold_word(&text[start..end]),
        })
        .collect();
    let matches: Vec<PhraseMatch> = phrase_books()
        .iter()
        .flat_map(|book| book.find(text, &words))
        .collect();

    let calm_spans: Vec<(usize, usize)> = matches
        .iter()
        .filter(|found| found.entry == Entry::Calm)
        .map(|found| (found.start, found.end))
        .collect();
    let mut heated: Vec<(Kind, usize, usize)> = matches
        .iter()
        .filter_map(|found| match found.entry {
            Entry::Heated(kind) => Some((kind, found.start, found.end)),
            Entry::Calm => None,
        })
        .filter(|(_, start, end)| {
            !calm_spans
                .iter()
                .any(|(calm_start, calm_end)| start < calm_end && calm_start < end)
        })
        .collect();

    // Overlapping matches of one kind become one warning over both, so "kan sudah saya
    // bilang" is reported once rather than again as the "sudah saya bilang" inside it.
    heated.sort_by(|a, b| a.1.cmp(&b.1).then(b.2.cmp(&a.2)));
    let mut kept: Vec<(Kind, usize, usize)> = Vec::new();
    for (kind, start, end) in heated {
        let overlapping = kept
            .iter_mut()
            .find(|(other, _, other_end)| *other == kind && start < *other_end);
        match overlapping {
            Some((_, _, other_end)) => *other_end = (*other_end).max(end),
            None => kept.push((kind, start, end)),
        }
    }
    kept.into_iter()
        .map(|(kind, start, end)| Finding {
            kind,
            start,
            excerpt: text[start..end].to_string(),
        })
        .collect()
}

/// True when nothing but punctuation, a line break or the end of the text follows the
/// word at `last`.
fn ends_clause(text: &str, words: &[DraftWord], last: usize) -> bool {
    let Some(next) = words.get(last + 1) else {
        return true;
    };
    text[words[last].end..next.start]
        .chars()
        .any(|c| !c.is_whitespace() || c == '\n' || c == '\r')
}

/// A line break, an exclamation or question mark, or a single full stop ends a sentence.
/// An ellipsis ("bukan... salah kami") is only a pause.
fn ends_sentence(gap: &str) -> bool {
    if gap.chars().any(|c| {
        matches!(
            c,
            '\n' | '\r'
                | '!'
                | '?'
                | '\u{FF01}'
                | '\u{FF1F}'
                | '\u{3002}'
                | '\u{203C}'
                | '\u{2049}'
        )
    }) {
        return true;
    }
    let mut dots_in_a_row = 0;
    for character in gap.chars().chain(std::iter::once(' ')) {
        if character == '.' {
            dots_in_a_row += 1;
        } else if dots_in_a_row == 1 {
            return true;
        } else {
            dots_in_a_row = 0;
        }
    }
    false
}

/// Byte spans of the words in `text`: runs of letters and digits, where a character from
/// `joiners` between two of them stays inside the word.
fn word_spans(text: &str, joiners: &[char]) -> Vec<(usize, usize)> {
    let characters: Vec<(usize, char)> = text.char_indices().collect();
    let mut spans = Vec::new();
    let mut word_start = None;
    for (position, &(index, character)) in characters.iter().enumerate() {
        let joins = joiners.contains(&character)
            && word_start.is_some()
            && characters
                .get(position + 1)
                .is_some_and(|(_, next)| next.is_alphanumeric());
        let in_word = character.is_alphanumeric() || joins;
        match (in_word, word_start) {
            (true, None) => word_start = Some(index),
            (false, Some(start)) => {
                spans.push((start, index));
                word_start = None;
            }
            _ => {}
        }
    }
    if let Some(start) = word_start {
        spans.push((start, text.len()));
    }
    spans
}

fn fold_word(word: &str) -> String {
    word.chars()
        .filter(|c| !APOSTROPHES.contains(c))
        .flat_map(char::to_lowercase)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(text: &str) -> Vec<&'static str> {
        check(text, "id").into_iter().map(|w| w.kind).collect()
    }

    fn found(text: &str) -> Vec<(&'static str, String)> {
        check(text, "id")
            .into_iter()
            .map(|w| (w.kind, w.excerpt))
            .collect()
    }

    fn pair(kind: &'static str, excerpt: &str) -> (&'static str, String) {
        (kind, excerpt.to_string())
    }

    #[test]
    fn the_word_lists_parse_without_problems() {
        for (name, source) in [("id.txt", INDONESIAN_WORDS), ("en.txt", ENGLISH_WORDS)] {
            let (_, problems) = PhraseBook::parse(source);
            assert!(problems.is_empty(), "{name}: {problems:#?}");
        }
    }

    #[test]
    fn each_list_has_at_least_forty_heated_phrases() {
        for (name, source) in [("id.txt", INDONESIAN_WORDS), ("en.txt", ENGLISH_WORDS)] {
            let (book, _) = PhraseBook::parse(source);
            let heated = book
                .phrases_by_first_word
                .values()
                .flatten()
                .filter(|phrase| matches!(phrase.entry, Entry::Heated(_)))
                .count();
            assert!(heated >= 40, "{name} has only {heated} heated phrases");
        }
    }

    #[test]
    fn calm_replies_have_no_warnings() {
        let calm = [
            "Terima kasih atas masukannya, Kak. Mohon maaf atas ketidaknyamanannya; kami cek \
             dulu ke gudang ya.",
            "Thank you for telling us. I'm sorry the parcel arrived late; I'll check with the \
             courier and get back to you by 14:00.",
            "Halo Kak Rina, terima kasih sudah menghubungi kami! Boleh dikirim foto barangnya \
             dan nomor pesanan TGP-000123?",
            "Kak, yang salah kirim memang dari gudang kami. Mohon maaf, penggantinya kami \
             kirim hari ini lewat JNE YES, resi menyusul sebelum 17:00 WIB.",
            "Bukan salah kakak sama sekali, ini kelalaian kami.",
            "It's not your fault at all. You should have received an email from us; I'll \
             resend it now.",
            "Silakan pilih warna apa saja, terserah kakak mau yang mana.",
            "Pick whatever colour you like and we'll send it.",
            "Pada dasarnya bahan dasar kaos ini katun.",
            "Seharusnya kakak sudah menerima paketnya hari ini; kami cek ke kurir ya.",
        ];
        for text in calm {
            assert_eq!(check(text, "id"), vec![], "{text}");
            assert_eq!(check(text, "en"), vec![], "{text}");
        }
    }

    #[test]
    fn shouting_in_both_languages() {
        assert_eq!(
            found("Kak, KAMI SUDAH KIRIM tepat waktu."),
            vec![pair("shouting", "KAMI SUDAH KIRIM")]
        );
        let english = check("I TOLD YOU the parcel left yesterday.", "en");
        assert_eq!(english.len(), 1);
        assert_eq!(english[0].kind, "shouting");
        assert_eq!(english[0].excerpt, "TOLD YOU");
        assert!(english[0].advice.starts_with("Write in normal"));
    }

    #[test]
    fn a_mostly_capital_text_is_shouting_even_without_a_run() {
        assert_eq!(
            found("KENAPA belum SAMPAI juga PAKETNYA"),
            vec![pair("shouting", "KENAPA belum SAMPAI juga PAKETNYA")]
        );
    }

    #[test]
    fn acronyms_and_order_numbers_are_not_shouting() {
        for text in [
            "Pesanan TGP-000123 sudah dikirim via JNE YES, bayar COD, tiba sebelum 14:00 WIB.",
            "Resi JP1234567890 dari J&T, kode OTP dan PIN jangan dibagikan ya.",
            "COD",
            "TGP-000123 TGP-000124",
            "OK, CS kami cek dulu.",
        ] {
            assert_eq!(kinds(text), Vec::<&str>::new(), "{text}");
        }
    }

    #[test]
    fn exclamations() {
        assert_eq!(
            found("Sudah dikirim!! Tunggu saja."),
            vec![pair("exclamations", "dikirim!!")]
        );
        assert_eq!(found("Serius!?!"), vec![pair("exclamations", "Serius!?!")]);
        assert_eq!(found("Apa?!?!"), vec![pair("exclamations", "Apa?!?!")]);
        assert_eq!(
            found("Siap! Baik! Oke!"),
            vec![pair("exclamations", "Siap! … Baik! … Oke!")]
        );
        assert_eq!(kinds("Terima kasih, Kak! Serius?!"), Vec::<&str>::new());
        assert_eq!(kinds("Kok belum sampai??"), Vec::<&str>::new());
        let english = check("Thanks!!", "en");
        assert!(english[0].advice.starts_with("Use one exclamation"));
    }

    #[test]
    fn blaming_in_both_languages() {
        assert_eq!(
            found("Harusnya kakak baca deskripsi dulu."),
            vec![pair("blaming", "Harusnya kakak")]
        );
        assert_eq!(
            found("Seharusnya kakak pilih ukuran L."),
            vec![pair("blaming", "Seharusnya kakak")]
        );
        assert_eq!(
            found("Itu salah lo sendiri."),
            vec![pair("blaming", "Itu salah lo sendiri")]
        );
        assert_eq!(
            found("Kan sudah saya bilang, stoknya habis."),
            vec![pair("blaming", "Kan sudah saya bilang")]
        );
        assert_eq!(
            found("Udah dibilangin gak bisa."),
            vec![pair("blaming", "Udah dibilangin")]
        );
        let english = check("You should have checked the size chart.", "en");
        assert_eq!(english.len(), 1);
        assert_eq!(english[0].kind, "blaming");
        assert_eq!(english[0].excerpt, "You should have");
        assert_eq!(
            english[0].advice,
            "Avoid blaming the customer; acknowledge the problem and offer the next step."
        );
        assert_eq!(
            found("You didnt read the description."),
            vec![pair("blaming", "You didnt read")]
        );
    }

    #[test]
    fn defensive_in_both_languages() {
        let indonesian = check("Itu bukan urusan gue.", "id");
        assert_eq!(indonesian.len(), 1);
        assert_eq!(indonesian[0].kind, "defensive");
        assert_eq!(indonesian[0].excerpt, "bukan urusan gue");
        assert_eq!(
            indonesian[0].advice,
            "Jangan membela diri; jelaskan apa adanya dan sampaikan apa yang akan kami lakukan."
        );
        assert_eq!(
            found("Ini bukan salah kita kok."),
            vec![pair("defensive", "bukan salah kita")]
        );
        assert_eq!(
            found("Sorry, that's not our fault."),
            vec![pair("defensive", "that's not our fault")]
        );
        assert_eq!(
            found("Not our problem, ask the courier."),
            vec![pair("defensive", "Not our problem")]
        );
    }

    #[test]
    fn insults_in_both_languages() {
        assert_eq!(found("Dasar pembeli bodoh"), {
            vec![pair("insult", "Dasar pembeli"), pair("insult", "bodoh")]
        });
        assert_eq!(found("goblok"), vec![pair("insult", "goblok")]);
        assert_eq!(
            found("Are you stupid or what"),
            vec![pair("insult", "stupid")]
        );
        let english = check("What an idiot.", "en");
        assert_eq!(english[0].kind, "insult");
        assert!(english[0].advice.starts_with("Remove the insult"));
    }

    #[test]
    fn sarcasm_in_both_languages() {
        assert_eq!(
            found("Ya sudah, terserah."),
            vec![pair("sarcasm", "Ya sudah, terserah")]
        );
        assert_eq!(found("Terserah!"), vec![pair("sarcasm", "Terserah")]);
        assert_eq!(found("Whatever."), vec![pair("sarcasm", "Whatever")]);
        assert_eq!(
            found("Per my last message, it ships Monday."),
            vec![pair("sarcasm", "Per my last")]
        );
        assert_eq!(
            found("Please calm down, obviously it will arrive."),
            vec![pair("sarcasm", "calm down"), pair("sarcasm", "obviously")]
        );
        assert_eq!(
            found("Gitu aja kok repot, kak."),
            vec![pair("sarcasm", "Gitu aja kok repot")]
        );
    }

    #[test]
    fn advice_follows_the_locale() {
        let indonesian = check("bodoh", "id");
        let english = check("bodoh", "en");
        let unknown = check("bodoh", "fr");
        assert_eq!(
            indonesian[0].advice,
            "Hapus kata kasar ini; kritik pada produk bukan serangan pribadi."
        );
        assert_eq!(
            english[0].advice,
            "Remove the insult; criticism of the product is not a personal attack."
        );
        assert_eq!(unknown, indonesian);
        assert_eq!(check("bodoh", " EN "), english);
    }

    #[test]
    fn mixed_languages_are_both_checked() {
        let warnings = check(
            "Maaf kak, that's not our fault, salah kurirnya. Whatever!",
            "en",
        );
        let found: Vec<(&str, &str)> = warnings
            .iter()
            .map(|w| (w.kind, w.excerpt.as_str()))
            .collect();
        assert_eq!(
            found,
            vec![
                ("defensive", "that's not our fault"),
                ("defensive", "salah kurirnya"),
                ("sarcasm", "Whatever"),
            ]
        );
        assert!(warnings[0].advice.starts_with("Don't defend"));
    }

    #[test]
    fn matching_ignores_case() {
        assert_eq!(
            found("BuKaN sAlAh KaMi"),
            vec![pair("defensive", "BuKaN sAlAh KaMi")]
        );
        assert_eq!(found("STUPID"), vec![pair("insult", "STUPID")]);
    }

    #[test]
    fn punctuation_between_words_is_tolerated() {
        assert_eq!(
            found("bukan, salah kami!"),
            vec![pair("defensive", "bukan, salah kami")]
        );
        assert_eq!(
            found("Bukan... salah kami"),
            vec![pair("defensive", "Bukan... salah kami")]
        );
        assert_eq!(
            found("not - our - problem"),
            vec![pair("defensive", "not - our - problem")]
        );
    }

    #[test]
    fn sentence_ends_and_forms_of_address_break_a_phrase() {
        assert_eq!(
            kinds("Itu bukan. Salah kami sudah diperbaiki."),
            Vec::<&str>::new()
        );
        assert_eq!(
            kinds("Kenapa bukan?\nSalah kami, maaf."),
            Vec::<&str>::new()
        );
        assert_eq!(kinds("Kak, yang salah ukurannya ya?"), Vec::<&str>::new());
        assert_eq!(kinds("Kakak yang salah."), vec!["blaming"]);
    }

    #[test]
    fn parts_of_longer_words_do_not_match() {
        for text in [
            "dasarnya kami cek",
            "Welcome to Whateverland!",
            "Kami kirim ke kotamadya Bodohan.",
            "Produk idiotproof ini.",
            "the stupidity tax",
        ] {
            assert_eq!(kinds(text), Vec::<&str>::new(), "{text}");
        }
    }

    #[test]
    fn at_end_phrases_need_a_clause_end() {
        assert_eq!(kinds("terserah kakak mau warna apa"), Vec::<&str>::new());
        assert_eq!(kinds("Whatever you prefer is fine."), Vec::<&str>::new());
        assert_eq!(kinds("Ok whatever"), vec!["sarcasm"]);
        assert_eq!(kinds("terserah 🙄 silakan komplain"), vec!["sarcasm"]);
    }

    #[test]
    fn repeats_are_reported_once_and_in_text_order() {
        assert_eq!(
            found("Bodoh. Dasar bodoh! bodoh"),
            vec![pair("insult", "Bodoh"), pair("insult", "Dasar bodoh")]
        );
        assert_eq!(
            kinds("Terserah deh, bukan urusan kami, makanya baca!!"),
            vec!["sarcasm", "defensive", "blaming", "exclamations"]
        );
    }

    #[test]
    fn overlapping_phrases_of_one_kind_make_one_warning() {
        assert_eq!(
            found("km gk baca deskripsi ya"),
            vec![pair("blaming", "km gk baca deskripsi")]
        );
        assert_eq!(
            found("Kan udah gue bilang"),
            vec![pair("blaming", "Kan udah gue bilang")]
        );
        assert_eq!(
            found("That's not our fault"),
            vec![pair("defensive", "That's not our fault")]
        );
    }

    #[test]
    fn chat_spellings_fold_to_the_usual_words() {
        for (text, kind) in [
            ("km gk baca deskripsi ya", "blaming"),
            ("salah elu sendiri", "blaming"),
            ("bukan tanggung jawab kita", "defensive"),
            ("gak punya otak", "insult"),
            ("sabar donk", "sarcasm"),
            ("not my prob", "defensive"),
            ("u should have asked", "blaming"),
        ] {
            assert_eq!(kinds(text), vec![kind], "{text}");
        }
    }

    #[test]
    fn shortened_cuts_at_a_word_boundary() {
        assert_eq!(shortened("satu dua tiga", 9), "satu dua");
        assert_eq!(shortened("satu", 9), "satu");
        assert_eq!(shortened("abcdefghij", 4), "abcd");
    }

    #[test]
    fn empty_and_odd_text_is_fine() {
        assert_eq!(check("", "id"), vec![]);
        assert_eq!(check("   \n\t", "en"), vec![]);
        assert_eq!(check("🙏🙏🙏", "id"), vec![]);
        assert_eq!(check("'''---...", "id"), vec![]);
    }
}
