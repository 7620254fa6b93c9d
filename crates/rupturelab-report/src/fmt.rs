//! Number formatting for reports: APA conventions in English, Turkish
//! conventions (decimal comma, `%45`) in Turkish.
//!
//! APA style drops the leading zero of a value that cannot exceed 1
//! (p-values, κ, α, Cramér's V) and prints p below .001 as `< .001`.

use rupturelab_core::Language;

/// Formats numbers the way a paper in one language prints them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NumFmt {
    lang: Language,
}

const MINUS: char = '\u{2212}';

impl NumFmt {
    /// A formatter for `lang`.
    pub fn new(lang: Language) -> Self {
        NumFmt { lang }
    }

    fn decimal(self) -> char {
        match self.lang {
            Language::En => '.',
            Language::Tr => ',',
        }
    }

    fn group_sep(self) -> char {
        match self.lang {
            Language::En => ',',
            Language::Tr => '.',
        }
    }

    /// A whole number with thousands separators from 1,000 up (`12,345`; Turkish `12.345`).
    pub fn int(self, v: u64) -> String {
        let digits = v.to_string();
        if v < 1000 {
            return digits;
        }
        let mut out = String::new();
        for (i, ch) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i).is_multiple_of(3) {
                out.push(self.group_sep());
            }
            out.push(ch);
        }
        out
    }

    /// A real number with `decimals` places (`3.45`, `−0.20`; Turkish `3,45`).
    pub fn num(self, v: f64, decimals: usize) -> String {
        if !v.is_finite() {
            return "—".into();
        }
        let s = format!("{:.*}", decimals, v.abs());
        let s = if self.decimal() == '.' {
            s
        } else {
            s.replace('.', &self.decimal().to_string())
        };
        let zero = s.chars().all(|c| c == '0' || c == self.decimal());
        if v < 0.0 && !zero {
            format!("{MINUS}{s}")
        } else {
            s
        }
    }

    /// A value bounded by 1 without its leading zero (`.712`, `−.05`), as APA prints κ, α, V.
    pub fn coef(self, v: f64, decimals: usize) -> String {
        let s = self.num(v, decimals);
        let dec = self.decimal();
        if let Some(rest) = s.strip_prefix(&format!("{MINUS}0{dec}")) {
            format!("{MINUS}{dec}{rest}")
        } else if let Some(rest) = s.strip_prefix(&format!("0{dec}")) {
            format!("{dec}{rest}")
        } else {
            s
        }
    }

    /// A p-value: `< .001`, else three places without the leading zero.
    pub fn p(self, v: f64) -> String {
        if v < 0.001 {
            format!("< {}001", self.decimal())
        } else {
            self.coef(v, 3)
        }
    }

    /// A percentage with no decimals: `45%` (Turkish `%45`).
    pub fn pct(self, v: f64) -> String {
        let n = self.num(v, 0);
        match self.lang {
            Language::En => format!("{n}%"),
            Language::Tr => format!("%{n}"),
        }
    }

    /// A count with its percentage: `12 (60%)`.
    pub fn n_pct(self, n: u64, pct: f64) -> String {
        format!("{} ({})", self.int(n), self.pct(pct))
    }

    /// An interval of coefficients: `[.61, .80]`.
    pub fn ci(self, lo: f64, hi: f64) -> String {
        let sep = match self.lang {
            Language::En => ", ",
            Language::Tr => "; ",
        };
        format!("[{}{sep}{}]", self.coef(lo, 2), self.coef(hi, 2))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn english_numbers_follow_apa() {
        let f = NumFmt::new(Language::En);
        assert_eq!(f.int(999), "999");
        assert_eq!(f.int(100_000), "100,000");
        assert_eq!(f.coef(0.7123, 2), ".71");
        assert_eq!(f.coef(-0.05, 2), "\u{2212}.05");
        assert_eq!(f.coef(1.0, 2), "1.00");
        assert_eq!(f.p(0.0004), "< .001");
        assert_eq!(f.p(0.0345), ".035");
        assert_eq!(f.pct(45.0), "45%");
        assert_eq!(f.num(-0.0001, 2), "0.00");
        assert_eq!(f.ci(0.612, 0.801), "[.61, .80]");
    }

    #[test]
    fn turkish_numbers_use_decimal_comma_and_leading_percent() {
        let f = NumFmt::new(Language::Tr);
        assert_eq!(f.int(100_000), "100.000");
        assert_eq!(f.coef(0.7123, 2), ",71");
        assert_eq!(f.p(0.0004), "< ,001");
        assert_eq!(f.pct(45.0), "%45");
        assert_eq!(f.num(3.456, 2), "3,46");
        assert_eq!(f.ci(0.612, 0.801), "[,61; ,80]");
    }
}
