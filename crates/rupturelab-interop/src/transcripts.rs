//! Segment transcripts from files: plain text (speaker-prefixed lines),
//! Word `.docx` (paragraphs), PDF (the text layer, read as text lines),
//! WebVTT and SubRip subtitles (cues with times, `<v Speaker>` voices). A
//! transcript becomes a [`Segment`] of a study.

use rupturelab_core::folder;
use rupturelab_core::text;
use rupturelab_core::{Key, Media, RuptureType, Segment, StudyData, Turn};

use crate::archive::{Archive, Limits};
use crate::error::{InteropError, Problem, Result};

/// The kinds of transcript file read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TranscriptKind {
    /// Plain text, one `SPEAKER: text` turn per line.
    Txt,
    /// A Word document: one paragraph per line, speakers as in text.
    Docx,
    /// WebVTT subtitles.
    Vtt,
    /// SubRip subtitles.
    Srt,
    /// A PDF with a text layer: its lines are read as in text.
    Pdf,
}

impl TranscriptKind {
    /// The kind of a file by its extension.
    pub fn from_extension(ext: &str) -> std::result::Result<Self, String> {
        Ok(match ext.to_ascii_lowercase().as_str() {
            "txt" | "text" => TranscriptKind::Txt,
            "docx" => TranscriptKind::Docx,
            "vtt" => TranscriptKind::Vtt,
            "srt" => TranscriptKind::Srt,
            "pdf" => TranscriptKind::Pdf,
            "doc" | "rtf" | "odt" => {
                return Err(format!("`.{ext}` is not read; save it as .docx or .txt"))
            }
            o => {
                return Err(format!(
                    "`.{o}` is not a transcript format; use .txt, .docx, .pdf, .vtt or .srt"
                ))
            }
        })
    }
}

/// What the segment is, besides its turns.
#[derive(Debug, Clone)]
pub struct SegmentOptions {
    /// The segment's key.
    pub key: Key,
    /// Its label.
    pub label: String,
    /// The patient (must exist in the study).
    pub patient: Key,
    /// Session number.
    pub session: Option<u32>,
    /// Rupture type.
    pub rupture: RuptureType,
    /// Speaker labels, optionally renamed: `T`, `Therapist=T`. Empty: any
    /// label of 1–32 characters before a colon is a speaker.
    pub speakers: Vec<String>,
    /// The speaker of subtitle cues that name none.
    pub default_speaker: String,
    /// A media file or link (referenced, not copied).
    pub media: Option<String>,
    /// The file name in messages.
    pub label_file: String,
    /// Safety limits (a .docx is a zip).
    pub limits: Limits,
}

fn problem(file: &str, line: usize, msg: impl Into<String>) -> InteropError {
    Problem::at(file, Some(line), None, msg).into()
}

/// Finds `SPEAKER:` at the start of a line; returns (speaker, rest).
fn split_speaker<'a>(line: &'a str, speakers: &[(String, String)]) -> Option<(String, &'a str)> {
    let (head, rest) = line.split_once(':')?;
    let head = head.trim();
    if speakers.is_empty() {
        let n = head.chars().count();
        if (1..=32).contains(&n) && !head.contains(['[', ']']) {
            return Some((head.to_string(), rest.trim_start()));
        }
        return None;
    }
    speakers
        .iter()
        .find(|(from, _)| from.eq_ignore_ascii_case(head))
        .map(|(_, to)| (to.clone(), rest.trim_start()))
}

fn speaker_map(opts: &SegmentOptions) -> Vec<(String, String)> {
    opts.speakers
        .iter()
        .flat_map(|s| s.split(','))
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| match s.split_once('=') {
            Some((a, b)) => (a.trim().to_string(), b.trim().to_string()),
            None => (s.to_string(), s.to_string()),
        })
        .collect()
}

/// Lines (1-based numbers) → turns; a line without a speaker continues the
/// previous turn; `[START-END]` before the speaker gives the turn's times.
fn lines_to_turns(
    lines: &[(usize, String)],
    opts: &SegmentOptions,
    file: &str,
) -> Result<Vec<Turn>> {
    let speakers = speaker_map(opts);
    let mut turns: Vec<Turn> = Vec::new();
    for (ln, raw) in lines {
        let line = raw.trim();
        if line.is_empty() {
            continue;
        }
        let (times, rest) = match line.strip_prefix('[').and_then(|l| l.split_once(']')) {
            Some((t, rest)) => match t.split_once('-') {
                Some((a, b)) => match (folder::parse_time(a), folder::parse_time(b)) {
                    (Ok(a), Ok(b)) => (Some((a, b)), rest.trim_start()),
                    _ => (None, line),
                },
                None => (None, line),
            },
            None => (None, line),
        };
        match split_speaker(rest, &speakers) {
            Some((speaker, text_)) => turns.push(Turn {
                speaker,
                text: text::normalize(text_),
                start_ms: times.map(|t| t.0),
                end_ms: times.map(|t| t.1),
            }),
            None => match turns.last_mut() {
                Some(t) => {
                    t.text.push(' ');
                    t.text.push_str(&text::normalize(line));
                }
                None => {
                    let hint = if speakers.is_empty() {
                        "start each turn with its speaker, e.g. `T: …` or `P: …`".to_string()
                    } else {
                        format!(
                            "start each turn with one of the speakers {}",
                            speakers
                                .iter()
                                .map(|s| s.0.as_str())
                                .collect::<Vec<_>>()
                                .join(", ")
                        )
                    };
                    return Err(problem(
                        file,
                        *ln,
                        format!("the transcript starts without a speaker; {hint}"),
                    ));
                }
            },
        }
    }
    Ok(turns)
}

/// The paragraphs of a Word document, as lines.
fn docx_lines(bytes: &[u8], file: &str, limits: Limits) -> Result<Vec<(usize, String)>> {
    use quick_xml::events::Event;
    let mut a = Archive::open(bytes, file, limits)?;
    let Some(i) = a.find(|n| n == "word/document.xml") else {
        return Err(Problem::file(
            file,
            "is not a Word document (no word/document.xml); save it as .docx",
        )
        .into());
    };
    let xml = a.read(i)?;
    let src = crate::xml::decode(&xml, file)?;
    let mut reader = quick_xml::Reader::from_str(&src);
    let mut out = Vec::new();
    let mut para = String::new();
    let mut in_text = false;
    let mut depth = 0usize;
    loop {
        match reader.read_event() {
            Ok(Event::Start(e)) => {
                depth += 1;
                if depth > limits.max_xml_depth {
                    return Err(InteropError::Limit(Problem::file(
                        file,
                        "word/document.xml nests too deeply",
                    )));
                }
                in_text = e.local_name().as_ref() == "t";
            }
            Ok(Event::Empty(e)) => match e.local_name().as_ref() {
                "tab" => para.push('\t'),
                "br" | "cr" => para.push(' '),
                _ => {}
            },
            Ok(Event::End(e)) => {
                depth = depth.saturating_sub(1);
                match e.local_name().as_ref() {
                    "t" => in_text = false,
                    "p" => {
                        out.push((out.len() + 1, std::mem::take(&mut para)));
                    }
                    _ => {}
                }
            }
            Ok(Event::Text(t)) if in_text => para.push_str(&t.xml10_content()),
            Ok(Event::GeneralRef(r)) if in_text => {
                if r.is_char_ref() {
                    if let Ok(Some(c)) = r.resolve_char_ref() {
                        para.push(c);
                    }
                } else if let Some(s) =
                    quick_xml::escape::resolve_predefined_entity(&r.xml10_content())
                {
                    para.push_str(s);
                }
            }
            Ok(Event::Eof) => break,
            Err(e) => {
                return Err(
                    Problem::file(file, format!("word/document.xml is damaged ({e})")).into(),
                )
            }
            _ => {}
        }
    }
    Ok(out)
}

/// Strips WebVTT tags; returns the voice (`<v Name>`) if any.
fn strip_tags(s: &str) -> (Option<String>, String) {
    let mut voice = None;
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find('<') {
        out.push_str(&rest[..i]);
        let Some(j) = rest[i..].find('>') else {
            out.push_str(&rest[i..]);
            rest = "";
            break;
        };
        let tag = &rest[i + 1..i + j];
        if let Some(v) = tag.strip_prefix("v ").or_else(|| {
            tag.strip_prefix("v.")
                .and_then(|t| t.split_once(' ').map(|x| x.1))
        }) {
            voice.get_or_insert_with(|| v.trim().to_string());
        }
        rest = &rest[i + j + 1..];
    }
    out.push_str(rest);
    let out = out
        .replace("&amp;", "&")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&nbsp;", " ");
    (voice, out)
}

fn cue_time(s: &str) -> std::result::Result<i64, String> {
    folder::parse_time(&s.trim().replace(',', "."))
}

/// Subtitle cues → turns with times.
fn cues_to_turns(
    src: &str,
    kind: TranscriptKind,
    opts: &SegmentOptions,
    file: &str,
) -> Result<Vec<Turn>> {
    let speakers = speaker_map(opts);
    let mut turns = Vec::new();
    let lines: Vec<&str> = src.lines().collect();
    let mut i = 0;
    if kind == TranscriptKind::Vtt {
        if !lines
            .first()
            .is_some_and(|l| l.trim_start_matches('\u{FEFF}').starts_with("WEBVTT"))
        {
            return Err(problem(
                file,
                1,
                "a WebVTT file starts with the line `WEBVTT`",
            ));
        }
        i = 1;
    }
    while i < lines.len() {
        let line = lines[i].trim();
        if line.is_empty() {
            i += 1;
            continue;
        }
        if kind == TranscriptKind::Vtt
            && (line.starts_with("NOTE") || line.starts_with("STYLE") || line.starts_with("REGION"))
        {
            while i < lines.len() && !lines[i].trim().is_empty() {
                i += 1;
            }
            continue;
        }
        // An optional cue id, then the timing line.
        let timing_at = if line.contains("-->") { i } else { i + 1 };
        let Some(timing) = lines.get(timing_at).filter(|l| l.contains("-->")) else {
            return Err(problem(
                file,
                i + 1,
                "expected a timing line such as `00:00:01.000 --> 00:00:04.000`",
            ));
        };
        let (a, b) = timing.split_once("-->").expect("checked");
        let b = b.split_whitespace().next().unwrap_or("");
        let (start, end) = match (cue_time(a), cue_time(b)) {
            (Ok(x), Ok(y)) if x <= y => (x, y),
            (Ok(_), Ok(_)) => {
                return Err(problem(
                    file,
                    timing_at + 1,
                    "the cue ends before it starts",
                ))
            }
            (Err(e), _) | (_, Err(e)) => return Err(problem(file, timing_at + 1, e)),
        };
        i = timing_at + 1;
        let mut text_lines = Vec::new();
        let mut voice = None;
        while i < lines.len() && !lines[i].trim().is_empty() {
            let (v, t) = strip_tags(lines[i].trim());
            if voice.is_none() {
                voice = v;
            }
            text_lines.push(t.trim().to_string());
            i += 1;
        }
        let joined = text_lines.join(" ");
        let (speaker, body) = match voice {
            Some(v) => (v, joined.clone()),
            None => match split_speaker(&joined, &speakers) {
                Some((s, rest)) => (s, rest.to_string()),
                None => (opts.default_speaker.clone(), joined.clone()),
            },
        };
        if body.trim().is_empty() {
            continue;
        }
        turns.push(Turn {
            speaker: text::normalize(speaker.trim()),
            text: text::normalize(body.trim()),
            start_ms: Some(start),
            end_ms: Some(end),
        });
    }
    Ok(turns)
}

/// The lines of a PDF's text layer, numbered. The PDF reader runs behind
/// `catch_unwind`: a file it cannot cope with gives an error naming the file,
/// never a crash. A PDF without text (a scan) is an error that says to run
/// OCR or save the transcript as text.
fn pdf_lines(bytes: &[u8], file: &str) -> Result<Vec<(usize, String)>> {
    if !bytes.starts_with(b"%PDF-") {
        return Err(Problem::file(file, "is not a PDF (it does not start with `%PDF-`)").into());
    }
    let text =
        match std::panic::catch_unwind(|| pdf_extract::extract_text_from_mem(bytes)) {
            Ok(Ok(t)) => t,
            Ok(Err(e)) => {
                return Err(Problem::file(
                    file,
                    format!("cannot be read as a PDF ({e}); save the transcript as .docx or .txt"),
                )
                .into())
            }
            Err(_) => return Err(Problem::file(
                file,
                "cannot be read: the PDF reader failed on it; save the transcript as .docx or .txt",
            )
            .into()),
        };
    let text = text::normalize(&text.replace('\u{c}', "\n"));
    if text.trim().is_empty() {
        return Err(Problem::file(
            file,
            "has no text layer (a scanned PDF?); run OCR on it, or save the transcript as .docx or .txt",
        )
        .into());
    }
    Ok(text
        .lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l.trim_end().to_string()))
        .collect())
}

fn read_transcript_inner(
    bytes: &[u8],
    kind: TranscriptKind,
    opts: &SegmentOptions,
) -> Result<Segment> {
    let file = if opts.label_file.is_empty() {
        "transcript"
    } else {
        &opts.label_file
    };
    let decode = || -> Result<String> {
        text::decode_file(bytes).map_err(|(l, c)| {
            problem(
                file,
                l,
                format!("is not valid UTF-8 (byte column {c}); save it as UTF-8"),
            )
        })
    };
    let turns = match kind {
        TranscriptKind::Txt => {
            let src = decode()?;
            let lines: Vec<(usize, String)> = src
                .lines()
                .enumerate()
                .map(|(i, l)| (i + 1, l.to_string()))
                .collect();
            lines_to_turns(&lines, opts, file)?
        }
        TranscriptKind::Docx => lines_to_turns(&docx_lines(bytes, file, opts.limits)?, opts, file)?,
        TranscriptKind::Pdf => lines_to_turns(&pdf_lines(bytes, file)?, opts, file)?,
        TranscriptKind::Vtt | TranscriptKind::Srt => cues_to_turns(&decode()?, kind, opts, file)?,
    };
    if turns.is_empty() {
        return Err(Problem::file(file, "holds no turns").into());
    }
    for (i, t) in turns.iter().enumerate() {
        let n = t.speaker.chars().count();
        if n == 0 || n > 32 || t.speaker.contains(':') || t.speaker.contains('\n') {
            return Err(Problem::at(
                file,
                None,
                Some(&format!("turn {}", i + 1)),
                format!(
                    "speaker `{}` must be 1–32 characters without `:`",
                    t.speaker
                ),
            )
            .into());
        }
    }
    let (start, end) = (
        turns.iter().filter_map(|t| t.start_ms).min(),
        turns.iter().filter_map(|t| t.end_ms).max(),
    );
    Ok(Segment {
        key: opts.key.clone(),
        label: text::normalize(opts.label.trim()),
        patient: opts.patient.clone(),
        session: opts.session,
        rupture: opts.rupture,
        markers: Vec::new(),
        media: opts.media.as_ref().map(|m| Media {
            reference: m.clone(),
            start_ms: start.filter(|_| end.is_some()),
            end_ms: end.filter(|_| start.is_some()),
        }),
        notes: None,
        turns,
    })
}

/// Adds a segment to a study, checking that its key is new, its patient
/// exists, and that it can be stored and read back exactly.
pub fn add_segment(study: &mut StudyData, seg: Segment, file: &str) -> Result<()> {
    if study.segments.iter().any(|s| s.key == seg.key) {
        return Err(Problem::file(
            file,
            format!(
                "the study already has a segment `{}`; choose another key with --key",
                seg.key
            ),
        )
        .into());
    }
    if !study.patients.iter().any(|p| p.key == seg.patient) {
        let keys: Vec<&str> = study.patients.iter().map(|p| p.key.as_str()).collect();
        return Err(Problem::file(
            file,
            format!(
                "there is no patient `{}` in the study; add it to study.toml or use one of: {}",
                seg.patient,
                keys.join(", ")
            ),
        )
        .into());
    }
    let mut next = study.clone();
    next.segments.push(seg.clone());
    match folder::parse_folder(&folder::write_folder(&next)) {
        Ok(back) if back.segments.last() == Some(&seg) => {
            *study = next;
            Ok(())
        }
        Ok(_) => Err(Problem::file(file, "the transcript has text the study format cannot keep exactly (a turn's text must be one line)").into()),
        Err(e) => Err(InteropError::Invalid(e.0.into_iter().map(|p| Problem::file(file, p.message)).collect())),
    }
}

/// Reads a transcript file into a segment (not yet added to a study).
/// Never panics.
pub fn read_transcript(
    bytes: &[u8],
    kind: TranscriptKind,
    opts: &SegmentOptions,
) -> Result<Segment> {
    crate::error::guard(&opts.label_file, || {
        read_transcript_inner(bytes, kind, opts)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vtt_tags_and_voices() {
        assert_eq!(
            strip_tags("<v Dr. Ayla>Hello <i>there</i></v>"),
            (Some("Dr. Ayla".into()), "Hello there".into())
        );
        assert_eq!(
            strip_tags("<v.loud P>No</v>"),
            (Some("P".into()), "No".into())
        );
        assert_eq!(strip_tags("a &lt; b"), (None, "a < b".into()));
    }
}
