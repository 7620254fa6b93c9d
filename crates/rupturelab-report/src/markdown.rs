//! GitHub-flavoured Markdown: headings, pipe tables with an APA caption and
//! note, figures as links to SVG files written beside the report (or a
//! caption only, when no folder is given).

use crate::doc::{Block, Document, Figure, RowKind, Run, Table};

/// Escapes Markdown's inline specials (and `|`, for tables).
pub fn esc(s: &str) -> String {
    // Brackets only make a link before `(` or `[`; `#` only makes a heading at the start.
    let links = s.contains("](") || s.contains("][");
    let chars: Vec<char> = s.chars().collect();
    let mut o = String::with_capacity(s.len());
    for (i, &c) in chars.iter().enumerate() {
        let next = chars.get(i + 1).copied().unwrap_or(' ');
        let special = match c {
            '\\' | '`' | '*' | '_' | '|' => true,
            // `<` only opens HTML before a letter, `/`, `!` or `?`.
            '<' => next.is_alphabetic() || matches!(next, '/' | '!' | '?'),
            '[' | ']' => links,
            '#' | '>' => i == 0,
            _ => false,
        };
        if special {
            o.push('\\');
        }
        o.push(c);
    }
    o
}

fn cell(text: &str) -> String {
    text.split('\n').map(esc).collect::<Vec<_>>().join("<br>")
}

fn table(out: &mut String, doc: &Document, t: &Table) {
    out.push_str(&format!(
        "**{} {}**\n\n*{}*\n\n",
        doc.table_label,
        t.number,
        esc(&t.title)
    ));
    out.push('|');
    for h in &t.header {
        out.push_str(&format!(" {} |", cell(h)));
    }
    out.push_str("\n|");
    for i in 0..t.header.len() {
        out.push_str(if t.numeric.contains(&i) {
            " ---: |"
        } else {
            " --- |"
        });
    }
    out.push('\n');
    for row in &t.rows {
        out.push('|');
        for (i, c) in row.cells.iter().enumerate() {
            let mut text = cell(&c.text);
            if i == 0 {
                match row.kind {
                    RowKind::Sub => text = format!("&emsp;{text}"),
                    RowKind::Group if !text.is_empty() => text = format!("**{text}**"),
                    _ => {}
                }
            }
            out.push_str(&format!(" {text} |"));
        }
        out.push('\n');
    }
    out.push('\n');
    if let Some(n) = &t.note {
        out.push_str(&format!("*{}* {}\n\n", doc.note_label, esc(n)));
    }
}

/// File name of a figure's SVG in the figure folder.
pub fn figure_file(f: &Figure) -> String {
    format!("{}.svg", f.id)
}

fn figure(out: &mut String, doc: &Document, f: &Figure, dir: Option<&str>) {
    out.push_str(&format!(
        "**{} {}**\n\n*{}*\n\n",
        doc.figure_label,
        f.number,
        esc(&f.title)
    ));
    if let Some(d) = dir {
        out.push_str(&format!("![{}]({}/{})\n\n", esc(&f.alt), d, figure_file(f)));
    } else {
        out.push_str(&format!("> {}\n\n", esc(&f.alt)));
    }
    if let Some(n) = &f.note {
        out.push_str(&format!("*{}* {}\n\n", doc.note_label, esc(n)));
    }
}

/// Renders the document as Markdown; with `figure_dir`, figures link to `figure_dir/ID.svg`.
pub fn render(doc: &Document, figure_dir: Option<&str>) -> String {
    let mut out = format!("# {}\n\n", esc(&doc.title));
    for s in &doc.subtitle {
        out.push_str(&format!("*{}*\n\n", esc(s)));
    }
    for b in &doc.blocks {
        match b {
            Block::Heading { level, text, .. } => {
                out.push_str(&format!(
                    "{} {}\n\n",
                    "#".repeat(*level as usize + 1),
                    esc(text)
                ));
            }
            Block::Paragraph(runs) => {
                for r in runs {
                    match r {
                        Run::Text(t) => out.push_str(&esc(t)),
                        Run::Emph(t) => out.push_str(&format!("*{}*", esc(t))),
                        Run::Strong(t) => out.push_str(&format!("**{}**", esc(t))),
                    }
                }
                out.push_str("\n\n");
            }
            Block::List(items) => {
                for i in items {
                    out.push_str(&format!("- {}\n", esc(i)));
                }
                out.push('\n');
            }
            Block::Table(t) => table(&mut out, doc, t),
            Block::Figure(f) => figure(&mut out, doc, f, figure_dir),
            Block::Transcript(turns) => {
                for (who, text) in turns {
                    out.push_str(&format!("**{}:** {}  \n", esc(who), esc(text)));
                }
                out.push('\n');
            }
        }
    }
    out.truncate(out.trim_end().len());
    out.push('\n');
    out
}

/// The figures' SVG files for a Markdown report: (file name, SVG).
pub fn figure_files(doc: &Document) -> Vec<(String, String)> {
    doc.figures()
        .map(|f| (figure_file(f), f.svg.clone()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::esc;

    #[test]
    fn escaping_keeps_markdown_inert_and_readable() {
        assert_eq!(esc("a_b *c* | d"), "a\\_b \\*c\\* \\| d");
        assert_eq!(esc("p < .001"), "p < .001");
        assert_eq!(esc("<script>"), "\\<script>");
        assert_eq!(esc("# not a heading"), "\\# not a heading");
        assert_eq!(esc("CI [.61, .80]"), "CI [.61, .80]");
        assert_eq!(esc("[x](http://y)"), "\\[x\\](http://y)");
    }
}
