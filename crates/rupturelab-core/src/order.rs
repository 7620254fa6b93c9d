//! Presentation orders: which order a participant sees the segments in.
//! Fixed (the study's order), random, or a balanced Latin square (Williams
//! design), where participant k gets row k mod the number of rows.

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::SeedableRng;

use crate::keys::Key;
use crate::model::OrderMode;

/// The rows of a Williams design for `n` conditions: every condition appears
/// once in every position, and every ordered pair of conditions is adjacent
/// equally often. `n` rows when `n` is even, `2n` (the square and its mirror)
/// when `n` is odd. Values are indices `0..n`.
pub fn williams_rows(n: usize) -> Vec<Vec<usize>> {
    if n == 0 {
        return vec![Vec::new()];
    }
    // First row: 0, 1, n-1, 2, n-2, …
    let mut first = Vec::with_capacity(n);
    let (mut lo, mut hi) = (1usize, n - 1);
    first.push(0);
    for j in 1..n {
        if j % 2 == 1 {
            first.push(lo);
            lo += 1;
        } else {
            first.push(hi);
            hi -= 1;
        }
    }
    let mut rows: Vec<Vec<usize>> = (0..n)
        .map(|i| first.iter().map(|&c| (c + i) % n).collect())
        .collect();
    if n % 2 == 1 {
        let mirrored: Vec<Vec<usize>> = rows
            .iter()
            .map(|r| r.iter().rev().copied().collect())
            .collect();
        rows.extend(mirrored);
    }
    rows
}

/// A participant's order: the segment keys, and the Williams row used.
#[derive(Debug, Clone, PartialEq)]
pub struct AssignedOrder {
    /// Segment keys in presentation order.
    pub order: Vec<Key>,
    /// The Latin-square row (latin-square mode only).
    pub row: Option<i64>,
}

/// Assigns the order of the `index`-th participant to be given one (0-based)
/// under `mode`; `seed` drives the random mode.
pub fn assign_order(mode: OrderMode, segments: &[Key], index: i64, seed: u64) -> AssignedOrder {
    match mode {
        OrderMode::Fixed => AssignedOrder {
            order: segments.to_vec(),
            row: None,
        },
        OrderMode::Random => {
            let mut order = segments.to_vec();
            order.shuffle(&mut StdRng::seed_from_u64(seed));
            AssignedOrder { order, row: None }
        }
        OrderMode::LatinSquare => {
            let rows = williams_rows(segments.len());
            let row = index.rem_euclid(rows.len() as i64);
            AssignedOrder {
                order: rows[row as usize]
                    .iter()
                    .map(|&i| segments[i].clone())
                    .collect(),
                row: Some(row),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn check_balanced(n: usize) {
        let rows = williams_rows(n);
        assert_eq!(rows.len(), if n.is_multiple_of(2) { n } else { 2 * n });
        for r in &rows {
            let mut s = r.clone();
            s.sort();
            assert_eq!(s, (0..n).collect::<Vec<_>>(), "row {r:?} is a permutation");
        }
        for pos in 0..n {
            let mut counts = vec![0; n];
            for r in &rows {
                counts[r[pos]] += 1;
            }
            assert!(
                counts.iter().all(|&c| c == rows.len() / n),
                "position {pos} balanced"
            );
        }
        let mut pairs: HashMap<(usize, usize), usize> = HashMap::new();
        for r in &rows {
            for w in r.windows(2) {
                *pairs.entry((w[0], w[1])).or_default() += 1;
            }
        }
        if n > 1 {
            assert_eq!(pairs.len(), n * (n - 1), "every ordered pair is adjacent");
            let want = if n.is_multiple_of(2) { 1 } else { 2 };
            assert!(
                pairs.values().all(|&c| c == want),
                "first-order carryover balanced"
            );
        }
    }

    #[test]
    fn williams_rows_are_balanced_for_even_and_odd_sizes() {
        for n in 1..=9 {
            check_balanced(n);
        }
        assert_eq!(williams_rows(4)[0], vec![0, 1, 3, 2]);
    }

    #[test]
    fn latin_square_cycles_through_rows_and_fixed_keeps_study_order() {
        let keys: Vec<Key> = ["S1", "S2", "S3", "S4"]
            .iter()
            .map(|k| Key::parse(k).unwrap())
            .collect();
        let a = assign_order(OrderMode::LatinSquare, &keys, 0, 1);
        let b = assign_order(OrderMode::LatinSquare, &keys, 4, 1);
        assert_eq!(a, b);
        assert_eq!(a.row, Some(0));
        assert_eq!(
            assign_order(OrderMode::LatinSquare, &keys, 5, 1).row,
            Some(1)
        );
        assert_eq!(assign_order(OrderMode::Fixed, &keys, 3, 1).order, keys);
        let r = assign_order(OrderMode::Random, &keys, 0, 42);
        let mut sorted = r.order.clone();
        sorted.sort();
        assert_eq!(sorted, keys);
    }
}
