//! Cross-tab statistics: χ², Fisher–Freeman–Halton, Cramér's V, p-value corrections, co-occurrence.
//!
//! Everything here is a pure function over plain data. The contingency-table
//! tests ([`chi_square_test`], [`fisher_exact_2x2`], [`fisher_freeman_halton`])
//! take a table as rows of counts; the paired tests ([`mcnemar`],
//! [`cochran_q`]) take paired or repeated binary data; [`holm`] and
//! [`benjamini_hochberg`] adjust a family of p-values. The study-level
//! functions ([`crosstab`], [`cooccurrence`], [`segment_profile`]) count
//! code presence in one coding layer (consensus by default) and run those
//! tests, saying in their output which unit was counted and which method
//! produced each p-value.

mod adjust;
mod chisq;
mod cooccur;
mod crosstab;
mod error;
mod exact;
mod paired;
mod select;
mod table;

pub use adjust::{benjamini_hochberg, holm};
pub use chisq::{chi_square_test, ChiSquareTest};
pub use cooccur::{
    cooccurrence, segment_profile, CodeInfo, Cooccurrence, CooccurrencePair, ProfileCell,
    ProfileSegment, SegmentProfile,
};
pub use crosstab::{
    crosstab, AdjustedP, CountingUnit, Crosstab, CrosstabOptions, CrosstabRow, GroupBy, GroupCell,
    GroupInfo, HolmBh, WithinSubjectTest,
};
pub use error::StatsError;
pub use exact::{
    fisher_exact_2x2, fisher_freeman_halton, ExactMethodChoice, ExactOptions, ExactTest,
    FisherExact2x2, PValueMethod, DEFAULT_DRAWS, DEFAULT_MAX_STEPS, DEFAULT_SEED,
    RELATIVE_TOLERANCE,
};
pub use paired::{cochran_q, mcnemar, CochranQ, McNemar, McNemarChiSquare};
pub use select::CodeSelection;
