//! Cross-tab statistics: χ², Fisher–Freeman–Halton, Cramér's V, p-value corrections, co-occurrence.
