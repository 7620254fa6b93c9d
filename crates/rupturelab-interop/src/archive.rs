//! Reading zip archives (`.qdpx`, `.docx`, `.xlsx`) within limits, so that a
//! zip bomb or a huge entry is rejected with a clear error instead of
//! exhausting memory; and writing deterministic archives.

use std::io::{Cursor, Read, Write};

use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, DateTime, ZipArchive, ZipWriter};

use crate::error::{InteropError, Problem, Result};

/// Safety limits for reading archives and XML.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest uncompressed size of one entry, in bytes.
    pub max_entry_bytes: u64,
    /// Largest uncompressed size of all entries read, in bytes.
    pub max_total_bytes: u64,
    /// Largest compression ratio (uncompressed : compressed) of an entry.
    pub max_ratio: u64,
    /// Entries smaller than this are not held to the ratio (tiny files compress oddly).
    pub ratio_floor_bytes: u64,
    /// Most entries an archive may have.
    pub max_entries: usize,
    /// Deepest XML element nesting accepted.
    pub max_xml_depth: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_entry_bytes: 512 * 1024 * 1024,
            max_total_bytes: 2 * 1024 * 1024 * 1024,
            max_ratio: 100,
            ratio_floor_bytes: 1024 * 1024,
            max_entries: 1_000_000,
            max_xml_depth: 200,
        }
    }
}

/// A zip archive held in memory, read entry by entry within [`Limits`].
pub(crate) struct Archive<'a> {
    label: String,
    zip: ZipArchive<Cursor<&'a [u8]>>,
    /// Entry names, by index.
    pub names: Vec<String>,
    limits: Limits,
    total: u64,
}

impl<'a> Archive<'a> {
    /// Opens an archive; `label` names it in errors.
    pub fn open(bytes: &'a [u8], label: &str, limits: Limits) -> Result<Self> {
        let zip = ZipArchive::new(Cursor::new(bytes)).map_err(|e| {
            Problem::file(
                label,
                format!("is not a readable zip archive ({e}); export the project again from the QDA program"),
            )
        })?;
        if zip.len() > limits.max_entries {
            return Err(InteropError::Limit(Problem::file(
                label,
                format!(
                    "the archive has {} entries, more than the limit of {}; it is not a project export",
                    zip.len(),
                    limits.max_entries
                ),
            )));
        }
        let mut names = Vec::with_capacity(zip.len());
        let mut zip = zip;
        for i in 0..zip.len() {
            let name = zip
                .by_index_raw(i)
                .ok()
                .and_then(|f| f.name().ok().map(|n| n.replace('\\', "/")))
                .unwrap_or_default();
            names.push(name);
        }
        Ok(Archive {
            label: label.to_string(),
            zip,
            names,
            limits,
            total: 0,
        })
    }

    /// The index of the entry whose name matches `pred`.
    pub fn find(&self, pred: impl Fn(&str) -> bool) -> Option<usize> {
        self.names.iter().position(|n| pred(n))
    }

    /// Reads one entry, enforcing the size, ratio and total limits while
    /// decompressing (sizes in the zip headers are not trusted).
    pub fn read(&mut self, index: usize) -> Result<Vec<u8>> {
        let name = self.names.get(index).cloned().unwrap_or_default();
        let where_ = format!("{}:{}", self.label, name);
        let limits = self.limits;
        let mut file = self.zip.by_index(index).map_err(|e| {
            Problem::file(
                &where_,
                format!("cannot read this entry ({e}); the archive is damaged"),
            )
        })?;
        let compressed = file.compressed_size().max(1);
        let cap = limits
            .max_entry_bytes
            .min(limits.max_total_bytes.saturating_sub(self.total));
        // Read at most one byte past the tighter of the two bounds, then
        // say which one was crossed.
        let ratio_cap = limits
            .ratio_floor_bytes
            .max(compressed.saturating_mul(limits.max_ratio));
        let bound = cap.min(ratio_cap);
        let mut out = Vec::with_capacity(file.size().min(bound).min(1 << 20) as usize);
        (&mut file)
            .take(bound.saturating_add(1))
            .read_to_end(&mut out)
            .map_err(|e| {
                Problem::file(
                    &where_,
                    format!("cannot decompress this entry ({e}); the archive is damaged"),
                )
            })?;
        let len = out.len() as u64;
        if len > cap {
            return Err(InteropError::Limit(Problem::file(
                &where_,
                format!(
                    "the entry is larger than the limit of {} bytes (per entry {} / for the whole archive {}); it is rejected as a possible zip bomb",
                    cap, limits.max_entry_bytes, limits.max_total_bytes
                ),
            )));
        }
        if len > ratio_cap {
            return Err(InteropError::Limit(Problem::file(
                &where_,
                format!(
                    "the entry expands more than {}:1 ({} compressed bytes give over {} bytes); it is rejected as a possible zip bomb",
                    limits.max_ratio, compressed, len
                ),
            )));
        }
        self.total += out.len() as u64;
        Ok(out)
    }
}

/// Writes `entries` (name, bytes) as a deflated zip with fixed timestamps,
/// so that exporting the same data twice gives the same bytes.
pub(crate) fn write_zip(entries: &[(String, Vec<u8>)]) -> std::io::Result<Vec<u8>> {
    let mut w = ZipWriter::new(Cursor::new(Vec::new()));
    let base = SimpleFileOptions::default().last_modified_time(DateTime::default());
    // Small entries (most answers) are stored: deflating them saves little
    // and costs a compressor set-up each; large ones are deflated quickly.
    let stored = base.compression_method(CompressionMethod::Stored);
    let deflated = base
        .compression_method(CompressionMethod::Deflated)
        .compression_level(Some(1));
    for (name, bytes) in entries {
        let opts = if bytes.len() < 4096 { stored } else { deflated };
        w.start_file(name.as_str(), opts)
            .map_err(std::io::Error::other)?;
        w.write_all(bytes)?;
    }
    Ok(w.finish().map_err(std::io::Error::other)?.into_inner())
}
