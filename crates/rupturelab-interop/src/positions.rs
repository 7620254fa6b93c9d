//! Text positions of foreign selections: REFI-QDA counts Unicode code points,
//! but NVivo writes UTF-16 units (an emoji counts two, CRLF counts two).
//! Positions are converted to code-point offsets into the stored text, which
//! is NFC-normalised with LF line ends.

use rupturelab_core::text;

/// How a file counts text positions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PositionUnit {
    /// Unicode code points (the standard).
    CodePoints,
    /// UTF-16 code units (NVivo).
    Utf16,
}

impl PositionUnit {
    /// The unit a project's `origin` attribute implies: UTF-16 for NVivo,
    /// code points for everything else (the standard).
    pub fn for_origin(origin: &str) -> Self {
        if origin
            .trim_start()
            .to_ascii_lowercase()
            .starts_with("nvivo")
        {
            PositionUnit::Utf16
        } else {
            PositionUnit::CodePoints
        }
    }
    /// The name shown to users.
    pub fn name(self) -> &'static str {
        match self {
            PositionUnit::CodePoints => "code points",
            PositionUnit::Utf16 => "UTF-16 units",
        }
    }
}

/// A source text converted to the stored form, with positions mapped.
#[derive(Debug, Clone, PartialEq)]
pub struct Converted {
    /// The stored text: BOM removed, CRLF → LF, NFC.
    pub text: String,
    /// For each input position, its code-point offset into `text`, or
    /// `None` when the position is past the end or inside a character.
    pub offsets: Vec<Option<usize>>,
}

/// Converts a raw source text and positions counted in `unit` over it (the
/// BOM, if any, is not counted) into the stored text and code-point offsets.
pub fn convert(raw: &str, positions: &[usize], unit: PositionUnit) -> Converted {
    let raw = raw.strip_prefix('\u{FEFF}').unwrap_or(raw);
    // Byte offset of every requested position, by walking the text once.
    let mut order: Vec<usize> = (0..positions.len()).collect();
    order.sort_by_key(|&i| positions[i]);
    let mut byte_of: Vec<Option<usize>> = vec![None; positions.len()];
    let mut oi = 0;
    let mut count = 0usize;
    let mut chars = raw.char_indices().peekable();
    loop {
        let byte = chars.peek().map(|(b, _)| *b).unwrap_or(raw.len());
        while oi < order.len() && positions[order[oi]] <= count {
            if positions[order[oi]] == count {
                byte_of[order[oi]] = Some(byte);
            }
            oi += 1;
        }
        let Some((_, c)) = chars.next() else { break };
        count += match unit {
            PositionUnit::CodePoints => 1,
            PositionUnit::Utf16 => c.len_utf16(),
        };
    }
    // A boundary between CR and LF belongs after the line break.
    let bytes = raw.as_bytes();
    for b in byte_of.iter_mut().flatten() {
        if *b > 0 && *b < bytes.len() && bytes[*b - 1] == b'\r' && bytes[*b] == b'\n' {
            *b += 1;
        }
    }
    let mut cuts: Vec<usize> = byte_of.iter().flatten().copied().collect();
    cuts.sort_unstable();
    cuts.dedup();
    // Normalise piece by piece so each boundary maps exactly.
    let mut out = String::with_capacity(raw.len());
    let mut chars_so_far = 0usize;
    let mut mapped: Vec<(usize, usize)> = Vec::with_capacity(cuts.len());
    let mut last = 0usize;
    for &cut in cuts.iter().chain(std::iter::once(&raw.len())) {
        if cut > last {
            let piece = text::normalize(&raw[last..cut]);
            chars_so_far += text::char_len(&piece);
            out.push_str(&piece);
        }
        mapped.push((cut, chars_so_far));
        last = cut.max(last);
    }
    let offsets = byte_of
        .iter()
        .map(|b| {
            b.and_then(|b| {
                mapped
                    .binary_search_by_key(&b, |(c, _)| *c)
                    .ok()
                    .map(|i| mapped[i].1)
            })
        })
        .collect();
    Converted { text: out, offsets }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf16_positions_count_emoji_and_crlf_twice() {
        let raw = "\u{FEFF}a😀b\r\nc";
        // UTF-16: a=0, 😀=1..3, b=3, \r=4, \n=5, c=6, end=7
        let c = convert(raw, &[0, 3, 4, 6, 7, 2], PositionUnit::Utf16);
        assert_eq!(c.text, "a😀b\nc");
        assert_eq!(
            c.offsets,
            vec![Some(0), Some(2), Some(3), Some(4), Some(5), None]
        );
    }

    #[test]
    fn code_point_positions_and_nfc() {
        let raw = "e\u{301}x\r\ny";
        // code points: e=0, ◌́=1, x=2, \r=3, \n=4, y=5
        let c = convert(raw, &[2, 3, 4, 5, 6, 9], PositionUnit::CodePoints);
        assert_eq!(c.text, "éx\ny");
        assert_eq!(
            c.offsets,
            vec![Some(1), Some(2), Some(3), Some(3), Some(4), None]
        );
    }

    #[test]
    fn origin_picks_the_unit() {
        assert_eq!(
            PositionUnit::for_origin("NVivo for Windows 12.6"),
            PositionUnit::Utf16
        );
        assert_eq!(
            PositionUnit::for_origin("ATLAS.ti 8.4.0"),
            PositionUnit::CodePoints
        );
        assert_eq!(PositionUnit::for_origin(""), PositionUnit::CodePoints);
    }
}
