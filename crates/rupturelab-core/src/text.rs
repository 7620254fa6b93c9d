//! Text rules: decoding files, NFC normalisation, code-point offsets,
//! quote lookup and "did you mean" suggestions.

use unicode_normalization::UnicodeNormalization;

/// Decodes a file's bytes as UTF-8: strips a BOM, turns CRLF into LF.
/// On invalid UTF-8 the error gives the 1-based line and column (in bytes).
pub fn decode_file(bytes: &[u8]) -> Result<String, (usize, usize)> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    match std::str::from_utf8(bytes) {
        Ok(s) => Ok(s.replace("\r\n", "\n")),
        Err(e) => {
            let good = &bytes[..e.valid_up_to()];
            let line = good.iter().filter(|b| **b == b'\n').count() + 1;
            let col = good.len()
                - good
                    .iter()
                    .rposition(|b| *b == b'\n')
                    .map(|p| p + 1)
                    .unwrap_or(0)
                + 1;
            Err((line, col))
        }
    }
}

/// NFC-normalises text and turns CRLF into LF: the form every stored text has.
pub fn normalize(s: &str) -> String {
    let s = if s.contains('\r') {
        s.replace("\r\n", "\n")
    } else {
        s.to_string()
    };
    if unicode_normalization::is_nfc_quick(s.chars()) == unicode_normalization::IsNormalized::Yes {
        s
    } else {
        s.nfc().collect()
    }
}

/// Number of code points in `s`.
pub fn char_len(s: &str) -> usize {
    s.chars().count()
}

/// The substring between code-point offsets `start..end`, if in range.
pub fn slice_chars(s: &str, start: usize, end: usize) -> Option<&str> {
    if start > end {
        return None;
    }
    let mut it = s
        .char_indices()
        .map(|(i, _)| i)
        .chain(std::iter::once(s.len()));
    let b0 = it.nth(start)?;
    let b1 = if end == start {
        b0
    } else {
        it.nth(end - start - 1)?
    };
    Some(&s[b0..b1])
}

/// Code-point start offsets of every (possibly overlapping) occurrence of `needle`.
pub fn find_all_chars(haystack: &str, needle: &str) -> Vec<usize> {
    if needle.is_empty() {
        return Vec::new();
    }
    let mut out = Vec::new();
    let mut char_idx = 0;
    let mut last_byte = 0;
    let mut from = 0;
    while let Some(pos) = haystack[from..].find(needle) {
        let byte = from + pos;
        char_idx += haystack[last_byte..byte].chars().count();
        last_byte = byte;
        out.push(char_idx);
        from = byte
            + haystack[byte..]
                .chars()
                .next()
                .map(char::len_utf8)
                .unwrap_or(1);
    }
    out
}

/// Lower-cases for matching and search, the Turkish way when `language` is Turkish
/// (İ → i, I → ı), which `str::to_lowercase` gets wrong for Turkish.
pub fn fold_case(s: &str, language: crate::model::Language) -> String {
    match language {
        crate::model::Language::Tr => s
            .chars()
            .map(|c| match c {
                'I' => 'ı',
                'İ' => 'i',
                c => c,
            })
            .collect::<String>()
            .to_lowercase()
            // `to_lowercase` maps a decomposed İ (I + U+0307) to i + U+0307; drop the dot.
            .replace("i\u{307}", "i"),
        crate::model::Language::En => s.to_lowercase(),
    }
}

/// Levenshtein distance over chars.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, ca) in a.chars().enumerate() {
        cur[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != *cb);
            cur[j + 1] = sub.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

/// The closest candidate to `word`, when close enough to be a likely typo.
pub fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let limit = (word.chars().count() / 3).clamp(1, 4);
    candidates
        .into_iter()
        .map(|c| (edit_distance(&word.to_lowercase(), &c.to_lowercase()), c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decode_strips_bom_and_crlf_and_locates_bad_utf8() {
        assert_eq!(decode_file(b"\xEF\xBB\xBFa\r\nb").unwrap(), "a\nb");
        assert_eq!(decode_file(b"ok\nab\xFFc"), Err((2, 3)));
    }

    #[test]
    fn normalize_composes_to_nfc() {
        assert_eq!(normalize("s\u{0327}"), "ş");
        assert_eq!(normalize("a\r\nb"), "a\nb");
    }

    #[test]
    fn char_offsets_count_code_points() {
        let s = "İyi 🙂 günler, iyi günler";
        assert_eq!(slice_chars(s, 0, 3), Some("İyi"));
        assert_eq!(slice_chars(s, 4, 5), Some("🙂"));
        assert_eq!(slice_chars(s, 6, 12), Some("günler"));
        assert_eq!(slice_chars(s, 24, 25), None);
        assert_eq!(find_all_chars(s, "günler"), vec![6, 18]);
        assert_eq!(find_all_chars("aaa", "aa"), vec![0, 1]);
    }

    #[test]
    fn turkish_case_folding_keeps_dotted_and_dotless_i_apart() {
        use crate::model::Language;
        assert_eq!(fold_case("IŞIK İstanbul", Language::Tr), "ışık istanbul");
        assert_eq!(fold_case("Ilık", Language::Tr), "ılık");
        assert_eq!(fold_case("IŞIK", Language::En), "işik");
    }

    #[test]
    fn suggestions_find_typos_only() {
        let c = ["Cause/Patient/Resistance", "Cause/Patient/Pathology"];
        assert_eq!(
            did_you_mean("Cause/Patient/Resistence", c),
            Some("Cause/Patient/Resistance")
        );
        assert_eq!(did_you_mean("Something else", c), None);
    }
}
