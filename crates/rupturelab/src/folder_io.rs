//! Reading and writing study folders on disk (the format itself is in core).

use std::path::Path;

use anyhow::{bail, Context, Result};
use rupturelab_core::folder::{is_study_file, FolderFiles};

/// Reads the study files of a folder (study.toml, CSVs, segments/*.txt).
pub fn read_folder(dir: &Path) -> Result<FolderFiles> {
    if !dir.is_dir() {
        bail!(
            "`{}` is not a folder; give the path of a study folder (the one holding study.toml)",
            dir.display()
        );
    }
    let mut files = FolderFiles::new();
    let mut visit = |rel: String, path: &Path| -> Result<()> {
        if is_study_file(&rel) {
            let bytes =
                std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
            files.insert(rel, bytes);
        }
        Ok(())
    };
    for entry in
        std::fs::read_dir(dir).with_context(|| format!("cannot read folder {}", dir.display()))?
    {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().to_string();
        if entry.file_type()?.is_file() {
            visit(name, &entry.path())?;
        }
    }
    let seg_dir = dir.join("segments");
    if seg_dir.is_dir() {
        for entry in std::fs::read_dir(&seg_dir)
            .with_context(|| format!("cannot read folder {}", seg_dir.display()))?
        {
            let entry = entry?;
            if entry.file_type()?.is_file() {
                let name = format!("segments/{}", entry.file_name().to_string_lossy());
                visit(name, &entry.path())?;
            }
        }
    }
    Ok(files)
}

/// Writes folder files under `dir`. With `force`, study files already in
/// `dir` that are not part of this export are removed first, so the folder
/// holds exactly this study; without it, a non-empty folder is refused.
pub fn write_folder(dir: &Path, files: &FolderFiles, force: bool) -> Result<()> {
    if dir.exists() {
        let existing = read_folder(dir)?;
        let non_empty = std::fs::read_dir(dir)?.next().is_some();
        if non_empty && !force {
            bail!("`{}` exists and is not empty; choose a new folder or add --force to overwrite its study files", dir.display());
        }
        for stale in existing.keys().filter(|k| !files.contains_key(*k)) {
            std::fs::remove_file(dir.join(stale))
                .with_context(|| format!("cannot remove {}", dir.join(stale).display()))?;
        }
    }
    for (rel, bytes) in files {
        let path = dir.join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("cannot create {}", parent.display()))?;
        }
        std::fs::write(&path, bytes).with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(())
}
