//! The reliability matrix (coders × units of value ids) and its CSV reader.
//!
//! Layout: one dense `Vec<u32>`, **units-major** — the `m` cells of unit `u` are
//! `cells[u*m .. (u+1)*m]`, one per coder in coder order — so counting a unit
//! touches one cache line. A cell holds the id of a value in [`ReliabilityMatrix::values`]
//! or [`MISSING`]. Value ids are small integers, so coincidences need only a
//! V × V accumulator.

use std::cmp::Ordering;
use std::collections::{BTreeSet, HashMap};
use std::fmt;

use super::{AgreementError, Result, UnitOfAnalysis};

/// The cell value that marks a missing rating.
pub const MISSING: u32 = u32::MAX;

/// One value a coder can give a unit.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A category label (nominal data; ordinal uses the order of the value list).
    Label(String),
    /// A number (ordinal, interval or ratio data).
    Number(f64),
    /// A set of labels (set-valued data, for MASI or Jaccard distance).
    Set(BTreeSet<String>),
}

impl Value {
    /// The value as a number, if it is one.
    pub fn as_number(&self) -> Option<f64> {
        match self {
            Value::Number(v) => Some(*v),
            _ => None,
        }
    }

    /// The value as a set, if it is one.
    pub fn as_set(&self) -> Option<&BTreeSet<String>> {
        match self {
            Value::Set(s) => Some(s),
            _ => None,
        }
    }

    fn kind(&self) -> u8 {
        match self {
            Value::Label(_) => 0,
            Value::Number(_) => 1,
            Value::Set(_) => 2,
        }
    }

    /// Canonical order within a kind: labels and sets lexicographically, numbers ascending.
    fn canonical_cmp(&self, other: &Value) -> Ordering {
        match (self, other) {
            (Value::Label(a), Value::Label(b)) => a.cmp(b),
            (Value::Number(a), Value::Number(b)) => a.total_cmp(b),
            (Value::Set(a), Value::Set(b)) => a.cmp(b),
            _ => self.kind().cmp(&other.kind()),
        }
    }

    fn same(&self, other: &Value) -> bool {
        self.canonical_cmp(other) == Ordering::Equal
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Label(s) => f.write_str(s),
            Value::Number(v) => write!(f, "{v}"),
            Value::Set(s) => {
                f.write_str("{")?;
                for (i, x) in s.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    f.write_str(x)?;
                }
                f.write_str("}")
            }
        }
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::Label(s.to_string())
    }
}

impl From<f64> for Value {
    fn from(v: f64) -> Self {
        Value::Number(v)
    }
}

/// Unit ids packed into one string (a million ids cost a few MB, not a million allocations).
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct UnitIds {
    buf: String,
    ends: Vec<usize>,
}

impl UnitIds {
    pub(crate) fn push(&mut self, id: &str) {
        self.buf.push_str(id);
        self.ends.push(self.buf.len());
    }
    fn get(&self, i: usize) -> &str {
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        &self.buf[start..self.ends[i]]
    }
    fn len(&self) -> usize {
        self.ends.len()
    }
    fn from_vec(ids: Vec<String>) -> Self {
        let mut out = UnitIds::default();
        for id in &ids {
            out.push(id);
        }
        out
    }
}

/// A coders × units reliability matrix of value ids, with missing cells allowed.
#[derive(Debug, Clone, PartialEq)]
pub struct ReliabilityMatrix {
    n_coders: usize,
    n_units: usize,
    cells: Vec<u32>,
    values: Vec<Value>,
    coders: Vec<String>,
    unit_ids: Option<UnitIds>,
    categories_complete: bool,
    unit: UnitOfAnalysis,
    clusters: Option<Vec<u32>>,
}

impl ReliabilityMatrix {
    /// A matrix from pre-encoded ids, units-major (`cells[u*n_coders + c]`), values `0..n_values`.
    ///
    /// Values are labelled `0`, `1`, …; coders `1`, `2`, …; units are numbered from 1.
    pub fn from_codes(n_coders: usize, cells: Vec<u32>, n_values: usize) -> Result<Self> {
        let values = (0..n_values).map(|i| Value::Label(i.to_string())).collect();
        let coders = (1..=n_coders).map(|i| i.to_string()).collect();
        Self::new(coders, None, cells, values)
    }

    /// A matrix from coder names, optional unit ids, units-major cells and the value list.
    pub fn new(
        coders: Vec<String>,
        unit_ids: Option<Vec<String>>,
        cells: Vec<u32>,
        values: Vec<Value>,
    ) -> Result<Self> {
        let n_coders = coders.len();
        if n_coders == 0 {
            return Err(AgreementError::Shape(
                "a reliability matrix needs at least one coder".into(),
            ));
        }
        if !cells.len().is_multiple_of(n_coders) {
            return Err(AgreementError::Shape(format!(
                "{} cells do not divide into rows of {} coders",
                cells.len(),
                n_coders
            )));
        }
        let n_units = cells.len() / n_coders;
        let unit_ids = unit_ids.map(UnitIds::from_vec);
        if let Some(ids) = &unit_ids {
            if ids.len() != n_units {
                return Err(AgreementError::Shape(format!(
                    "{} unit ids for {} units",
                    ids.len(),
                    n_units
                )));
            }
        }
        if let Some(k) = values
            .iter()
            .skip(1)
            .position(|v| v.kind() != values[0].kind())
        {
            return Err(AgreementError::Shape(format!(
                "values mix kinds (`{}` and `{}`); use labels, numbers or sets throughout",
                values[0],
                values[k + 1]
            )));
        }
        if values.len() >= MISSING as usize {
            return Err(AgreementError::Shape("too many distinct values".into()));
        }
        let n_values = values.len();
        if let Some(cell) = cells
            .iter()
            .position(|&c| c != MISSING && c as usize >= n_values)
        {
            return Err(AgreementError::ValueOutOfRange {
                cell,
                id: cells[cell],
                n_values,
            });
        }
        let mut seen = std::collections::HashSet::new();
        for c in &coders {
            if !seen.insert(c.as_str()) {
                return Err(AgreementError::DuplicateCoder(c.clone()));
            }
        }
        Ok(ReliabilityMatrix {
            n_coders,
            n_units,
            cells,
            values,
            coders,
            unit_ids,
            categories_complete: false,
            unit: UnitOfAnalysis::user(""),
            clusters: None,
        })
    }

    /// A matrix from coder rows of optional values (`rows[coder][unit]`), interning the values.
    ///
    /// Value ids follow the canonical order: labels and sets sorted, numbers ascending.
    pub fn from_coder_rows(
        coders: Vec<String>,
        unit_ids: Option<Vec<String>>,
        rows: &[Vec<Option<Value>>],
    ) -> Result<Self> {
        if rows.len() != coders.len() {
            return Err(AgreementError::Shape(format!(
                "{} rows for {} coders",
                rows.len(),
                coders.len()
            )));
        }
        let n_units = rows.first().map(|r| r.len()).unwrap_or(0);
        if let Some(i) = rows.iter().position(|r| r.len() != n_units) {
            return Err(AgreementError::Shape(format!(
                "coder `{}` has {} cells, the first coder {}",
                coders[i],
                rows[i].len(),
                n_units
            )));
        }
        let mut distinct: Vec<Value> = rows.iter().flatten().flatten().cloned().collect();
        distinct.sort_by(|a, b| a.canonical_cmp(b));
        distinct.dedup_by(|a, b| a.same(b));
        let m = coders.len();
        let mut cells = vec![MISSING; n_units * m];
        for (c, row) in rows.iter().enumerate() {
            for (u, v) in row.iter().enumerate() {
                if let Some(v) = v {
                    let id = distinct
                        .binary_search_by(|x| x.canonical_cmp(v))
                        .map_err(|_| {
                            AgreementError::Shape(format!(
                                "values mix kinds (`{v}`); use one kind throughout"
                            ))
                        })?;
                    cells[u * m + c] = id as u32;
                }
            }
        }
        Self::new(coders, unit_ids, cells, distinct)
    }

    /// Names the unit of analysis of this matrix (carried into every result).
    pub fn with_unit(mut self, unit: UnitOfAnalysis) -> Self {
        self.unit = unit;
        self
    }

    /// Replaces the value list by the full category list, in its order, remapping the cells.
    ///
    /// Every value that occurs must be in `categories`; unused categories then count for
    /// weighted κ positions, AC1 and Brennan–Prediger (their q), and the list's order is
    /// the ordinal order.
    pub fn with_categories(mut self, categories: Vec<Value>) -> Result<Self> {
        for (i, c) in categories.iter().enumerate() {
            if categories[..i].iter().any(|d| d.same(c)) {
                return Err(AgreementError::DuplicateCategory(c.to_string()));
            }
        }
        let mut remap = vec![MISSING; self.values.len()];
        let mut used = vec![false; self.values.len()];
        for &c in &self.cells {
            if c != MISSING {
                used[c as usize] = true;
            }
        }
        for (old, v) in self.values.iter().enumerate() {
            match categories.iter().position(|c| c.same(v)) {
                Some(new) => remap[old] = new as u32,
                None if used[old] => return Err(AgreementError::UnknownCategory(v.to_string())),
                None => {}
            }
        }
        for c in &mut self.cells {
            if *c != MISSING {
                *c = remap[*c as usize];
            }
        }
        self.values = categories;
        self.categories_complete = true;
        Ok(self)
    }

    /// Groups units into clusters (one id per unit, e.g. the response of a code point);
    /// the unit bootstrap then resamples whole clusters.
    pub fn with_clusters(mut self, clusters: Vec<u32>) -> Result<Self> {
        if clusters.len() != self.n_units {
            return Err(AgreementError::Shape(format!(
                "{} cluster ids for {} units",
                clusters.len(),
                self.n_units
            )));
        }
        self.clusters = Some(clusters);
        Ok(self)
    }

    /// The cluster of each unit, if the units are clustered.
    pub fn clusters(&self) -> Option<&[u32]> {
        self.clusters.as_deref()
    }

    /// Declares that the value list is the full category list (for κ weights, AC1, BP).
    pub fn with_complete_categories(mut self, complete: bool) -> Self {
        self.categories_complete = complete;
        self
    }

    /// Number of coders (rows).
    pub fn n_coders(&self) -> usize {
        self.n_coders
    }

    /// Number of units (columns), pairable or not.
    pub fn n_units(&self) -> usize {
        self.n_units
    }

    /// All cells, units-major.
    pub fn cells(&self) -> &[u32] {
        &self.cells
    }

    /// The cells of one unit, one per coder.
    pub fn unit(&self, unit: usize) -> &[u32] {
        &self.cells[unit * self.n_coders..(unit + 1) * self.n_coders]
    }

    /// The value id coder `coder` gave unit `unit`, or `None` when missing.
    pub fn get(&self, coder: usize, unit: usize) -> Option<u32> {
        let c = self.cells[unit * self.n_coders + coder];
        (c != MISSING).then_some(c)
    }

    /// The value list (index = value id).
    pub fn values(&self) -> &[Value] {
        &self.values
    }

    /// Coder names, in row order.
    pub fn coders(&self) -> &[String] {
        &self.coders
    }

    /// The id of unit `unit` (its 1-based number when the matrix has no ids).
    pub fn unit_id(&self, unit: usize) -> String {
        match &self.unit_ids {
            Some(ids) => ids.get(unit).to_string(),
            None => (unit + 1).to_string(),
        }
    }

    /// Whether the value list is the full category list rather than the observed values.
    pub fn categories_complete(&self) -> bool {
        self.categories_complete
    }

    /// The unit of analysis these data are about.
    pub fn unit_of_analysis(&self) -> &UnitOfAnalysis {
        &self.unit
    }

    /// The matrix restricted to (and reordered by) the given coders.
    pub fn select_coders(&self, coders: &[usize]) -> Result<Self> {
        if let Some(&c) = coders.iter().find(|&&c| c >= self.n_coders) {
            return Err(AgreementError::Shape(format!("no coder number {c}")));
        }
        let mut cells = Vec::with_capacity(self.n_units * coders.len());
        for u in 0..self.n_units {
            let row = self.unit(u);
            cells.extend(coders.iter().map(|&c| row[c]));
        }
        let names = coders.iter().map(|&c| self.coders[c].clone()).collect();
        let mut m = Self::new(names, None, cells, self.values.clone())?;
        m.unit_ids = self.unit_ids.clone();
        m.categories_complete = self.categories_complete;
        m.unit = self.unit.clone();
        m.clusters = self.clusters.clone();
        Ok(m)
    }

    /// The matrix restricted to (and reordered by) the given units; units may repeat.
    pub fn select_units(&self, units: &[usize]) -> Result<Self> {
        if let Some(&u) = units.iter().find(|&&u| u >= self.n_units) {
            return Err(AgreementError::Shape(format!("no unit number {u}")));
        }
        let mut cells = Vec::with_capacity(units.len() * self.n_coders);
        for &u in units {
            cells.extend_from_slice(self.unit(u));
        }
        let ids = Some(units.iter().map(|&u| self.unit_id(u)).collect());
        let mut m = Self::new(self.coders.clone(), ids, cells, self.values.clone())?;
        m.categories_complete = self.categories_complete;
        m.unit = self.unit.clone();
        m.clusters = self
            .clusters
            .as_ref()
            .map(|c| units.iter().map(|&u| c[u]).collect());
        Ok(m)
    }

    /// Value ids in ascending value order (numbers by value, otherwise list order).
    pub(crate) fn value_order(&self) -> Vec<u32> {
        let mut ids: Vec<u32> = (0..self.values.len() as u32).collect();
        if self.values.iter().all(|v| matches!(v, Value::Number(_))) {
            ids.sort_by(|&a, &b| self.values[a as usize].canonical_cmp(&self.values[b as usize]));
        }
        ids
    }
}

/// How a reliability-matrix CSV is laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatrixLayout {
    /// One row per coder: first column the coder name, header row the unit ids.
    CodersAsRows,
    /// One row per unit: first column the unit id, header row the coder names.
    UnitsAsRows,
}

/// How the cells of a reliability-matrix CSV are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueKind {
    /// Category labels (nominal); ids follow sorted label order.
    Labels,
    /// Numbers (ordinal, interval, ratio); ids follow ascending value, `1` and `1.0` are one value.
    Numbers,
}

/// Interns cell texts into value ids, in first-seen order.
struct Interner {
    kind: ValueKind,
    labels: HashMap<Box<[u8]>, u32>,
    numbers: HashMap<u64, u32>,
    values: Vec<Value>,
}

impl Interner {
    fn new(kind: ValueKind) -> Self {
        Interner {
            kind,
            labels: HashMap::new(),
            numbers: HashMap::new(),
            values: Vec::new(),
        }
    }

    fn intern(&mut self, raw: &[u8], line: u64) -> Result<u32> {
        if raw.is_empty() {
            return Ok(MISSING);
        }
        match self.kind {
            ValueKind::Labels => {
                if let Some(&id) = self.labels.get(raw) {
                    return Ok(id);
                }
                let s = std::str::from_utf8(raw).map_err(|_| AgreementError::Csv {
                    line,
                    message: "a cell is not valid UTF-8".into(),
                })?;
                let id = self.values.len() as u32;
                self.values.push(Value::Label(s.to_string()));
                self.labels.insert(raw.into(), id);
                Ok(id)
            }
            ValueKind::Numbers => {
                let s = std::str::from_utf8(raw).map_err(|_| AgreementError::Csv {
                    line,
                    message: "a cell is not valid UTF-8".into(),
                })?;
                let v: f64 = s.parse().ok().filter(|v: &f64| v.is_finite()).ok_or_else(|| AgreementError::Csv {
                    line,
                    message: format!("`{s}` is not a number; numeric levels need numbers (or read labels for nominal data)"),
                })?;
                let v = if v == 0.0 { 0.0 } else { v };
                let next = self.values.len() as u32;
                let id = *self.numbers.entry(v.to_bits()).or_insert(next);
                if id == next {
                    self.values.push(Value::Number(v));
                }
                Ok(id)
            }
        }
    }

    /// The values in canonical order and the map from first-seen ids to canonical ids.
    fn finish(self) -> (Vec<Value>, Vec<u32>) {
        let mut order: Vec<usize> = (0..self.values.len()).collect();
        order.sort_by(|&a, &b| self.values[a].canonical_cmp(&self.values[b]));
        let mut remap = vec![0u32; self.values.len()];
        for (new, &old) in order.iter().enumerate() {
            remap[old] = new as u32;
        }
        let mut values = self.values;
        let sorted = order
            .iter()
            .map(|&i| std::mem::replace(&mut values[i], Value::Number(0.0)))
            .collect();
        (sorted, remap)
    }
}

/// Reads a reliability matrix from CSV; an empty cell is a missing value.
///
/// With [`MatrixLayout::CodersAsRows`] the first row is `coder,unit1,unit2,…` and each
/// further row `name,value,value,…`; with [`MatrixLayout::UnitsAsRows`] the first row
/// is `unit,coder1,coder2,…` and each further row `id,value,value,…`. Every row must
/// have as many fields as the header. Cells are trimmed.
pub fn parse_matrix_csv(
    text: &str,
    layout: MatrixLayout,
    kind: ValueKind,
) -> Result<ReliabilityMatrix> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let mut record = csv::ByteRecord::new();
    let csv_err = |e: csv::Error| AgreementError::Csv {
        line: e.position().map(|p| p.line()).unwrap_or(0),
        message: e.to_string(),
    };
    let utf8 = |b: &[u8], line: u64| {
        std::str::from_utf8(b)
            .map(str::to_string)
            .map_err(|_| AgreementError::Csv {
                line,
                message: "a name is not valid UTF-8".into(),
            })
    };
    if !reader.read_byte_record(&mut record).map_err(csv_err)? {
        return Err(AgreementError::Csv {
            line: 1,
            message: "the file is empty".into(),
        });
    }
    let header_line = record.position().map(|p| p.line()).unwrap_or(1);
    let header: Vec<String> = record
        .iter()
        .skip(1)
        .map(|b| utf8(b, header_line))
        .collect::<Result<_>>()?;
    if header.is_empty() {
        return Err(AgreementError::Csv {
            line: header_line,
            message: match layout {
                MatrixLayout::CodersAsRows => {
                    "the header row names no units (expected `coder,unit1,unit2,…`)".into()
                }
                MatrixLayout::UnitsAsRows => {
                    "the header row names no coders (expected `unit,coder1,coder2,…`)".into()
                }
            },
        });
    }
    let width = header.len();
    let mut interner = Interner::new(kind);
    let mut names = Vec::new();
    let mut row_ids = UnitIds::default();
    let mut raw = Vec::new();
    while reader.read_byte_record(&mut record).map_err(csv_err)? {
        let line = record.position().map(|p| p.line()).unwrap_or(0);
        if record.len() == 1 && record[0].is_empty() {
            continue;
        }
        if record.len() != width + 1 {
            return Err(AgreementError::Csv {
                line,
                message: format!("{} fields, but the header has {}", record.len(), width + 1),
            });
        }
        let name = std::str::from_utf8(&record[0]).map_err(|_| AgreementError::Csv {
            line,
            message: "a name is not valid UTF-8".into(),
        })?;
        match layout {
            MatrixLayout::UnitsAsRows => row_ids.push(name),
            MatrixLayout::CodersAsRows => names.push(name.to_string()),
        }
        for cell in record.iter().skip(1) {
            raw.push(interner.intern(cell, line)?);
        }
    }
    if names.is_empty() && row_ids.len() == 0 {
        return Err(AgreementError::Csv {
            line: header_line,
            message: "no data rows after the header".into(),
        });
    }
    let (values, remap) = interner.finish();
    let remap_cell = |c: u32| {
        if c == MISSING {
            MISSING
        } else {
            remap[c as usize]
        }
    };
    let (coders, unit_ids, cells) = match layout {
        MatrixLayout::UnitsAsRows => (header, row_ids, raw.into_iter().map(remap_cell).collect()),
        MatrixLayout::CodersAsRows => {
            let m = names.len();
            let n = width;
            let mut cells = vec![MISSING; raw.len()];
            for (c, row) in raw.chunks_exact(n).enumerate() {
                for (u, &v) in row.iter().enumerate() {
                    cells[u * m + c] = remap_cell(v);
                }
            }
            (names, UnitIds::from_vec(header), cells)
        }
    };
    let mut m = ReliabilityMatrix::new(coders, None, cells, values)?;
    if unit_ids.len() != m.n_units {
        return Err(AgreementError::Shape(format!(
            "{} unit ids for {} units",
            unit_ids.len(),
            m.n_units
        )));
    }
    m.unit_ids = Some(unit_ids);
    Ok(m.with_unit(UnitOfAnalysis::user("")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_coders_as_rows_and_units_as_rows_agree() {
        let a = parse_matrix_csv(
            "coder,u1,u2,u3\nA,x,y,\nB,x,,z\n",
            MatrixLayout::CodersAsRows,
            ValueKind::Labels,
        )
        .unwrap();
        let b = parse_matrix_csv(
            "unit,A,B\nu1,x,x\nu2,y,\nu3,,z\n",
            MatrixLayout::UnitsAsRows,
            ValueKind::Labels,
        )
        .unwrap();
        assert_eq!(a.cells(), b.cells());
        assert_eq!(a.coders(), ["A", "B"]);
        assert_eq!(a.unit_id(2), "u3");
        assert_eq!(a.values(), b.values());
        assert_eq!(a.get(1, 1), None);
        assert_eq!(
            a.values()[a.get(1, 2).unwrap() as usize],
            Value::Label("z".into())
        );
    }

    #[test]
    fn csv_numbers_are_sorted_and_merged() {
        let m = parse_matrix_csv(
            "c,1,2,3\nA,10,2,1.0\nB,1,2.0,\n",
            MatrixLayout::CodersAsRows,
            ValueKind::Numbers,
        )
        .unwrap();
        assert_eq!(
            m.values(),
            [Value::Number(1.0), Value::Number(2.0), Value::Number(10.0)]
        );
        assert_eq!(m.get(0, 0), Some(2));
        assert_eq!(m.get(1, 0), Some(0));
        assert_eq!(m.get(0, 2), Some(0));
    }

    #[test]
    fn csv_errors_name_the_line() {
        let e = parse_matrix_csv(
            "c,1,2\nA,1\n",
            MatrixLayout::CodersAsRows,
            ValueKind::Labels,
        )
        .unwrap_err();
        assert!(matches!(e, AgreementError::Csv { line: 2, .. }), "{e}");
        let e = parse_matrix_csv("c,1\nA,x\n", MatrixLayout::CodersAsRows, ValueKind::Numbers)
            .unwrap_err();
        assert!(e.to_string().contains("not a number"), "{e}");
        let e = parse_matrix_csv(
            "c,1\nA,1\nA,2\n",
            MatrixLayout::CodersAsRows,
            ValueKind::Numbers,
        )
        .unwrap_err();
        assert_eq!(e, AgreementError::DuplicateCoder("A".into()));
    }

    #[test]
    fn categories_remap_and_reject_unknown_values() {
        let m = ReliabilityMatrix::from_coder_rows(
            vec!["A".into(), "B".into()],
            None,
            &[
                vec![Some("b".into()), Some("a".into())],
                vec![Some("b".into()), None],
            ],
        )
        .unwrap();
        let full = m
            .clone()
            .with_categories(vec!["c".into(), "b".into(), "a".into()])
            .unwrap();
        assert_eq!(full.get(0, 0), Some(1));
        assert_eq!(full.get(0, 1), Some(2));
        assert!(full.categories_complete());
        let e = m.with_categories(vec!["a".into()]).unwrap_err();
        assert_eq!(e, AgreementError::UnknownCategory("b".into()));
    }
}
