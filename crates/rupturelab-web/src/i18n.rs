//! Participant-facing strings, from Fluent-style catalogs (`i18n/en.ftl`,
//! `i18n/tr.ftl`) embedded in the binary and chosen by the study's language.
//!
//! The catalogs use the simple subset of Fluent that the pages need:
//! `key = value` messages, `#` comments, indented continuation lines, and
//! `{ $name }` variables. A test checks that both catalogs have the same keys
//! and the same variables per key.

use std::collections::HashMap;
use std::sync::OnceLock;

use rupturelab_core::Language;

/// One language's messages.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    messages: HashMap<String, String>,
}

/// A catalog parse error: line number and what is wrong.
#[derive(Debug, PartialEq)]
pub struct ParseError {
    /// 1-based line.
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

impl Catalog {
    /// Parses the Fluent subset.
    pub fn parse(src: &str) -> Result<Self, ParseError> {
        let mut messages: HashMap<String, String> = HashMap::new();
        let mut current: Option<String> = None;
        for (i, line) in src.lines().enumerate() {
            let err = |m: &str| ParseError {
                line: i + 1,
                message: m.to_string(),
            };
            if line.trim().is_empty() || line.trim_start().starts_with('#') {
                continue;
            }
            if line.starts_with(' ') || line.starts_with('\t') {
                let key = current
                    .as_ref()
                    .ok_or_else(|| err("a continuation line before any message"))?;
                let v = messages.get_mut(key).expect("current key is stored");
                if !v.is_empty() {
                    v.push('\n');
                }
                v.push_str(line.trim());
                continue;
            }
            let (k, v) = line
                .split_once('=')
                .ok_or_else(|| err("expected `key = value`"))?;
            let k = k.trim();
            if k.is_empty()
                || !k
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            {
                return Err(err("a message key is letters, digits, `-` and `_`"));
            }
            if messages.contains_key(k) {
                return Err(err(&format!("`{k}` is defined twice")));
            }
            messages.insert(k.to_string(), v.trim().to_string());
            current = Some(k.to_string());
        }
        Ok(Catalog { messages })
    }

    /// The message, or the key itself when missing (visible, never a crash).
    pub fn get<'a>(&'a self, key: &'a str) -> &'a str {
        self.messages.get(key).map(String::as_str).unwrap_or(key)
    }

    /// The message with `{ $name }` variables replaced.
    pub fn fmt(&self, key: &str, args: &[(&str, &str)]) -> String {
        let mut out = self.get(key).to_string();
        for (name, value) in args {
            for pat in [format!("{{ ${name} }}"), format!("{{${name}}}")] {
                out = out.replace(&pat, value);
            }
        }
        out
    }

    /// Shorthand for one variable.
    pub fn fmt1(&self, key: &str, name: &str, value: &str) -> String {
        self.fmt(key, &[(name, value)])
    }

    /// Shorthand for two variables.
    pub fn fmt2(&self, key: &str, n1: &str, v1: &str, n2: &str, v2: &str) -> String {
        self.fmt(key, &[(n1, v1), (n2, v2)])
    }

    /// The message keys.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.messages.keys().map(String::as_str)
    }
}

const EN: &str = include_str!("../i18n/en.ftl");
const TR: &str = include_str!("../i18n/tr.ftl");

/// The catalog of a language.
pub fn catalog(lang: Language) -> &'static Catalog {
    static CATALOGS: OnceLock<(Catalog, Catalog)> = OnceLock::new();
    let (en, tr) = CATALOGS.get_or_init(|| {
        (
            Catalog::parse(EN).expect("i18n/en.ftl is valid (tested)"),
            Catalog::parse(TR).expect("i18n/tr.ftl is valid (tested)"),
        )
    });
    match lang {
        Language::En => en,
        Language::Tr => tr,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    fn vars(s: &str) -> BTreeSet<String> {
        s.split("{ $")
            .skip(1)
            .filter_map(|p| p.split_once(" }").map(|(v, _)| v.to_string()))
            .collect()
    }

    #[test]
    fn english_and_turkish_catalogs_parse_and_have_the_same_keys_and_variables() {
        let en = Catalog::parse(EN).unwrap();
        let tr = Catalog::parse(TR).unwrap();
        let ek: BTreeSet<_> = en.keys().collect();
        let tk: BTreeSet<_> = tr.keys().collect();
        assert_eq!(ek, tk, "keys differ between en.ftl and tr.ftl");
        for k in ek {
            assert_eq!(
                vars(en.get(k)),
                vars(tr.get(k)),
                "variables of `{k}` differ"
            );
        }
    }

    #[test]
    fn parser_handles_comments_continuations_variables_and_errors() {
        let c = Catalog::parse("# c\nhello = Merhaba { $name }!\nlong = one\n  two\n").unwrap();
        assert_eq!(c.fmt1("hello", "name", "Ayşe"), "Merhaba Ayşe!");
        assert_eq!(c.get("long"), "one\ntwo");
        assert_eq!(c.get("missing"), "missing");
        assert_eq!(Catalog::parse("a = 1\na = 2").unwrap_err().line, 2);
        assert_eq!(Catalog::parse("no equals").unwrap_err().line, 1);
    }
}
