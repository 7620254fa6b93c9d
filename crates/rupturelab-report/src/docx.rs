//! Word .docx: WordprocessingML written by hand into a zip. Real Word
//! headings (styles `Heading1`–`Heading3`, so the navigation pane and a
//! table of contents work), real Word tables in APA form (rules above and
//! below the table and under the header, no vertical lines, the header row
//! repeated on each page), and charts as PNG at print resolution (3× the
//! SVG's 96 dpi size, about 300 dpi at the printed width) rendered by resvg.
//!
//! The zip's entries have a fixed date and order, so the same document
//! gives the same bytes.

use std::io::{Cursor, Write};

use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, DateTime, ZipWriter};

use crate::charts::{self, Chart};
use crate::doc::{Block, Document, Figure, RowKind, Run, Table};
use crate::ReportError;

/// Scale of chart PNGs relative to the SVG's px size (3 × 96 dpi).
pub const PNG_SCALE: f32 = 3.0;
/// Printable width of the page in twentieths of a point (A4 portrait, 2 cm margins).
const TEXT_WIDTH_TWIPS: u32 = 9638;
/// Printable width of a landscape page (A4, 2 cm margins), for tables of more than nine columns.
const LANDSCAPE_WIDTH_TWIPS: u32 = 14570;
const PORTRAIT: &str = "<w:pgSz w:w=\"11906\" w:h=\"16838\"/><w:pgMar w:top=\"1134\" w:right=\"1134\" w:bottom=\"1134\" w:left=\"1134\" w:header=\"709\" w:footer=\"709\" w:gutter=\"0\"/>";
const LANDSCAPE: &str = "<w:pgSz w:w=\"16838\" w:h=\"11906\" w:orient=\"landscape\"/><w:pgMar w:top=\"1134\" w:right=\"1134\" w:bottom=\"1134\" w:left=\"1134\" w:header=\"709\" w:footer=\"709\" w:gutter=\"0\"/>";

/// Whether a table goes on a landscape page of its own.
fn is_wide(t: &Table) -> bool {
    t.header.len() > 9
}

/// A paragraph that ends the current section with these page settings.
fn section_break(page: &str) -> String {
    format!("<w:p><w:pPr><w:sectPr><w:type w:val=\"nextPage\"/>{page}</w:sectPr></w:pPr></w:p>")
}
/// English Metric Units per px at 96 dpi.
const EMU_PER_PX: f64 = 9525.0;

fn esc(s: &str) -> String {
    charts::esc(s)
}

fn run(text: &str, props: &str) -> String {
    let rpr = if props.is_empty() {
        String::new()
    } else {
        format!("<w:rPr>{props}</w:rPr>")
    };
    format!(
        "<w:r>{rpr}<w:t xml:space=\"preserve\">{}</w:t></w:r>",
        esc(text)
    )
}

fn para(style: &str, extra_ppr: &str, runs: &str) -> String {
    format!("<w:p><w:pPr><w:pStyle w:val=\"{style}\"/>{extra_ppr}</w:pPr>{runs}</w:p>")
}

/// Font size (pt) of a table's text: 9, or 8 for wide tables (more than nine columns).
fn table_pt(t: &Table) -> f64 {
    if is_wide(t) {
        8.0
    } else {
        9.0
    }
}

/// Column widths in twips: every column gets at least its longest word (so
/// no word is broken), the rest of the page goes to the columns with long
/// text, in proportion to how much more they would like.
fn column_widths(t: &Table) -> Vec<u32> {
    let n = t.header.len().max(1);
    let pt = table_pt(t);
    let per_char = |bold: bool| pt * if bold { 0.62 } else { 0.56 } * 20.0;
    let margin = 220.0;
    let words = |s: &str| {
        s.split_whitespace()
            .map(|w| w.chars().count())
            .max()
            .unwrap_or(0)
    };
    let lines = |s: &str| s.split('\n').map(|l| l.chars().count()).max().unwrap_or(0);
    let mut min = Vec::with_capacity(n);
    let mut pref = Vec::with_capacity(n);
    for i in 0..n {
        let head = t.header.get(i).map(String::as_str).unwrap_or("");
        let cells = t.rows.iter().filter_map(|r| r.cells.get(i));
        let (mut body_word, mut body_line) = (0, 0);
        for c in cells {
            body_word = body_word.max(words(&c.text));
            body_line = body_line.max(lines(&c.text));
        }
        let m = (words(head) as f64 * per_char(true))
            .max(body_word.min(30) as f64 * per_char(false))
            + margin;
        let p = (lines(head) as f64 * per_char(true))
            .max(body_line.min(60) as f64 * per_char(false))
            + margin;
        min.push(m);
        pref.push(p.max(m));
    }
    let total = if is_wide(t) {
        LANDSCAPE_WIDTH_TWIPS
    } else {
        TEXT_WIDTH_TWIPS
    } as f64;
    let sum_min: f64 = min.iter().sum();
    let widths: Vec<f64> = if sum_min >= total {
        min.iter().map(|m| m * total / sum_min).collect()
    } else {
        let want: Vec<f64> = pref.iter().zip(&min).map(|(p, m)| p - m).collect();
        let sum_want: f64 = want.iter().sum();
        let extra = total - sum_min;
        min.iter()
            .zip(&want)
            .map(|(m, w)| {
                if sum_want > 0.0 {
                    m + extra * w / sum_want
                } else {
                    m + extra / n as f64
                }
            })
            .collect()
    };
    widths.iter().map(|w| w.floor() as u32).collect()
}

fn table(out: &mut String, doc: &Document, t: &Table) {
    if is_wide(t) {
        out.push_str(&section_break(PORTRAIT));
    }
    out.push_str(&para(
        "TableLabel",
        "<w:keepNext/>",
        &run(&format!("{} {}", doc.table_label, t.number), "<w:b/>"),
    ));
    out.push_str(&para(
        "TableTitle",
        "<w:keepNext/>",
        &run(&t.title, "<w:i/>"),
    ));
    let widths = column_widths(t);
    out.push_str("<w:tbl><w:tblPr><w:tblW w:w=\"5000\" w:type=\"pct\"/><w:tblBorders><w:top w:val=\"single\" w:sz=\"12\" w:space=\"0\" w:color=\"000000\"/><w:bottom w:val=\"single\" w:sz=\"12\" w:space=\"0\" w:color=\"000000\"/></w:tblBorders><w:tblLayout w:type=\"fixed\"/><w:tblCellMar><w:left w:w=\"70\" w:type=\"dxa\"/><w:right w:w=\"70\" w:type=\"dxa\"/></w:tblCellMar><w:tblLook w:val=\"0020\" w:firstRow=\"1\" w:lastRow=\"0\" w:firstColumn=\"0\" w:lastColumn=\"0\" w:noHBand=\"1\" w:noVBand=\"1\"/></w:tblPr><w:tblGrid>");
    for w in &widths {
        out.push_str(&format!("<w:gridCol w:w=\"{w}\"/>"));
    }
    out.push_str("</w:tblGrid>");
    let head_props = if table_pt(t) < 9.0 {
        "<w:b/><w:sz w:val=\"16\"/>"
    } else {
        "<w:b/>"
    };
    // Header row.
    out.push_str("<w:tr><w:trPr><w:tblHeader/><w:cantSplit/></w:trPr>");
    for (i, h) in t.header.iter().enumerate() {
        let jc = if t.numeric.contains(&i) {
            "<w:jc w:val=\"right\"/>"
        } else {
            ""
        };
        out.push_str(&format!(
            "<w:tc><w:tcPr><w:tcW w:w=\"{}\" w:type=\"dxa\"/><w:tcBorders><w:bottom w:val=\"single\" w:sz=\"6\" w:space=\"0\" w:color=\"000000\"/></w:tcBorders><w:vAlign w:val=\"bottom\"/></w:tcPr>{}</w:tc>",
            widths[i],
            h.split('\n')
                .map(|l| para("TableText", jc, &run(l, head_props)))
                .collect::<String>()
        ));
    }
    out.push_str("</w:tr>");
    let quote_col = t.header.len().saturating_sub(1);
    let has_quotes = t.id.starts_with("themes-");
    for row in &t.rows {
        out.push_str("<w:tr><w:trPr><w:cantSplit/></w:trPr>");
        for (i, c) in row.cells.iter().enumerate() {
            // w:pPr children in schema order: ind before jc.
            let mut ppr = String::new();
            if i == 0 && row.kind == RowKind::Sub {
                ppr.push_str("<w:ind w:left=\"284\"/>");
            }
            if t.numeric.contains(&i) {
                ppr.push_str("<w:jc w:val=\"right\"/>");
            }
            // w:rPr children in schema order: b, i, sz.
            let mut props = String::new();
            if row.kind == RowKind::Group && !(has_quotes && i == quote_col) {
                props.push_str("<w:b/>");
            }
            if has_quotes && i == quote_col {
                props.push_str("<w:i/>");
            }
            if table_pt(t) < 9.0 {
                props.push_str("<w:sz w:val=\"16\"/>");
            }
            let paras: String = c
                .lines()
                .map(|l| para("TableText", &ppr, &run(l, &props)))
                .collect();
            out.push_str(&format!(
                "<w:tc><w:tcPr><w:tcW w:w=\"{}\" w:type=\"dxa\"/></w:tcPr>{paras}</w:tc>",
                widths.get(i).copied().unwrap_or(1000)
            ));
        }
        out.push_str("</w:tr>");
    }
    out.push_str("</w:tbl>");
    match &t.note {
        Some(n) => out.push_str(&para(
            "TableNote",
            "",
            &format!(
                "{}{}",
                run(&doc.note_label, "<w:i/>"),
                run(&format!(" {n}"), "")
            ),
        )),
        None => out.push_str(&para("TableNote", "", "")),
    }
    if is_wide(t) {
        out.push_str(&section_break(LANDSCAPE));
    }
}

fn figure(out: &mut String, doc: &Document, f: &Figure, rel: &str, id: usize) {
    out.push_str(&para(
        "TableLabel",
        "<w:keepNext/>",
        &run(&format!("{} {}", doc.figure_label, f.number), "<w:b/>"),
    ));
    out.push_str(&para(
        "TableTitle",
        "<w:keepNext/>",
        &run(&f.title, "<w:i/>"),
    ));
    let max_emu = TEXT_WIDTH_TWIPS as f64 / 1440.0 * 914_400.0;
    let mut cx = f.width as f64 * EMU_PER_PX;
    let mut cy = f.height as f64 * EMU_PER_PX;
    if cx > max_emu {
        cy *= max_emu / cx;
        cx = max_emu;
    }
    let (cx, cy) = (cx.round() as u64, cy.round() as u64);
    out.push_str(&format!(
        "<w:p><w:pPr><w:pStyle w:val=\"Figure\"/><w:jc w:val=\"center\"/></w:pPr><w:r><w:drawing><wp:inline distT=\"0\" distB=\"0\" distL=\"0\" distR=\"0\"><wp:extent cx=\"{cx}\" cy=\"{cy}\"/><wp:docPr id=\"{id}\" name=\"{name}\" descr=\"{alt}\"/><wp:cNvGraphicFramePr><a:graphicFrameLocks noChangeAspect=\"1\"/></wp:cNvGraphicFramePr><a:graphic><a:graphicData uri=\"http://schemas.openxmlformats.org/drawingml/2006/picture\"><pic:pic><pic:nvPicPr><pic:cNvPr id=\"{id}\" name=\"{name}.png\"/><pic:cNvPicPr/></pic:nvPicPr><pic:blipFill><a:blip r:embed=\"{rel}\"/><a:stretch><a:fillRect/></a:stretch></pic:blipFill><pic:spPr><a:xfrm><a:off x=\"0\" y=\"0\"/><a:ext cx=\"{cx}\" cy=\"{cy}\"/></a:xfrm><a:prstGeom prst=\"rect\"><a:avLst/></a:prstGeom></pic:spPr></pic:pic></a:graphicData></a:graphic></wp:inline></w:drawing></w:r></w:p>",
        name = esc(&f.id),
        alt = esc(&f.alt),
    ));
    if let Some(n) = &f.note {
        out.push_str(&para(
            "TableNote",
            "",
            &format!(
                "{}{}",
                run(&doc.note_label, "<w:i/>"),
                run(&format!(" {n}"), "")
            ),
        ));
    }
}

/// The table of contents: a Word `TOC` field over heading levels 1–2,
/// marked dirty (and `updateFields` is set in settings.xml) so Word
/// refreshes it, with page numbers, when the document opens. Its cached
/// result lists the headings already, so a reader that does not update
/// fields (LibreOffice's converter, a previewer) still shows the contents.
fn toc(out: &mut String, doc: &Document) {
    let entries: Vec<(u8, &str)> = doc
        .blocks
        .iter()
        .filter_map(|b| match b {
            Block::Heading { level, text, .. } if *level <= 2 => Some((*level, text.as_str())),
            _ => None,
        })
        .collect();
    if entries.is_empty() {
        return;
    }
    out.push_str(&para("TOCHeading", "", &run(&doc.toc_title, "")));
    let begin = "<w:r><w:fldChar w:fldCharType=\"begin\" w:dirty=\"true\"/></w:r><w:r><w:instrText xml:space=\"preserve\"> TOC \\o \"1-2\" \\h \\z \\u </w:instrText></w:r><w:r><w:fldChar w:fldCharType=\"separate\"/></w:r>";
    let end = "<w:r><w:fldChar w:fldCharType=\"end\"/></w:r>";
    let last = entries.len() - 1;
    for (i, (level, text)) in entries.iter().enumerate() {
        let mut runs = String::new();
        if i == 0 {
            runs.push_str(begin);
        }
        runs.push_str(&run(text, ""));
        if i == last {
            runs.push_str(end);
        }
        out.push_str(&para(&format!("TOC{level}"), "", &runs));
    }
}

fn document_xml(doc: &Document) -> String {
    let mut out = String::with_capacity(256 * 1024);
    out.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n<w:document xmlns:w=\"http://schemas.openxmlformats.org/wordprocessingml/2006/main\" xmlns:r=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships\" xmlns:wp=\"http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing\" xmlns:a=\"http://schemas.openxmlformats.org/drawingml/2006/main\" xmlns:pic=\"http://schemas.openxmlformats.org/drawingml/2006/picture\"><w:body>");
    out.push_str(&para("Title", "", &run(&doc.title, "")));
    for s in &doc.subtitle {
        out.push_str(&para("Subtitle", "", &run(s, "")));
    }
    toc(&mut out, doc);
    let mut fig = 0;
    for b in &doc.blocks {
        match b {
            Block::Heading { level, text, .. } => {
                out.push_str(&para(&format!("Heading{level}"), "", &run(text, "")));
            }
            Block::Paragraph(runs) => {
                let r: String = runs
                    .iter()
                    .map(|r| match r {
                        Run::Text(t) => run(t, ""),
                        Run::Emph(t) => run(t, "<w:i/>"),
                        Run::Strong(t) => run(t, "<w:b/>"),
                    })
                    .collect();
                out.push_str(&para("BodyText", "", &r));
            }
            Block::List(items) => {
                for i in items {
                    out.push_str(&para("ListItem", "", &run(&format!("•\t{i}"), "")));
                }
            }
            Block::Table(t) => table(&mut out, doc, t),
            Block::Figure(f) => {
                fig += 1;
                figure(&mut out, doc, f, &format!("rIdImg{fig}"), fig);
            }
            Block::Transcript(turns) => {
                for (who, text) in turns {
                    out.push_str(&para(
                        "Transcript",
                        "",
                        &format!(
                            "{}{}",
                            run(&format!("{who}:"), "<w:b/>"),
                            run(&format!("\t{text}"), "")
                        ),
                    ));
                }
            }
        }
    }
    out.push_str(&format!(
        "<w:sectPr>{PORTRAIT}</w:sectPr></w:body></w:document>"
    ));
    out
}

fn styles_xml(lang: &str) -> String {
    let lang = match lang {
        "tr" => "tr-TR",
        _ => "en-US",
    };
    let heading = |id: &str, name: &str, level: u8, size: u8, italic: bool| {
        format!(
            "<w:style w:type=\"paragraph\" w:styleId=\"{id}\"><w:name w:val=\"{name}\"/><w:basedOn w:val=\"Normal\"/><w:next w:val=\"BodyText\"/><w:uiPriority w:val=\"9\"/><w:qFormat/><w:pPr><w:keepNext/><w:keepLines/><w:spacing w:before=\"{}\" w:after=\"120\"/><w:outlineLvl w:val=\"{}\"/></w:pPr><w:rPr><w:b/>{}<w:sz w:val=\"{size}\"/></w:rPr></w:style>",
            if level == 1 { 480 } else { 280 },
            level - 1,
            if italic { "<w:i/>" } else { "" }
        )
    };
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n<w:styles xmlns:w=\"http://schemas.openxmlformats.org/wordprocessingml/2006/main\"><w:docDefaults><w:rPrDefault><w:rPr><w:rFonts w:ascii=\"Times New Roman\" w:hAnsi=\"Times New Roman\" w:eastAsia=\"Times New Roman\" w:cs=\"Times New Roman\"/><w:sz w:val=\"24\"/><w:szCs w:val=\"24\"/><w:lang w:val=\"{lang}\"/></w:rPr></w:rPrDefault><w:pPrDefault><w:pPr><w:spacing w:after=\"0\" w:line=\"276\" w:lineRule=\"auto\"/></w:pPr></w:pPrDefault></w:docDefaults>\
<w:style w:type=\"paragraph\" w:default=\"1\" w:styleId=\"Normal\"><w:name w:val=\"Normal\"/><w:qFormat/></w:style>\
<w:style w:type=\"paragraph\" w:styleId=\"Title\"><w:name w:val=\"Title\"/><w:basedOn w:val=\"Normal\"/><w:qFormat/><w:pPr><w:spacing w:after=\"240\"/><w:jc w:val=\"center\"/></w:pPr><w:rPr><w:b/><w:sz w:val=\"32\"/></w:rPr></w:style>\
<w:style w:type=\"paragraph\" w:styleId=\"Subtitle\"><w:name w:val=\"Subtitle\"/><w:basedOn w:val=\"Normal\"/><w:qFormat/><w:pPr><w:spacing w:after=\"120\"/><w:jc w:val=\"center\"/></w:pPr><w:rPr><w:i/></w:rPr></w:style>\
{}{}{}\
<w:style w:type=\"paragraph\" w:styleId=\"TOCHeading\"><w:name w:val=\"TOC Heading\"/><w:basedOn w:val=\"Normal\"/><w:next w:val=\"Normal\"/><w:uiPriority w:val=\"39\"/><w:pPr><w:keepNext/><w:spacing w:before=\"240\" w:after=\"120\"/></w:pPr><w:rPr><w:b/><w:sz w:val=\"28\"/></w:rPr></w:style>\
<w:style w:type=\"paragraph\" w:styleId=\"TOC1\"><w:name w:val=\"toc 1\"/><w:basedOn w:val=\"Normal\"/><w:next w:val=\"Normal\"/><w:uiPriority w:val=\"39\"/><w:pPr><w:tabs><w:tab w:val=\"right\" w:leader=\"dot\" w:pos=\"9628\"/></w:tabs><w:spacing w:after=\"60\"/></w:pPr></w:style>\
<w:style w:type=\"paragraph\" w:styleId=\"TOC2\"><w:name w:val=\"toc 2\"/><w:basedOn w:val=\"Normal\"/><w:next w:val=\"Normal\"/><w:uiPriority w:val=\"39\"/><w:pPr><w:tabs><w:tab w:val=\"right\" w:leader=\"dot\" w:pos=\"9628\"/></w:tabs><w:spacing w:after=\"60\"/><w:ind w:left=\"240\"/></w:pPr></w:style>\
<w:style w:type=\"paragraph\" w:styleId=\"BodyText\"><w:name w:val=\"Body Text\"/><w:basedOn w:val=\"Normal\"/><w:qFormat/><w:pPr><w:spacing w:after=\"160\" w:line=\"360\" w:lineRule=\"auto\"/></w:pPr></w:style>\
<w:style w:type=\"paragraph\" w:styleId=\"ListItem\"><w:name w:val=\"List Item\"/><w:basedOn w:val=\"BodyText\"/><w:pPr><w:ind w:left=\"567\" w:hanging=\"283\"/></w:pPr></w:style>\
<w:style w:type=\"paragraph\" w:styleId=\"TableLabel\"><w:name w:val=\"Table Label\"/><w:basedOn w:val=\"Normal\"/><w:pPr><w:keepNext/><w:spacing w:before=\"240\"/></w:pPr></w:style>\
<w:style w:type=\"paragraph\" w:styleId=\"TableTitle\"><w:name w:val=\"Table Title\"/><w:basedOn w:val=\"Normal\"/><w:pPr><w:keepNext/><w:spacing w:after=\"120\"/></w:pPr></w:style>\
<w:style w:type=\"paragraph\" w:styleId=\"TableText\"><w:name w:val=\"Table Text\"/><w:basedOn w:val=\"Normal\"/><w:pPr><w:spacing w:before=\"20\" w:after=\"20\" w:line=\"240\" w:lineRule=\"auto\"/></w:pPr><w:rPr><w:sz w:val=\"18\"/><w:szCs w:val=\"18\"/></w:rPr></w:style>\
<w:style w:type=\"paragraph\" w:styleId=\"TableNote\"><w:name w:val=\"Table Note\"/><w:basedOn w:val=\"Normal\"/><w:pPr><w:spacing w:before=\"60\" w:after=\"240\"/></w:pPr><w:rPr><w:sz w:val=\"20\"/></w:rPr></w:style>\
<w:style w:type=\"paragraph\" w:styleId=\"Figure\"><w:name w:val=\"Figure\"/><w:basedOn w:val=\"Normal\"/><w:pPr><w:keepNext/><w:spacing w:after=\"60\"/></w:pPr></w:style>\
<w:style w:type=\"paragraph\" w:styleId=\"Transcript\"><w:name w:val=\"Transcript\"/><w:basedOn w:val=\"Normal\"/><w:pPr><w:tabs><w:tab w:val=\"left\" w:pos=\"567\"/></w:tabs><w:spacing w:after=\"60\"/><w:ind w:left=\"567\" w:hanging=\"567\"/></w:pPr><w:rPr><w:sz w:val=\"22\"/></w:rPr></w:style>\
</w:styles>",
        heading("Heading1", "heading 1", 1, 28, false),
        heading("Heading2", "heading 2", 2, 24, false),
        heading("Heading3", "heading 3", 3, 24, true),
    )
}

const CONTENT_TYPES: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n<Types xmlns=\"http://schemas.openxmlformats.org/package/2006/content-types\"><Default Extension=\"rels\" ContentType=\"application/vnd.openxmlformats-package.relationships+xml\"/><Default Extension=\"xml\" ContentType=\"application/xml\"/><Default Extension=\"png\" ContentType=\"image/png\"/><Override PartName=\"/word/document.xml\" ContentType=\"application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml\"/><Override PartName=\"/word/styles.xml\" ContentType=\"application/vnd.openxmlformats-officedocument.wordprocessingml.styles+xml\"/><Override PartName=\"/word/settings.xml\" ContentType=\"application/vnd.openxmlformats-officedocument.wordprocessingml.settings+xml\"/><Override PartName=\"/docProps/core.xml\" ContentType=\"application/vnd.openxmlformats-package.core-properties+xml\"/><Override PartName=\"/docProps/app.xml\" ContentType=\"application/vnd.openxmlformats-officedocument.extended-properties+xml\"/></Types>";

const ROOT_RELS: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n<Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\"><Relationship Id=\"rId1\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument\" Target=\"word/document.xml\"/><Relationship Id=\"rId2\" Type=\"http://schemas.openxmlformats.org/package/2006/relationships/metadata/core-properties\" Target=\"docProps/core.xml\"/><Relationship Id=\"rId3\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/extended-properties\" Target=\"docProps/app.xml\"/></Relationships>";

const SETTINGS: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n<w:settings xmlns:w=\"http://schemas.openxmlformats.org/wordprocessingml/2006/main\"><w:defaultTabStop w:val=\"720\"/><w:characterSpacingControl w:val=\"doNotCompress\"/><w:updateFields w:val=\"true\"/><w:compat><w:compatSetting w:name=\"compatibilityMode\" w:uri=\"http://schemas.microsoft.com/office/word\" w:val=\"15\"/></w:compat></w:settings>";

const APP: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n<Properties xmlns=\"http://schemas.openxmlformats.org/officeDocument/2006/extended-properties\"><Application>RuptureLab</Application></Properties>";

fn document_rels(figures: usize) -> String {
    let mut s = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n<Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\"><Relationship Id=\"rIdStyles\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles\" Target=\"styles.xml\"/><Relationship Id=\"rIdSettings\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/settings\" Target=\"settings.xml\"/>");
    for i in 1..=figures {
        s.push_str(&format!("<Relationship Id=\"rIdImg{i}\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/image\" Target=\"media/figure{i}.png\"/>"));
    }
    s.push_str("</Relationships>");
    s
}

fn core_xml(doc: &Document, date: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n<cp:coreProperties xmlns:cp=\"http://schemas.openxmlformats.org/package/2006/metadata/core-properties\" xmlns:dc=\"http://purl.org/dc/elements/1.1/\" xmlns:dcterms=\"http://purl.org/dc/terms/\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\"><dc:title>{}</dc:title><dc:creator>RuptureLab</dc:creator><dc:language>{}</dc:language><dcterms:created xsi:type=\"dcterms:W3CDTF\">{date}T00:00:00Z</dcterms:created><dcterms:modified xsi:type=\"dcterms:W3CDTF\">{date}T00:00:00Z</dcterms:modified></cp:coreProperties>",
        esc(&doc.title),
        esc(doc.lang)
    )
}

/// The PNG of each figure, at [`PNG_SCALE`].
pub fn figure_pngs(doc: &Document) -> Result<Vec<Vec<u8>>, ReportError> {
    doc.figures()
        .map(|f| {
            charts::to_png(
                &Chart {
                    svg: f.svg.clone(),
                    width: f.width,
                    height: f.height,
                },
                PNG_SCALE,
            )
        })
        .collect()
}

/// Renders the document as a .docx (zip bytes); `date` (YYYY-MM-DD) goes into the document properties.
pub fn render(doc: &Document, date: &str) -> Result<Vec<u8>, ReportError> {
    let pngs = figure_pngs(doc)?;
    let zerr = |e: zip::result::ZipError| ReportError::Docx(e.to_string());
    let ioerr = |e: std::io::Error| ReportError::Docx(e.to_string());
    let mut zip = ZipWriter::new(Cursor::new(Vec::new()));
    let deflate = SimpleFileOptions::default()
        .compression_method(CompressionMethod::Deflated)
        .last_modified_time(DateTime::default())
        .unix_permissions(0o644);
    let stored = deflate.compression_method(CompressionMethod::Stored);
    let parts: Vec<(&str, String)> = vec![
        ("[Content_Types].xml", CONTENT_TYPES.to_string()),
        ("_rels/.rels", ROOT_RELS.to_string()),
        ("docProps/core.xml", core_xml(doc, date)),
        ("docProps/app.xml", APP.to_string()),
        ("word/document.xml", document_xml(doc)),
        ("word/styles.xml", styles_xml(doc.lang)),
        ("word/settings.xml", SETTINGS.to_string()),
        ("word/_rels/document.xml.rels", document_rels(pngs.len())),
    ];
    for (name, body) in parts {
        zip.start_file(name, deflate).map_err(zerr)?;
        zip.write_all(body.as_bytes()).map_err(ioerr)?;
    }
    for (i, png) in pngs.iter().enumerate() {
        zip.start_file(format!("word/media/figure{}.png", i + 1), stored)
            .map_err(zerr)?;
        zip.write_all(png).map_err(ioerr)?;
    }
    Ok(zip.finish().map_err(zerr)?.into_inner())
}
