//! The report of the bundled example study: every number equals what the
//! engine returns, output is byte-identical for the same input, Markdown and
//! HTML structure snapshots, and the .docx is a valid zip whose document.xml
//! parses and holds every table's text.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;
use std::sync::OnceLock;

use rupturelab_core::agreement::{code_agreement_table, CodeAgreementOptions, CodeUnit};
use rupturelab_core::analysis::prevalence;
use rupturelab_core::folder::{is_study_file, parse_folder, FolderFiles};
use rupturelab_core::stats::{
    cooccurrence, crosstab, segment_profile, CodeSelection, CrosstabOptions, GroupBy,
};
use rupturelab_core::{Language, StudyData};
use rupturelab_report::doc::Document;
use rupturelab_report::fmt::NumFmt;
use rupturelab_report::model::AgreementStatus;
use rupturelab_report::{docx, html, layout, markdown, Report, ReportOptions};

const DATE: &str = "2026-05-01";

fn example() -> &'static StudyData {
    static STUDY: OnceLock<StudyData> = OnceLock::new();
    STUDY.get_or_init(|| {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/rupture-study");
        let mut files = FolderFiles::new();
        fn walk(root: &Path, dir: &Path, files: &mut FolderFiles) {
            for e in std::fs::read_dir(dir).unwrap() {
                let p = e.unwrap().path();
                if p.is_dir() {
                    walk(root, &p, files);
                } else {
                    let rel = p
                        .strip_prefix(root)
                        .unwrap()
                        .to_string_lossy()
                        .replace('\\', "/");
                    if is_study_file(&rel) {
                        files.insert(rel, std::fs::read(&p).unwrap());
                    }
                }
            }
        }
        walk(&root, &root, &mut files);
        parse_folder(&files).expect("the example study parses")
    })
}

fn options(lang: Language) -> ReportOptions {
    let mut o = ReportOptions::new(example(), DATE);
    o.lang = lang;
    o.by = vec!["orientation".into(), "experience_years".into()];
    o.transcripts = true;
    o
}

/// The English report, built once for the tests of this file.
fn english() -> &'static (Report<'static>, Document) {
    static R: OnceLock<(Report<'static>, Document)> = OnceLock::new();
    R.get_or_init(|| {
        let r = Report::build(example(), options(Language::En)).unwrap();
        let d = layout::document(&r).unwrap();
        (r, d)
    })
}

fn close(a: f64, b: f64) -> bool {
    a == b || (a - b).abs() < 1e-12
}

/// Every numeric cell prints its value in one of the report's number formats.
fn assert_cells_print_their_values(doc: &Document, f: NumFmt) {
    for t in doc.tables() {
        for row in &t.rows {
            for c in &row.cells {
                let Some(v) = c.value else { continue };
                let mut forms = vec![f.num(v, 1), f.num(v, 2), f.coef(v, 2), f.p(v), f.pct(v)];
                if v.fract() == 0.0 && v >= 0.0 {
                    forms.push(f.int(v as u64));
                }
                assert!(
                    forms.iter().any(|s| c.text.contains(s.as_str())),
                    "table {}: cell `{}` does not print its value {v}",
                    t.id,
                    c.text
                );
            }
        }
    }
}

#[test]
fn every_number_in_the_report_equals_what_the_engine_returns() {
    let study = example();
    let (r, doc) = english();
    let layer = "consensus";

    // The model holds the engine's results, unchanged.
    let prev = prevalence(study, layer);
    assert_eq!(r.prevalence, prev);
    let AgreementStatus::Computed(a) = &r.agreement else {
        panic!("the example has two coders");
    };
    let engine_agreement = code_agreement_table(
        study,
        &["Ayla", "Burak"],
        &CodeAgreementOptions {
            unit: CodeUnit::Response,
            ..CodeAgreementOptions::default()
        },
    )
    .unwrap();
    assert_eq!(a.table, engine_agreement);
    for (sec, by) in r.crosstabs.iter().zip(["orientation", "experience_years"]) {
        let mut o = CrosstabOptions::new(GroupBy::Attribute {
            name: by.into(),
            cuts: None,
        });
        o.codes = CodeSelection::Depth(2);
        assert_eq!(sec.crosstab, crosstab(study, &o).unwrap());
    }
    assert_eq!(
        r.cooccurrence,
        cooccurrence(study, layer, &CodeSelection::Depth(r.cooccurrence_depth)).unwrap()
    );
    assert_eq!(
        r.profile,
        segment_profile(study, layer, &CodeSelection::Depth(2)).unwrap()
    );

    // The document's cells carry exactly those numbers.
    let by_name: BTreeMap<&str, _> = prev.iter().map(|p| (p.name.as_str(), p)).collect();
    let mut theme_rows = 0;
    for t in doc.tables().filter(|t| t.id.starts_with("themes-")) {
        for row in &t.rows {
            let p = by_name[row.cells[0].text.as_str()];
            assert_eq!(row.cells[1].value, Some(p.participants as f64));
            assert!(close(row.cells[2].value.unwrap(), p.participants_pct));
            assert_eq!(row.cells[3].value, Some(p.responses as f64));
            theme_rows += 1;
        }
    }
    assert_eq!(theme_rows, prev.iter().filter(|p| p.depth >= 2).count());

    let t = doc.table("agreement").unwrap();
    assert_eq!(t.rows.len(), engine_agreement.rows.len());
    for (row, e) in t.rows.iter().zip(&engine_agreement.rows) {
        assert_eq!(row.cells[0].text, e.name);
        assert_eq!(row.cells[1].value, Some(e.n_units as f64));
        assert!(close(
            row.cells[2].value.unwrap(),
            e.percent_agreement * 100.0
        ));
        assert_eq!(row.cells[3].value, e.kappa.value().value());
        assert_eq!(row.cells[5].value, e.alpha.alpha.value());
        if let Some(ci) = &e.alpha_ci {
            assert_eq!(
                row.cells[6].text,
                NumFmt::new(Language::En).ci(ci.ci.0, ci.ci.1)
            );
        }
    }

    for sec in &r.crosstabs {
        let t = doc
            .table(&format!("crosstab-{}", sec.by.replace('_', "-")))
            .unwrap();
        let x = &sec.crosstab;
        let g = x.groups.len();
        for (row, e) in t.rows.iter().zip(&x.rows) {
            for (gi, cell) in e.cells.iter().enumerate() {
                assert_eq!(row.cells[1 + gi].value, Some(cell.pct));
                assert!(row.cells[1 + gi].text.starts_with(&cell.has.to_string()));
            }
            assert_eq!(row.cells[1 + g].value, Some(e.pct));
            if let (Some(chi), Some(ex)) = (&e.chi_square, &e.exact) {
                assert_eq!(row.cells[2 + g].value, Some(chi.statistic));
                assert_eq!(row.cells[3 + g].value, Some(chi.p_value));
                assert_eq!(row.cells[4 + g].value, Some(chi.cramers_v));
                assert_eq!(row.cells[5 + g].value, Some(ex.p_value));
                assert_eq!(
                    row.cells[6 + g].value,
                    e.adjusted.exact.as_ref().map(|a| a.holm)
                );
            }
        }
    }

    let t = doc.table("profile").unwrap();
    for ((row, seg), cells) in t.rows.iter().zip(&r.profile.segments).zip(&r.profile.cells) {
        assert_eq!(row.cells[2].value, Some(seg.participants as f64));
        for (i, c) in cells.iter().enumerate() {
            assert_eq!(row.cells[3 + i].value, Some(c.participants_pct));
        }
    }
    let t = doc.table("cooccurrence").unwrap();
    for row in &t.rows {
        let both = row.cells[2].value.unwrap() as u64;
        assert!(r
            .cooccurrence
            .pairs
            .iter()
            .any(|p| p.both == both && Some(p.either as f64) == row.cells[3].value));
    }

    assert_cells_print_their_values(doc, NumFmt::new(Language::En));
}

#[test]
fn turkish_report_prints_the_same_numbers_in_turkish_form() {
    let r = Report::build(example(), options(Language::Tr)).unwrap();
    let doc = layout::document(&r).unwrap();
    assert_cells_print_their_values(&doc, NumFmt::new(Language::Tr));
    let (_, en) = english();
    for (a, b) in en.tables().zip(doc.tables()) {
        assert_eq!(a.id, b.id);
        let va: Vec<Option<f64>> = a
            .rows
            .iter()
            .flat_map(|r| r.cells.iter().map(|c| c.value))
            .collect();
        let vb: Vec<Option<f64>> = b
            .rows
            .iter()
            .flat_map(|r| r.cells.iter().map(|c| c.value))
            .collect();
        assert_eq!(va, vb, "table {}", a.id);
    }
    let md = markdown::render(&doc, None);
    assert!(md.contains("## Yöntem"));
    assert!(md.contains("Krippendorff α (nominal)"));
    insta::assert_snapshot!("method_tr", method_text(&md));
}

fn method_text(md: &str) -> String {
    let start = md
        .find("\n## ")
        .map(|_| ())
        .and(md.find("## Method").or_else(|| md.find("## Yöntem")))
        .unwrap();
    let rest = &md[start..];
    let end = rest[3..].find("\n## ").map(|e| e + 3).unwrap_or(rest.len());
    rest[..end].to_string()
}

#[test]
fn same_study_and_options_give_byte_identical_reports() {
    let study = example();
    let render_all = || {
        let r = Report::build(study, options(Language::En)).unwrap();
        let d = layout::document(&r).unwrap();
        (
            html::render(&d),
            markdown::render(&d, Some("fig")),
            docx::render(&d, DATE).unwrap(),
        )
    };
    let a = render_all();
    let b = render_all();
    assert!(a.0 == b.0, "HTML differs between two runs");
    assert!(a.1 == b.1, "Markdown differs between two runs");
    assert!(a.2 == b.2, "docx differs between two runs");

    // The order codings were stored in does not matter either.
    let mut shuffled = study.clone();
    shuffled.codings.reverse();
    shuffled.responses.reverse();
    let r = Report::build(&shuffled, options(Language::En)).unwrap();
    let d = layout::document(&r).unwrap();
    let (_, en) = english();
    for (x, y) in en.tables().zip(d.tables()) {
        if x.id == "completion" {
            continue;
        }
        assert_eq!(x, y, "table {} depends on storage order", x.id);
    }
}

#[test]
fn markdown_report_of_the_example_matches_the_snapshot() {
    let (_, doc) = english();
    let md = markdown::render(doc, Some("report_figures"));
    // Every table cell is in the Markdown, escaped.
    for t in doc.tables() {
        for row in &t.rows {
            for c in &row.cells {
                for line in c.lines() {
                    assert!(md.contains(&markdown::esc(line)), "missing `{line}`");
                }
            }
        }
    }
    insta::assert_snapshot!("example_markdown", md);
}

/// The element outline of an HTML file (tags with their id and class, text left out, inside SVG only the root).
fn outline(html_text: &str) -> String {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_str(html_text);
    let mut out = String::new();
    let mut depth = 0usize;
    let mut in_svg = 0usize;
    loop {
        match reader.read_event().expect("the HTML is well-formed XML") {
            Event::Start(_) if in_svg > 0 => in_svg += 1,
            Event::End(_) if in_svg > 1 => in_svg -= 1,
            Event::Start(e) => {
                let name = e.name().as_ref().to_string();
                let mut line = format!("{}{name}", "  ".repeat(depth));
                for a in e.attributes().flatten() {
                    let k = a.key.as_ref().to_string();
                    if k == "id" || k == "class" {
                        line.push_str(&format!(" {k}={}", a.value));
                    }
                }
                if name == "svg" {
                    in_svg = 1;
                    line.push_str(" …");
                }
                // Collapse table bodies: rows are checked by the Markdown snapshot.
                if !matches!(
                    name.as_str(),
                    "tr" | "td"
                        | "th"
                        | "p"
                        | "span"
                        | "em"
                        | "li"
                        | "a"
                        | "title"
                        | "style"
                        | "meta"
                ) || depth < 4
                {
                    out.push_str(&line);
                    out.push('\n');
                }
                depth += 1;
            }
            Event::Empty(_) => {}
            Event::End(_) => {
                depth -= 1;
                in_svg = 0;
            }
            Event::Eof => break,
            _ => {}
        }
    }
    out
}

#[test]
fn html_report_is_self_contained_escaped_and_matches_the_structure_snapshot() {
    let (_, doc) = english();
    let h = html::render(doc);
    assert!(h.starts_with("<!DOCTYPE html>"));
    for outside in ["http://", "https://", "<script", "<link", "@import", "url("] {
        let allowed_ns = h.matches("http://www.w3.org/2000/svg").count()
            + h.matches("http://www.w3.org/1999/xlink").count();
        if outside == "http://" {
            assert_eq!(h.matches(outside).count(), allowed_ns, "an outside link");
        } else {
            assert!(!h.contains(outside), "{outside} in the HTML");
        }
    }
    assert!(h.contains("<nav class=\"toc\""));
    assert!(h.contains("@media print"));
    assert_eq!(h.matches("<svg").count(), doc.figures().count());
    insta::assert_snapshot!("example_html_structure", outline(&h));
}

#[test]
fn html_escapes_study_text() {
    let mut study = example().clone();
    study.meta.title = "<script>alert('x')</script> & co".into();
    study.codes[0].name = "A <b>bold</b> \"code\"".into();
    let r = Report::build(&study, options(Language::En)).unwrap();
    let d = layout::document(&r).unwrap();
    let h = html::render(&d);
    assert!(!h.contains("<script>"));
    assert!(h.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; co"));
    assert!(!h.contains("<b>bold</b>"));
    outline(&h); // still well-formed
    let docx_bytes = docx::render(&d, DATE).unwrap();
    let xml = zip_entry(&docx_bytes, "word/document.xml");
    parse_xml_text(&xml);
}

fn zip_entry(bytes: &[u8], name: &str) -> String {
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).expect("a valid zip");
    let mut f = zip
        .by_name(name)
        .unwrap_or_else(|_| panic!("{name} in the docx"));
    let mut s = String::new();
    f.read_to_string(&mut s).unwrap();
    s
}

/// Parses WordprocessingML and returns the text of its paragraphs, one per line.
fn parse_xml_text(xml: &str) -> String {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut out = String::new();
    let mut in_t = false;
    loop {
        match reader.read_event().expect("document.xml parses") {
            Event::Start(e) if e.name().as_ref() == "w:t" => in_t = true,
            Event::End(e) if e.name().as_ref() == "w:t" => in_t = false,
            Event::End(e) if e.name().as_ref() == "w:p" => out.push('\n'),
            Event::Text(t) if in_t => out.push_str(t.as_ref()),
            Event::GeneralRef(r) if in_t => {
                out.push_str(match r.as_ref() {
                    "amp" => "&",
                    "lt" => "<",
                    "gt" => ">",
                    "quot" => "\"",
                    "apos" | "#39" => "'",
                    other => panic!("unexpected entity {other}"),
                });
            }
            Event::Eof => break,
            _ => {}
        }
    }
    out
}

#[test]
fn docx_is_a_valid_zip_whose_document_parses_and_holds_every_table() {
    let (r, doc) = english();
    let bytes = docx::render(doc, &r.options.date).unwrap();
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(&bytes)).unwrap();
    let names: Vec<String> = zip.file_names().map(|n| n.unwrap().to_string()).collect();
    for part in [
        "[Content_Types].xml",
        "_rels/.rels",
        "word/document.xml",
        "word/styles.xml",
        "word/_rels/document.xml.rels",
        "docProps/core.xml",
    ] {
        assert!(names.iter().any(|n| n == part), "{part} missing");
    }
    let figures = doc.figures().count();
    for i in 1..=figures {
        let mut f = zip.by_name(&format!("word/media/figure{i}.png")).unwrap();
        let mut png = Vec::new();
        f.read_to_end(&mut png).unwrap();
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
        // Print resolution: 3 × the chart's width in px.
        let w = u32::from_be_bytes(png[16..20].try_into().unwrap());
        let fig = doc.figures().nth(i - 1).unwrap();
        assert_eq!(w, (fig.width * docx::PNG_SCALE).round() as u32);
    }
    for part in [
        "word/styles.xml",
        "word/_rels/document.xml.rels",
        "[Content_Types].xml",
        "docProps/core.xml",
    ] {
        parse_xml_text(&zip_entry(&bytes, part));
    }
    let xml = zip_entry(&bytes, "word/document.xml");
    let text = parse_xml_text(&xml);
    assert_eq!(xml.matches("<w:tbl>").count(), doc.tables().count());
    assert_eq!(xml.matches("<w:drawing>").count(), figures);
    assert!(xml.contains("<w:pStyle w:val=\"Heading1\"/>"));
    for t in doc.tables() {
        assert!(text.contains(&t.title), "title of {}", t.id);
        for h in t.header.iter().flat_map(|h| h.split('\n')) {
            assert!(text.contains(h), "header `{h}` of {}", t.id);
        }
        for row in &t.rows {
            for c in &row.cells {
                for line in c.lines() {
                    assert!(text.contains(line), "`{line}` of {}", t.id);
                }
            }
        }
    }
}

#[test]
fn docx_has_a_table_of_contents_field_that_word_updates_on_open() {
    let (r, doc) = english();
    let bytes = docx::render(doc, &r.options.date).unwrap();
    let xml = zip_entry(&bytes, "word/document.xml");
    // One TOC field over heading levels 1–2, marked dirty, begun, separated and ended once.
    assert_eq!(
        xml.matches(
            "<w:instrText xml:space=\"preserve\"> TOC \\o \"1-2\" \\h \\z \\u </w:instrText>"
        )
        .count(),
        1
    );
    assert_eq!(
        xml.matches("w:fldCharType=\"begin\" w:dirty=\"true\"")
            .count(),
        1
    );
    assert_eq!(xml.matches("w:fldCharType=\"separate\"").count(), 1);
    assert_eq!(xml.matches("w:fldCharType=\"end\"").count(), 1);
    // Its cached result lists every level-1 and level-2 heading, in order, before the body.
    let headings: Vec<&str> = doc
        .blocks
        .iter()
        .filter_map(|b| match b {
            rupturelab_report::doc::Block::Heading { level, text, .. } if *level <= 2 => {
                Some(text.as_str())
            }
            _ => None,
        })
        .collect();
    let text = parse_xml_text(&xml);
    let toc_start = text.find("Contents\n").expect("the TOC heading");
    let mut at = toc_start;
    for h in &headings {
        at += text[at..]
            .find(h)
            .unwrap_or_else(|| panic!("`{h}` in the TOC"));
    }
    let first_body_heading = xml.find("<w:pStyle w:val=\"Heading1\"/>").unwrap();
    assert!(xml.find("w:fldCharType=\"end\"").unwrap() < first_body_heading);
    assert!(xml.contains("<w:pStyle w:val=\"TOC2\"/>"));
    let settings = zip_entry(&bytes, "word/settings.xml");
    assert!(
        settings.contains("<w:updateFields w:val=\"true\"/><w:compat>"),
        "{settings}"
    );
    let styles = zip_entry(&bytes, "word/styles.xml");
    for id in ["TOCHeading", "TOC1", "TOC2"] {
        assert!(styles.contains(&format!("w:styleId=\"{id}\"")), "{id}");
    }
    parse_xml_text(&settings);
}

#[test]
fn study_labels_are_lower_cased_by_the_rules_of_the_study_language() {
    // A Turkish study whose attribute label starts with İ and holds an I.
    let mut study = example().clone();
    study.meta.language = Language::Tr;
    let label = "İlk KURAMSAL yönelIm";
    study
        .attributes
        .iter_mut()
        .find(|a| a.name.as_str() == "orientation")
        .unwrap()
        .label = label.into();
    let mut o = ReportOptions::new(&study, DATE);
    o.bootstrap = None;
    let report = Report::build(&study, o).unwrap();
    let md = markdown::render(&layout::document(&report).unwrap(), None);
    assert!(
        md.contains("By ilk kuramsal yönelım"),
        "Turkish İ → i, I → ı"
    );
    assert!(md.contains("Themes by ilk kuramsal yönelım"));
    assert!(
        !md.contains('\u{307}'),
        "no stray combining dot from to_lowercase"
    );
    // An English study keeps the usual rules.
    let mut study = example().clone();
    study
        .attributes
        .iter_mut()
        .find(|a| a.name.as_str() == "orientation")
        .unwrap()
        .label = "Imagery SCHOOL".into();
    let mut o = ReportOptions::new(&study, DATE);
    o.bootstrap = None;
    let report = Report::build(&study, o).unwrap();
    let md = markdown::render(&layout::document(&report).unwrap(), None);
    assert!(md.contains("By imagery school"));
}

#[test]
fn the_training_section_reports_the_group_beside_the_panel_and_mcnemar() {
    use rupturelab_core::training::{pre_post, ExerciseFoci, Focus, ModuleExercises, Source};
    use rupturelab_core::Key;
    use std::collections::BTreeSet;
    let ex = |seg: &str, marks: &[Focus]| ExerciseFoci {
        segment: Some(Key::parse(seg).unwrap()),
        model: BTreeSet::new(),
        marks: marks.iter().copied().collect(),
    };
    // Six trainees: five name the therapist's part only in their last
    // exercise (b = 0, c = 5: exact p = 2 × 0.5⁵ = .0625); one did one exercise.
    let mut trainees: Vec<Vec<ExerciseFoci>> = (0..5)
        .map(|_| {
            vec![
                ex("S1", &[Focus::Patient]),
                ex("S2", &[Focus::Patient, Focus::Therapist]),
            ]
        })
        .collect();
    trainees.push(vec![ex("S1", &[Focus::Technical])]);
    let module = ModuleExercises {
        title: "Withdrawal <ruptures>".into(),
        segments: vec![Key::parse("S1").unwrap(), Key::parse("S2").unwrap()],
        trainees: trainees.clone(),
    };
    let mut o = options(Language::En);
    o.training = vec![module];
    let r = Report::build(example(), o).unwrap();
    let t = &r.training[0];
    assert_eq!((t.trainees, t.group.n), (6, 11));
    assert_eq!(t.group.counts[Focus::Therapist.index()], 5);
    assert_eq!(t.pre_post, pre_post(&trainees, Source::Either));
    let therapist = &t.pre_post[Focus::Therapist.index()];
    assert_eq!((therapist.pairs, therapist.table), (5, [[0, 0], [5, 0]]));
    assert!((therapist.test.as_ref().unwrap().exact_p - 0.0625).abs() < 1e-12);
    assert!(
        t.panel.n > 0,
        "the example's panel answered about S1 and S2"
    );

    let doc = layout::document(&r).unwrap();
    assert_cells_print_their_values(&doc, NumFmt::new(Language::En));
    let md = markdown::render(&doc, None);
    assert!(md.contains("# Training modules"), "{md}");
    assert!(md.contains("6 trainee(s) submitted 11 exercise(s)"));
    assert!(
        md.contains("| Therapist's contribution | 5 (45%) |"),
        "{md}"
    );
    assert!(
        md.contains("| .062 |"),
        "McNemar exact p .0625 to three places: {md}"
    );
    let h = html::render(&doc);
    assert!(h.contains("Withdrawal &lt;ruptures&gt;") && !h.contains("Withdrawal <ruptures>"));
    // Without modules there is no section.
    assert!(!markdown::render(&english().1, None).contains("Training modules"));
}
