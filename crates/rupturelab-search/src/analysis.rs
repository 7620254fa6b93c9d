//! The per-language analysers and the query language, independent of the
//! index: tokens with code-point positions, queries, and the spans of every
//! hit of a query in a text.
//!
//! A **word** is a maximal run of letters, digits and combining marks;
//! everything else (spaces, punctuation, apostrophes, emoji) separates words.
//! Each word is lower-cased with `icu_casemap` in the study's locale (`tr`
//! maps İ→i and I→ı *before* stemming; English uses the root locale) and
//! stemmed with the Snowball stemmer of the language.

use std::borrow::Cow;

use icu_casemap::CaseMapper;
use icu_locale_core::{langid, LanguageIdentifier};
use rupturelab_core::Language;
use rust_stemmers::{Algorithm, Stemmer};

/// One word of a text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tok {
    /// The case-folded word (what prefix queries match).
    pub word: String,
    /// The stem of the folded word (what word and phrase queries match).
    pub stem: String,
    /// Start, in code points (Unicode scalar values) of the original text.
    pub start: usize,
    /// End (exclusive), in code points.
    pub end: usize,
    /// Start, in bytes (for tantivy).
    pub byte_start: usize,
    /// End (exclusive), in bytes.
    pub byte_end: usize,
}

/// A language's analyser: word splitting, case folding, stemming.
pub struct Analyzer {
    language: Language,
    locale: LanguageIdentifier,
    stemmer: Stemmer,
}

impl std::fmt::Debug for Analyzer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Analyzer")
            .field("language", &self.language)
            .finish()
    }
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric()
        || matches!(c as u32, 0x0300..=0x036F | 0x1AB0..=0x1AFF | 0x1DC0..=0x1DFF | 0x20D0..=0x20FF | 0xFE20..=0xFE2F)
}

impl Analyzer {
    /// The analyser of a study language.
    pub fn new(language: Language) -> Self {
        let (locale, algo) = match language {
            Language::Tr => (langid!("tr"), Algorithm::Turkish),
            Language::En => (langid!("und"), Algorithm::English),
        };
        Analyzer {
            language,
            locale,
            stemmer: Stemmer::create(algo),
        }
    }

    /// The language.
    pub fn language(&self) -> Language {
        self.language
    }

    /// Lower-cases a word in the analyser's locale (Turkish: İ→i, I→ı).
    pub fn fold<'a>(&self, word: &'a str) -> Cow<'a, str> {
        let folded = CaseMapper::new().lowercase_to_string(word, &self.locale);
        // The root locale lower-cases İ to i + U+0307; a search for "i" should find it.
        if folded.contains('\u{307}') && self.language == Language::En {
            Cow::Owned(folded.replace("i\u{307}", "i"))
        } else {
            folded
        }
    }

    /// The stem of a folded word.
    pub fn stem(&self, folded: &str) -> String {
        self.stemmer.stem(folded).into_owned()
    }

    /// The words of a text, in order, with code-point and byte offsets.
    pub fn tokens(&self, text: &str) -> Vec<Tok> {
        let mut out = Vec::new();
        let mut start: Option<(usize, usize)> = None; // (byte, char)
        let mut chars = 0usize;
        let flush = |out: &mut Vec<Tok>, s: (usize, usize), byte_end: usize, char_end: usize| {
            let raw = &text[s.0..byte_end];
            let word = self.fold(raw).into_owned();
            let stem = self.stem(&word);
            out.push(Tok {
                word,
                stem,
                start: s.1,
                end: char_end,
                byte_start: s.0,
                byte_end,
            });
        };
        for (b, c) in text.char_indices() {
            if is_word_char(c) {
                if start.is_none() {
                    start = Some((b, chars));
                }
            } else if let Some(s) = start.take() {
                flush(&mut out, s, b, chars);
            }
            chars += 1;
        }
        if let Some(s) = start {
            flush(&mut out, s, text.len(), chars);
        }
        out
    }
}

/// One part of a query; a text matches a query when it matches every clause.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Clause {
    /// A word: matches every word with the same stem.
    Term(String),
    /// `word*`: matches every word that starts with the folded prefix.
    Prefix(String),
    /// `"two words"`: matches the stems in this order, adjacent.
    Phrase(Vec<String>),
}

/// A parsed query: words, `"phrases"` and `prefix*`es, all required.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    /// The clauses (at least one).
    pub clauses: Vec<Clause>,
}

/// Why a query cannot be run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueryError {
    /// Nothing to search for.
    #[error("the query has no words; type a word, a \"phrase in quotes\" or a prefix ending in *")]
    Empty,
    /// Too many parts.
    #[error("the query has {0} parts; use at most {MAX_CLAUSES}")]
    TooLong(usize),
}

/// The most clauses a query may have.
pub const MAX_CLAUSES: usize = 20;

impl Query {
    /// Parses a query in the analyser's language: whitespace-separated words,
    /// `"quoted phrases"` (an unclosed quote runs to the end) and `prefix*`.
    pub fn parse(input: &str, analyzer: &Analyzer) -> Result<Query, QueryError> {
        let mut clauses = Vec::new();
        let mut rest = input;
        loop {
            rest = rest.trim_start();
            if rest.is_empty() {
                break;
            }
            if let Some(after) = rest.strip_prefix(['"', '“', '”', '„']) {
                let end = after.find(['"', '“', '”']).unwrap_or(after.len());
                let inner = &after[..end];
                rest = after[end..]
                    .strip_prefix(['"', '“', '”'])
                    .unwrap_or(&after[end..]);
                let stems: Vec<String> =
                    analyzer.tokens(inner).into_iter().map(|t| t.stem).collect();
                match stems.len() {
                    0 => {}
                    1 => clauses.push(Clause::Term(stems.into_iter().next().unwrap_or_default())),
                    _ => clauses.push(Clause::Phrase(stems)),
                }
                continue;
            }
            let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
            let word = &rest[..end];
            rest = &rest[end..];
            if let Some(prefix) = word.strip_suffix('*') {
                let toks = analyzer.tokens(prefix);
                // `don't*`: all but the last word must match exactly; keep it simple
                // and use the last word as the prefix, the others as words.
                let n = toks.len();
                for (i, t) in toks.into_iter().enumerate() {
                    if i + 1 == n {
                        clauses.push(Clause::Prefix(t.word));
                    } else {
                        clauses.push(Clause::Term(t.stem));
                    }
                }
                continue;
            }
            let stems: Vec<String> = analyzer.tokens(word).into_iter().map(|t| t.stem).collect();
            match stems.len() {
                0 => {}
                1 => clauses.push(Clause::Term(stems.into_iter().next().unwrap_or_default())),
                _ => clauses.push(Clause::Phrase(stems)),
            }
        }
        if clauses.is_empty() {
            return Err(QueryError::Empty);
        }
        if clauses.len() > MAX_CLAUSES {
            return Err(QueryError::TooLong(clauses.len()));
        }
        Ok(Query { clauses })
    }
}

/// The code-point spans `[start, end)` of every hit of the query in a text,
/// sorted and merged where they overlap; `None` when some clause has no hit
/// (the text does not match).
pub fn hit_spans(analyzer: &Analyzer, query: &Query, text: &str) -> Option<Vec<(usize, usize)>> {
    let toks = analyzer.tokens(text);
    let mut spans: Vec<(usize, usize)> = Vec::new();
    for clause in &query.clauses {
        let before = spans.len();
        match clause {
            Clause::Term(stem) => spans.extend(
                toks.iter()
                    .filter(|t| &t.stem == stem)
                    .map(|t| (t.start, t.end)),
            ),
            Clause::Prefix(p) => spans.extend(
                toks.iter()
                    .filter(|t| t.word.starts_with(p.as_str()))
                    .map(|t| (t.start, t.end)),
            ),
            Clause::Phrase(stems) => {
                if stems.len() <= toks.len() {
                    for w in toks.windows(stems.len()) {
                        if w.iter().zip(stems).all(|(t, s)| &t.stem == s) {
                            spans.push((w[0].start, w[w.len() - 1].end));
                        }
                    }
                }
            }
        }
        if spans.len() == before {
            return None;
        }
    }
    spans.sort_unstable();
    let mut merged: Vec<(usize, usize)> = Vec::with_capacity(spans.len());
    for (s, e) in spans {
        match merged.last_mut() {
            Some(last) if s <= last.1 => last.1 = last.1.max(e),
            _ => merged.push((s, e)),
        }
    }
    Some(merged)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chars(text: &str, (s, e): (usize, usize)) -> String {
        text.chars().skip(s).take(e - s).collect()
    }

    #[test]
    fn turkish_folds_dotted_and_dotless_i_before_stemming() {
        let a = Analyzer::new(Language::Tr);
        assert_eq!(a.fold("İSTANBUL"), "istanbul");
        assert_eq!(a.fold("IŞIK"), "ışık");
        assert_eq!(a.fold("Işık"), "ışık");
        // The stemmer sees the folded word: suffixes come off "ışıkları" and "IŞIKLARI" alike.
        let t1 = a.tokens("IŞIKLARI");
        let t2 = a.tokens("ışıkları");
        assert_eq!(t1[0].stem, t2[0].stem);
        assert_ne!(t1[0].stem, "ışıkları");
        // I and İ are different letters in Turkish: "ISIK" is not "isik".
        assert_ne!(a.tokens("ISIK")[0].word, a.tokens("isik")[0].word);
        // English folds I to i.
        let e = Analyzer::new(Language::En);
        assert_eq!(e.fold("ISIK"), "isik");
        assert_eq!(e.fold("İstanbul"), "istanbul");
    }

    #[test]
    fn english_stems_inflections_together() {
        let a = Analyzer::new(Language::En);
        let q = Query::parse("criticised", &a).unwrap();
        let text = "She felt Criticized; the criticism stung. He criticises.";
        let spans = hit_spans(&a, &q, "I was criticising her").unwrap();
        assert_eq!(spans, vec![(6, 17)]);
        // "criticized" (z) stems differently from "criticised" (s) in Snowball; both are words.
        let q2 = Query::parse("criticises", &a).unwrap();
        let s2 = hit_spans(&a, &q2, text).unwrap();
        assert_eq!(
            s2.iter().map(|s| chars(text, *s)).collect::<Vec<_>>(),
            vec!["criticises"]
        );
    }

    #[test]
    fn turkish_stemming_finds_inflected_forms() {
        let a = Analyzer::new(Language::Tr);
        let q = Query::parse("terapisti", &a).unwrap();
        let text = "Terapistim beni anlamadı; terapiste kızdım.";
        let spans = hit_spans(&a, &q, text).unwrap();
        let got: Vec<String> = spans.iter().map(|s| chars(text, *s)).collect();
        assert!(got.contains(&"Terapistim".to_string()), "{got:?}");
    }

    #[test]
    fn phrases_must_be_adjacent_and_in_order() {
        let a = Analyzer::new(Language::En);
        let q = Query::parse("\"felt judged\"", &a).unwrap();
        assert_eq!(q.clauses.len(), 1);
        assert!(matches!(q.clauses[0], Clause::Phrase(_)));
        let text = "I felt judged. Judged, I felt.";
        assert_eq!(hit_spans(&a, &q, text), Some(vec![(2, 13)]));
        assert_eq!(hit_spans(&a, &q, "judged felt"), None);
        assert_eq!(hit_spans(&a, &q, "I felt very judged"), None);
    }

    #[test]
    fn prefixes_match_word_starts_after_folding() {
        let a = Analyzer::new(Language::Tr);
        let q = Query::parse("İsta*", &a).unwrap();
        assert_eq!(q.clauses, vec![Clause::Prefix("ista".into())]);
        let text = "ISTANBUL değil, İSTANBUL'da istasyon.";
        let got: Vec<String> = hit_spans(&a, &q, text)
            .unwrap()
            .iter()
            .map(|s| chars(text, *s))
            .collect();
        // Dotless I does not fold to i in Turkish, so "ISTANBUL" is not a hit.
        assert_eq!(got, vec!["İSTANBUL", "istasyon"]);
    }

    #[test]
    fn every_clause_must_match() {
        let a = Analyzer::new(Language::En);
        let q = Query::parse("angry therap*", &a).unwrap();
        assert!(hit_spans(&a, &q, "I was angry").is_none());
        assert_eq!(
            hit_spans(&a, &q, "angry at my therapist, angry"),
            Some(vec![(0, 5), (12, 21), (23, 28)])
        );
    }

    #[test]
    fn spans_are_code_points_with_emoji_and_turkish_letters() {
        let a = Analyzer::new(Language::Tr);
        // 😡 is one code point (two UTF-16 units, four bytes); ş, ı, ğ are one each.
        let text = "😡 Çok kızgındım, ağladım 😢 kızgın";
        let q = Query::parse("kızgın*", &a).unwrap();
        let spans = hit_spans(&a, &q, text).unwrap();
        assert_eq!(spans, vec![(6, 15), (27, 33)]);
        assert_eq!(chars(text, spans[0]), "kızgındım");
        assert_eq!(chars(text, spans[1]), "kızgın");
        let toks = a.tokens(text);
        assert_eq!(&text[toks[1].byte_start..toks[1].byte_end], "kızgındım");
    }

    #[test]
    fn empty_and_punctuation_only_queries_are_errors() {
        let a = Analyzer::new(Language::En);
        assert_eq!(Query::parse("  ", &a), Err(QueryError::Empty));
        assert_eq!(Query::parse("\"\" ... *", &a), Err(QueryError::Empty));
        let long = vec!["w"; 21].join(" ");
        assert_eq!(Query::parse(&long, &a), Err(QueryError::TooLong(21)));
        // An unclosed quote runs to the end.
        let q = Query::parse("\"felt judged", &a).unwrap();
        assert!(matches!(q.clauses[0], Clause::Phrase(_)));
    }
}
