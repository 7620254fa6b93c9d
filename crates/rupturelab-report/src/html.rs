//! One self-contained HTML file: inline CSS (screen and print), a table of
//! contents, APA tables and inline SVG charts. No scripts, no outside links
//! or fonts; every piece of study text is escaped. The markup is well-formed
//! XML as well as HTML, so tests can parse it.

use crate::doc::{Block, Document, Figure, RowKind, Run, Table};

/// Escapes text for HTML content and attributes.
pub fn esc(s: &str) -> String {
    crate::charts::esc(s)
}

const CSS: &str = r#"
:root { --ink: #1a1a1a; --muted: #555; --rule: #1a1a1a; --soft: #f3f4f6; }
* { box-sizing: border-box; }
body { margin: 0; color: var(--ink); background: #fff; font: 16px/1.55 Georgia, "Times New Roman", serif; }
main { max-width: 62rem; margin: 0 auto; padding: 2rem 1.5rem 4rem; }
header.title h1 { font-size: 1.9rem; line-height: 1.25; margin: 0 0 .5rem; }
header.title p { margin: .2rem 0; color: var(--muted); font-style: italic; }
header.title p.synthetic { color: #8a4b00; font-style: normal; font-weight: bold; }
h2 { font-size: 1.45rem; margin: 2.6rem 0 .8rem; padding-bottom: .2rem; border-bottom: 1px solid #ccc; }
h3 { font-size: 1.15rem; margin: 1.8rem 0 .6rem; }
h4 { font-size: 1rem; margin: 1.2rem 0 .4rem; }
nav.toc { background: var(--soft); padding: .8rem 1.2rem; margin: 1.5rem 0; border-radius: 4px; }
nav.toc h2 { border: 0; margin: 0 0 .3rem; font-size: 1.1rem; }
nav.toc ol { margin: 0; padding-left: 1.4rem; }
nav.toc ol ol { list-style: lower-alpha; }
nav.toc a { color: inherit; }
figure, .table { margin: 1.4rem 0 1.8rem; }
.table { overflow-x: auto; }
.caption .label { font-weight: bold; display: block; }
.caption .title { font-style: italic; display: block; margin-bottom: .4rem; }
table { border-collapse: collapse; width: 100%; font: 13.5px/1.4 "Helvetica Neue", Arial, sans-serif; border-top: 2px solid var(--rule); border-bottom: 2px solid var(--rule); }
thead th { text-align: left; vertical-align: bottom; border-bottom: 1px solid var(--rule); padding: .35rem .5rem; font-weight: 600; }
td { padding: .3rem .5rem; vertical-align: top; }
th.num, td.num { text-align: right; }
td.num { white-space: nowrap; }
table.wide { font-size: 12px; }
table.wide td, table.wide th { padding: .3rem .35rem; }
tr.group td { font-weight: bold; padding-top: .6rem; }
tr.sub td:first-child { padding-left: 1.6rem; color: #333; }
td p.q { margin: 0 0 .35rem; font-style: italic; font-weight: normal; }
td p.l { margin: 0 0 .2rem; }
.note { font-size: .9rem; margin: .4rem 0 0; }
.note em { font-style: italic; }
figure .chart { border: 1px solid #e3e3e3; padding: .5rem; background: #fff; }
figure svg { max-width: 100%; height: auto; display: block; margin: 0 auto; }
figure svg text { font-family: Roboto, "Helvetica Neue", Arial, sans-serif; }
.transcript p { margin: .15rem 0; }
.transcript .who { font-weight: bold; display: inline-block; min-width: 1.6rem; }
p.generated { color: var(--muted); font-size: .9rem; }
@media print {
  body { font-size: 11pt; }
  main { max-width: none; padding: 0; }
  nav.toc { background: none; border: 1px solid #999; page-break-after: always; }
  a { color: inherit; text-decoration: none; }
  h2 { page-break-before: always; border: 0; }
  h2, h3, h4, .caption { page-break-after: avoid; break-after: avoid; }
  figure, tr, .transcript p { page-break-inside: avoid; break-inside: avoid; }
  table { font-size: 9pt; }
  thead { display: table-header-group; }
  figure .chart { border: 0; }
  @page { margin: 2cm 1.8cm; }
}
"#;

fn cell_html(text: &str, quotes: bool) -> String {
    let lines: Vec<&str> = text.split('\n').collect();
    if lines.len() == 1 && !quotes {
        return esc(text);
    }
    let class = if quotes { "q" } else { "l" };
    lines
        .iter()
        .filter(|l| !l.is_empty())
        .map(|l| format!("<p class=\"{class}\">{}</p>", esc(l)))
        .collect()
}

fn table(out: &mut String, doc: &Document, t: &Table) {
    out.push_str(&format!(
        "<div class=\"table\" id=\"{}\">\n<div class=\"caption\"><span class=\"label\">{} {}</span><span class=\"title\">{}</span></div>\n<table>\n<thead><tr>",
        esc(&t.id),
        esc(&doc.table_label),
        t.number,
        esc(&t.title)
    ));
    if t.header.len() > 9 {
        out.truncate(out.len() - "<table>\n<thead><tr>".len());
        out.push_str("<table class=\"wide\">\n<thead><tr>");
    }
    let quote_col = t.header.len().saturating_sub(1);
    let has_quotes = t.id.starts_with("themes-");
    for (i, h) in t.header.iter().enumerate() {
        let h = h.split('\n').map(esc).collect::<Vec<_>>().join("<br/>");
        if t.numeric.contains(&i) {
            out.push_str(&format!("<th class=\"num\">{h}</th>"));
        } else {
            out.push_str(&format!("<th>{h}</th>"));
        }
    }
    out.push_str("</tr></thead>\n<tbody>\n");
    for row in &t.rows {
        match row.kind {
            RowKind::Normal => out.push_str("<tr>"),
            RowKind::Group => out.push_str("<tr class=\"group\">"),
            RowKind::Sub => out.push_str("<tr class=\"sub\">"),
        }
        for (i, c) in row.cells.iter().enumerate() {
            let content = cell_html(&c.text, has_quotes && i == quote_col && !c.text.is_empty());
            if t.numeric.contains(&i) {
                out.push_str(&format!("<td class=\"num\">{content}</td>"));
            } else {
                out.push_str(&format!("<td>{content}</td>"));
            }
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody>\n</table>\n");
    if let Some(n) = &t.note {
        out.push_str(&format!(
            "<p class=\"note\"><em>{}</em> {}</p>\n",
            esc(&doc.note_label),
            esc(n)
        ));
    }
    out.push_str("</div>\n");
}

/// The SVG document without an XML declaration, for inlining.
fn inline_svg(svg: &str) -> &str {
    match svg.find("<svg") {
        Some(i) => &svg[i..],
        None => svg,
    }
}

fn figure(out: &mut String, doc: &Document, f: &Figure) {
    out.push_str(&format!(
        "<figure id=\"{}\">\n<figcaption class=\"caption\"><span class=\"label\">{} {}</span><span class=\"title\">{}</span></figcaption>\n<div class=\"chart\" role=\"img\" aria-label=\"{}\">{}</div>\n",
        esc(&f.id),
        esc(&doc.figure_label),
        f.number,
        esc(&f.title),
        esc(&f.alt),
        inline_svg(&f.svg)
    ));
    if let Some(n) = &f.note {
        out.push_str(&format!(
            "<p class=\"note\"><em>{}</em> {}</p>\n",
            esc(&doc.note_label),
            esc(n)
        ));
    }
    out.push_str("</figure>\n");
}

fn toc(out: &mut String, doc: &Document) {
    out.push_str(&format!(
        "<nav class=\"toc\" aria-label=\"{0}\">\n<h2>{0}</h2>\n<ol>\n",
        esc(&doc.toc_title)
    ));
    let mut open_sub = false;
    let mut first = true;
    for b in &doc.blocks {
        let Block::Heading { level, id, text } = b else {
            continue;
        };
        match level {
            1 => {
                if open_sub {
                    out.push_str("</ol>");
                    open_sub = false;
                }
                if !first {
                    out.push_str("</li>\n");
                }
                first = false;
                out.push_str(&format!("<li><a href=\"#{}\">{}</a>", esc(id), esc(text)));
            }
            2 => {
                if !open_sub {
                    out.push_str("\n<ol>");
                    open_sub = true;
                }
                out.push_str(&format!(
                    "<li><a href=\"#{}\">{}</a></li>",
                    esc(id),
                    esc(text)
                ));
            }
            _ => {}
        }
    }
    if open_sub {
        out.push_str("</ol>");
    }
    if !first {
        out.push_str("</li>\n");
    }
    out.push_str("</ol>\n</nav>\n");
}

/// Renders the document as one self-contained HTML file.
pub fn render(doc: &Document) -> String {
    let mut out = String::with_capacity(256 * 1024);
    out.push_str(&format!(
        "<!DOCTYPE html>\n<html lang=\"{}\">\n<head>\n<meta charset=\"utf-8\"/>\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"/>\n<meta name=\"generator\" content=\"RuptureLab\"/>\n<title>{}</title>\n<style>{}</style>\n</head>\n<body>\n<main>\n<header class=\"title\">\n<h1>{}</h1>\n",
        esc(doc.lang),
        esc(&doc.title),
        CSS,
        esc(&doc.title)
    ));
    for (i, s) in doc.subtitle.iter().enumerate() {
        let class = if i > 0 { " class=\"synthetic\"" } else { "" };
        out.push_str(&format!("<p{class}>{}</p>\n", esc(s)));
    }
    out.push_str("</header>\n");
    toc(&mut out, doc);
    for b in &doc.blocks {
        match b {
            Block::Heading { level, id, text } => {
                let h = level + 1;
                out.push_str(&format!("<h{h} id=\"{}\">{}</h{h}>\n", esc(id), esc(text)));
            }
            Block::Paragraph(runs) => {
                let generated = matches!(runs.as_slice(), [Run::Emph(_)]);
                out.push_str(if generated {
                    "<p class=\"generated\">"
                } else {
                    "<p>"
                });
                for r in runs {
                    match r {
                        Run::Text(t) => out.push_str(&esc(t)),
                        Run::Emph(t) => out.push_str(&format!("<em>{}</em>", esc(t))),
                        Run::Strong(t) => out.push_str(&format!("<strong>{}</strong>", esc(t))),
                    }
                }
                out.push_str("</p>\n");
            }
            Block::List(items) => {
                out.push_str("<ul>\n");
                for i in items {
                    out.push_str(&format!("<li>{}</li>\n", esc(i)));
                }
                out.push_str("</ul>\n");
            }
            Block::Table(t) => table(&mut out, doc, t),
            Block::Figure(f) => figure(&mut out, doc, f),
            Block::Transcript(turns) => {
                out.push_str("<div class=\"transcript\">\n");
                for (who, text) in turns {
                    out.push_str(&format!(
                        "<p><span class=\"who\">{}:</span> {}</p>\n",
                        esc(who),
                        esc(text)
                    ));
                }
                out.push_str("</div>\n");
            }
        }
    }
    out.push_str("</main>\n</body>\n</html>\n");
    out
}
