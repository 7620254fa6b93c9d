//! The report as a document in its language: sections, the generated method
//! paragraph, APA tables (numbers formatted, each cell keeping the number it
//! prints) and figures.

use std::collections::HashMap;

use rupturelab_core::agreement::{CodeFlag, Coefficient, KappaValue};
use rupturelab_core::analysis::{cqr_label, CqrLabel};
use rupturelab_core::stats::{Crosstab, PValueMethod};
use rupturelab_core::text::fold_case;
use rupturelab_core::training::{Focus, Shares};
use rupturelab_core::{Language, OrderMode, QuestionKind, QuestionScope, RuptureType};

use crate::charts::{self, BarSeries, HeatMap};
use crate::doc::{Block, Cell, Document, Figure, Row, RowKind, Run, Table};
use crate::fmt::NumFmt;
use crate::model::{AgreementStatus, CrosstabSection, Report};
use crate::quotes::{IDEAL_LEN, MAX_LEN, MIN_LEN};
use crate::ReportError;

/// Picks the English or the Turkish text.
#[derive(Clone, Copy)]
struct L(Language);

impl L {
    fn t(self, en: &'static str, tr: &'static str) -> &'static str {
        match self.0 {
            Language::En => en,
            Language::Tr => tr,
        }
    }
    fn s(self, en: String, tr: String) -> String {
        match self.0 {
            Language::En => en,
            Language::Tr => tr,
        }
    }
}

struct Builder<'r, 'a> {
    r: &'r Report<'a>,
    l: L,
    f: NumFmt,
    blocks: Vec<Block>,
    tables: usize,
    figures: usize,
    names: HashMap<&'a str, &'a str>,
}

fn p(text: impl Into<String>) -> Block {
    Block::Paragraph(vec![Run::Text(text.into())])
}

fn slug(s: &str) -> String {
    let mut o = String::new();
    for c in s.chars() {
        if c.is_ascii_alphanumeric() {
            o.push(c.to_ascii_lowercase());
        } else if !o.ends_with('-') {
            o.push('-');
        }
    }
    o.trim_matches('-').to_string()
}

fn coef_value(c: Coefficient) -> Option<f64> {
    c.value()
}

impl<'r, 'a> Builder<'r, 'a> {
    /// A study label in lower case inside a sentence, folded by the rules of
    /// the study's language (Turkish İ → i, I → ı; `to_lowercase` gets both wrong).
    fn lower(&self, label: &str) -> String {
        fold_case(label, self.r.study.meta.language)
    }

    fn heading(&mut self, level: u8, id: &str, text: impl Into<String>) {
        self.blocks.push(Block::Heading {
            level,
            id: id.to_string(),
            text: text.into(),
        });
    }

    fn table(
        &mut self,
        id: &str,
        title: String,
        header: Vec<String>,
        rows: Vec<Row>,
        note: Option<String>,
        numeric: Vec<usize>,
    ) {
        self.tables += 1;
        self.blocks.push(Block::Table(Table {
            id: id.to_string(),
            number: self.tables,
            title,
            header,
            rows,
            note,
            numeric,
        }));
    }

    fn figure(
        &mut self,
        id: &str,
        title: String,
        chart: charts::Chart,
        alt: String,
        note: Option<String>,
    ) {
        self.figures += 1;
        self.blocks.push(Block::Figure(Figure {
            id: id.to_string(),
            number: self.figures,
            title,
            svg: chart.svg,
            width: chart.width,
            height: chart.height,
            alt,
            note,
        }));
    }

    fn name(&self, path: &str) -> String {
        self.names.get(path).copied().unwrap_or(path).to_string()
    }

    fn int(&self, v: u64) -> Cell {
        Cell::num(self.f.int(v), v as f64)
    }

    fn rupture(&self, r: RuptureType) -> &'static str {
        match r {
            RuptureType::Withdrawal => self.l.t("withdrawal", "geri çekilme"),
            RuptureType::Confrontation => self.l.t("confrontation", "karşı çıkma"),
            RuptureType::Both => self.l.t(
                "withdrawal and confrontation",
                "geri çekilme ve karşı çıkma",
            ),
            RuptureType::Unspecified => self.l.t("unspecified", "belirtilmemiş"),
        }
    }

    fn cqr(&self, c: CqrLabel) -> &'static str {
        match c {
            CqrLabel::General => self.l.t("general", "genel"),
            CqrLabel::Typical => self.l.t("typical", "tipik"),
            CqrLabel::Variant => self.l.t("variant", "değişken"),
            CqrLabel::Rare => self.l.t("rare", "nadir"),
            CqrLabel::None => "—",
        }
    }

    // ---------------------------------------------------------------- overview
    fn overview(&mut self) {
        let (l, f, study) = (self.l, self.f, self.r.study);
        self.heading(
            1,
            "overview",
            l.t("Study overview", "Çalışmaya genel bakış"),
        );
        if !study.meta.description.trim().is_empty() {
            self.blocks.push(p(study.meta.description.trim()));
        }
        let patients: std::collections::BTreeSet<&str> =
            study.segments.iter().map(|s| s.patient.as_str()).collect();
        let order = match study.settings.presentation_order {
            OrderMode::Fixed => l.t(
                "the same fixed order for every participant",
                "her katılımcı için aynı sabit sıra",
            ),
            OrderMode::Random => l.t(
                "a random order for each participant",
                "her katılımcı için rastgele bir sıra",
            ),
            OrderMode::LatinSquare => l.t(
                "an order counterbalanced by a balanced Latin square (Williams design)",
                "dengelenmiş Latin karesiyle (Williams deseni) karşı dengelenmiş bir sıra",
            ),
        };
        let o = &self.r.overview;
        self.blocks.push(p(l.s(
            format!(
                "Design: {} segments from {} patients were shown in {order}. {} participants took part ({} completed, {} started without completing, {} invited without starting); {} gave at least one answer and form the N of the percentages below.",
                f.int(study.segments.len() as u64), f.int(patients.len() as u64),
                f.int(study.participants.len() as u64), f.int(o.status.2), f.int(o.status.1), f.int(o.status.0), f.int(o.n_answered as u64)
            ),
            format!(
                "Desen: {} hastadan {} kesit, {order} ile gösterildi. Çalışmaya {} katılımcı katıldı ({} tamamladı, {} başlayıp tamamlamadı, {} davet edildi ancak başlamadı); en az bir yanıt veren {} katılımcı aşağıdaki yüzdelerin N'sini oluşturur.",
                f.int(patients.len() as u64), f.int(study.segments.len() as u64),
                f.int(study.participants.len() as u64), f.int(o.status.2), f.int(o.status.1), f.int(o.status.0), f.int(o.n_answered as u64)
            ),
        )));

        // Segments.
        let rows = study
            .segments
            .iter()
            .map(|s| Row {
                kind: RowKind::Normal,
                cells: vec![
                    Cell::text(s.key.as_str()),
                    Cell::text(s.label.clone()),
                    Cell::text(s.patient.as_str()),
                    s.session
                        .map(|v| self.int(v as u64))
                        .unwrap_or_else(Cell::empty),
                    Cell::text(self.rupture(s.rupture)),
                    Cell::text(
                        s.markers
                            .iter()
                            .map(|m| match m.salience {
                                Some(v) => format!("{} ({})", m.name, v.get()),
                                None => m.name.clone(),
                            })
                            .collect::<Vec<_>>()
                            .join("; "),
                    ),
                ],
            })
            .collect();
        self.table(
            "segments",
            l.t(
                "Rupture segments shown to participants",
                "Katılımcılara gösterilen kopma kesitleri",
            )
            .into(),
            vec![
                l.t("Segment", "Kesit").into(),
                l.t("Label", "Başlık").into(),
                l.t("Patient", "Hasta").into(),
                l.t("Session", "Seans").into(),
                l.t("Rupture type", "Kopma türü").into(),
                l.t(
                    "3RS markers (salience 1–5)",
                    "3RS belirteçleri (belirginlik 1–5)",
                )
                .into(),
            ],
            rows,
            None,
            vec![3],
        );

        // Questions.
        let rows = study
            .questions
            .iter()
            .map(|q| Row {
                kind: RowKind::Normal,
                cells: vec![
                    Cell::text(q.key.as_str()),
                    Cell::text(match &q.kind {
                        QuestionKind::Open => l.t("open", "açık uçlu").to_string(),
                        QuestionKind::Likert { min, max, .. } => l.s(
                            format!("rating {min}–{max}"),
                            format!("derecelendirme {min}–{max}"),
                        ),
                        QuestionKind::Choice { .. } => l.t("choice", "seçmeli").to_string(),
                    }),
                    Cell::text(match q.scope {
                        QuestionScope::Segment => l.t("after each segment", "her kesitten sonra"),
                        QuestionScope::Once => l.t("once", "bir kez"),
                    }),
                    Cell::text(q.prompt.clone()),
                ],
            })
            .collect();
        self.table(
            "questions",
            l.t("Questions", "Sorular").into(),
            vec![
                l.t("Question", "Soru").into(),
                l.t("Kind", "Tür").into(),
                l.t("Asked", "Soruluş").into(),
                l.t("Prompt", "Soru metni").into(),
            ],
            rows,
            None,
            vec![],
        );

        // Participants grid.
        if let Some(g) = &o.grid {
            let mut header = vec![g.rows_attr.1.clone()];
            header.extend(g.cols.iter().map(|c| c.to_string()));
            header.push(l.t("Total", "Toplam").into());
            let mut col_tot = vec![0u64; g.cols.len()];
            let mut rows: Vec<Row> = g
                .rows
                .iter()
                .map(|(v, counts)| {
                    let mut cells = vec![Cell::text(v.clone())];
                    for (i, c) in counts.iter().enumerate() {
                        col_tot[i] += c;
                        cells.push(self.int(*c));
                    }
                    cells.push(self.int(counts.iter().sum()));
                    Row {
                        kind: RowKind::Normal,
                        cells,
                    }
                })
                .collect();
            let mut cells = vec![Cell::text(l.t("Total", "Toplam"))];
            cells.extend(col_tot.iter().map(|c| self.int(*c)));
            cells.push(self.int(col_tot.iter().sum()));
            rows.push(Row {
                kind: RowKind::Group,
                cells,
            });
            let ncols = g.cols.len() + 2;
            let note = (g.missing > 0).then(|| {
                l.s(
                    format!(
                        "{} participants lack one of the two values and are not counted.",
                        f.int(g.missing)
                    ),
                    format!(
                        "{} katılımcının iki değerden biri eksik olduğundan sayılmadı.",
                        f.int(g.missing)
                    ),
                )
            });
            self.table(
                "participants",
                l.s(
                    format!(
                        "Participants by {} and {} (bands)",
                        self.lower(&g.rows_attr.1),
                        self.lower(&g.cols_attr.1)
                    ),
                    format!(
                        "{} ve {} (aralıklar) bakımından katılımcılar",
                        g.rows_attr.1, g.cols_attr.1
                    ),
                ),
                header,
                rows,
                note,
                (1..ncols).collect(),
            );
        }

        // Completion.
        let rows = o
            .completion
            .iter()
            .map(|c| {
                let pct = if c.expected == 0 {
                    0.0
                } else {
                    100.0 * c.answered as f64 / c.expected as f64
                };
                Row {
                    kind: RowKind::Normal,
                    cells: vec![
                        Cell::text(c.question.clone()),
                        self.int(c.answered),
                        self.int(c.expected),
                        Cell::num(f.pct(pct), pct),
                    ],
                }
            })
            .collect();
        self.table(
            "completion",
            l.t("Completion by question", "Sorulara göre tamamlanma").into(),
            vec![
                l.t("Question", "Soru").into(),
                l.t("Answers", "Yanıt").into(),
                l.t("Expected", "Beklenen").into(),
                l.t("Complete", "Tamamlanma").into(),
            ],
            rows,
            Some(l.t(
                "Expected answers: participants who started × segments (× 1 for a question asked once).",
                "Beklenen yanıt: başlayan katılımcı sayısı × kesit sayısı (bir kez sorulan soru için × 1).",
            ).into()),
            vec![1, 2, 3],
        );
    }

    // ------------------------------------------------------------------ method
    fn method(&mut self) {
        let (l, f, r) = (self.l, self.f, self.r);
        let c = &r.coding;
        self.heading(1, "method", l.t("Method", "Yöntem"));
        let mut paras: Vec<String> = Vec::new();
        let ta = match r.agreement {
            AgreementStatus::Off => l.t(
                "reflexive thematic analysis (Braun & Clarke, 2006)",
                "düşünümsel tematik analiz (Braun ve Clarke, 2006)",
            ),
            _ => l.t(
                "codebook thematic analysis (Braun & Clarke, 2006)",
                "kod kitabı temelli tematik analiz (Braun ve Clarke, 2006)",
            ),
        };
        paras.push(l.s(
            format!(
                "The {} open answers were analysed with {ta}, using a hierarchical codebook of {} categories, {} themes and {} sub-themes, each with a definition, inclusion and exclusion criteria and an example (see the Appendix).",
                f.int(r.overview.open_answers), f.int(c.codebook.0 as u64), f.int(c.codebook.1 as u64), f.int(c.codebook.2 as u64)
            ),
            format!(
                "{} açık uçlu yanıt {ta} ile çözümlendi; her kodu için bir tanım, dahil etme ve dışlama ölçütleri ile bir örnek içeren, {} kategori, {} tema ve {} alt temadan oluşan hiyerarşik bir kod kitabı kullanıldı (bkz. Ek).",
                f.int(r.overview.open_answers), f.int(c.codebook.0 as u64), f.int(c.codebook.1 as u64), f.int(c.codebook.2 as u64)
            ),
        ));
        if c.coders.len() >= 2 {
            let names = join_names(&c.coders, l);
            let share = if r.overview.open_answers > 0 {
                100.0 * c.coded_by_all as f64 / r.overview.open_answers as f64
            } else {
                0.0
            };
            paras.push(l.s(
                format!(
                    "{} coders ({names}) coded the answers independently, marking spans of text with one or more codes; {} answers ({} of the open answers) were coded by all of them.",
                    number_word(c.coders.len(), l), f.int(c.coded_by_all), share_text(share, f)
                ),
                format!(
                    "{} kodlayıcı ({names}) yanıtları birbirinden bağımsız olarak, metin aralıklarını bir ya da daha fazla kodla işaretleyerek kodladı; {} yanıt (açık uçlu yanıtların {}) kodlayıcıların tümü tarafından kodlandı.",
                    number_word(c.coders.len(), l), f.int(c.coded_by_all), share_text(share, f)
                ),
            ));
        } else if c.coders.len() == 1 {
            paras.push(l.s(
                format!("One coder ({}) coded the answers.", c.coders[0]),
                format!("Yanıtları bir kodlayıcı ({}) kodladı.", c.coders[0]),
            ));
        }
        if let AgreementStatus::Computed(a) = &r.agreement {
            let t = &a.table;
            let alphas: Vec<f64> = t
                .rows
                .iter()
                .filter_map(|x| x.alpha.alpha.value())
                .collect();
            let kappas: Vec<f64> = t
                .rows
                .iter()
                .filter_map(|x| x.kappa.value().value())
                .collect();
            let below = t
                .rows
                .iter()
                .filter(|x| x.flag == CodeFlag::BelowThreshold)
                .count();
            let kname = if t.coders.len() == 2 {
                l.t("Cohen's κ", "Cohen κ")
            } else {
                l.t("Fleiss' κ", "Fleiss κ")
            };
            let ci_text = match &r.options.bootstrap {
                Some(b) => l.s(
                    format!(", with {:.0}% percentile bootstrap confidence intervals ({} replicates resampling answers, seed {})", b.confidence * 100.0, f.int(b.replicates as u64), b.seed),
                    format!("; α için yanıtların yeniden örneklendiği {} tekrarlı yüzdelik bootstrap ile %{:.0} güven aralıkları hesaplandı (tohum {})", f.int(b.replicates as u64), b.confidence * 100.0, b.seed),
                ),
                None => String::new(),
            };
            let mut s = l.s(
                format!(
                    "Agreement was assessed per code with the answer as the unit of analysis (each coder's value: the code, or one of its sub-codes, present or absent; {} answers coded by at least one coder). Krippendorff's α (nominal) ranged from {} to {} across the {} codes (median {}) and {kname} from {} to {}{ci_text}.",
                    f.int(t.rows.first().map(|x| x.n_units as u64).unwrap_or(0)),
                    range_lo(&alphas, f), range_hi(&alphas, f), f.int(t.rows.len() as u64), median(&alphas, f),
                    range_lo(&kappas, f), range_hi(&kappas, f)
                ),
                format!(
                    "Kodlayıcılar arası uyum, çözümleme birimi yanıt olmak üzere her kod için ayrı değerlendirildi (her kodlayıcının değeri: kodun ya da alt kodlarından birinin varlığı ya da yokluğu; en az bir kodlayıcının kodladığı {} yanıt). Krippendorff α (nominal) {} kod boyunca {} ile {} arasında (ortanca {}), {kname} {} ile {} arasında değişti{ci_text}.",
                    f.int(t.rows.first().map(|x| x.n_units as u64).unwrap_or(0)),
                    f.int(t.rows.len() as u64), range_lo(&alphas, f), range_hi(&alphas, f), median(&alphas, f),
                    range_lo(&kappas, f), range_hi(&kappas, f)
                ),
            );
            if let Some(o) = a.overall.iter().find(|o| o.within.is_none()) {
                if let Some(v) = o.alpha.as_ref().and_then(|a| a.alpha.value()) {
                    let ci =
                        o.ci.as_ref()
                            .map(|b| format!(", 95% CI {}", f.ci(b.ci.0, b.ci.1)))
                            .unwrap_or_default();
                    let ci_tr =
                        o.ci.as_ref()
                            .map(|b| format!(", %95 GA {}", f.ci(b.ci.0, b.ci.1)))
                            .unwrap_or_default();
                    s.push(' ');
                    s.push_str(&l.s(
                        format!("Over the set of codes each coder gave an answer, α with the MASI distance was {}{ci}.", f.coef(v, 2)),
                        format!("Her kodlayıcının bir yanıta verdiği kod kümesi üzerinden MASI uzaklığıyla α = {}{ci_tr} bulundu.", f.coef(v, 2)),
                    ));
                }
            }
            s.push(' ');
            s.push_str(&if below == 0 {
                l.s(
                    format!("No code fell below the threshold of α = {}.", f.coef(t.threshold, 3)),
                    format!("Hiçbir kod α = {} eşiğinin altında kalmadı.", f.coef(t.threshold, 3)),
                )
            } else {
                l.s(
                    format!("{} codes fell below the threshold of α = {} (marked in Table {}); conclusions resting on them are tentative.", f.int(below as u64), f.coef(t.threshold, 3), self.tables + 1),
                    format!("{} kod α = {} eşiğinin altında kaldı (Tablo {} içinde işaretli); bu kodlara dayanan sonuçlar ihtiyatla yorumlanmalıdır.", f.int(below as u64), f.coef(t.threshold, 3), self.tables + 1),
                )
            });
            paras.push(s);
        } else if matches!(r.agreement, AgreementStatus::Off) {
            paras.push(l.t(
                "As is usual in reflexive thematic analysis, agreement between coders was not computed.",
                "Düşünümsel tematik analizde olağan olduğu gibi kodlayıcılar arası uyum hesaplanmadı.",
            ).into());
        }
        let layer = &r.options.layer;
        let base = if layer == rupturelab_core::CONSENSUS {
            if c.coders.len() >= 2 {
                l.t("Disagreements were discussed and reconciled into a consensus coding, on which all frequencies below are based.", "Anlaşmazlıklar tartışılarak uzlaşı kodlamasına dönüştürüldü; aşağıdaki tüm sıklıklar bu uzlaşı kodlamasına dayanır.").to_string()
            } else {
                l.t(
                    "All frequencies below are based on the consensus coding.",
                    "Aşağıdaki tüm sıklıklar uzlaşı kodlamasına dayanır.",
                )
                .to_string()
            }
        } else {
            l.s(
                format!("All frequencies below are based on the coding of {layer}."),
                format!("Aşağıdaki tüm sıklıklar {layer} adlı kodlayıcının kodlamasına dayanır."),
            )
        };
        let n = r.n();
        paras.push(l.s(
            format!(
                "{base} A theme's prevalence is reported as the number (and percentage) of the N = {} participants who expressed it at least once, and as the number of answers carrying it; a theme counts its sub-themes. Frequency labels follow consensual qualitative research (Hill et al., 2005): {}.",
                f.int(n as u64), cqr_bands(n, l, f)
            ),
            format!(
                "{base} Bir temanın yaygınlığı, temayı en az bir kez dile getiren katılımcı sayısı (ve N = {} içindeki yüzdesi) ile temayı taşıyan yanıt sayısı olarak verildi; bir tema alt temalarını da kapsar. Sıklık etiketleri uzlaşımsal nitel araştırmayı (Hill vd., 2005) izler: {}.",
                f.int(n as u64), cqr_bands(n, l, f)
            ),
        ));
        if !r.crosstabs.is_empty() {
            let labels: Vec<String> = r.crosstabs.iter().map(|x| self.lower(&x.label)).collect();
            let by = join_names(&labels, l);
            paras.push(l.s(
                format!(
                    "Themes were compared across participant groups ({by}) at the participant level — a participant counts once, whether they expressed a theme in one answer or several — with Pearson's χ² test, Cramér's V as the effect size, and the Fisher–Freeman–Halton exact test (exact enumeration, or a Monte-Carlo estimate with {} random tables and a fixed seed where the table is too large), whose p-values were adjusted across the themes with Holm's method.",
                    f.int(r.options.exact.draws)
                ),
                format!(
                    "Temalar katılımcı grupları ({by}) arasında katılımcı düzeyinde karşılaştırıldı — bir katılımcı temayı bir ya da birçok yanıtta dile getirmiş olsun, bir kez sayılır —; Pearson χ² testi, etki büyüklüğü olarak Cramér V ve Fisher–Freeman–Halton kesin testi (tam sayım ya da tablo çok büyük olduğunda sabit tohumlu {} rastgele tabloyla Monte-Carlo kestirimi) kullanıldı; p değerleri temalar boyunca Holm yöntemiyle düzeltildi.",
                    f.int(r.options.exact.draws)
                ),
            ));
        }
        for para in paras {
            self.blocks.push(p(para));
        }
        self.blocks.push(Block::Paragraph(vec![Run::Emph(l.t(
            "This paragraph was generated from the data; edit it to describe your procedure (e.g. how reconciliation meetings were held).",
            "Bu paragraf verilerden üretildi; yönteminizi anlatacak biçimde düzenleyin (ör. uzlaşı toplantılarının nasıl yapıldığı).",
        ).into())]));
    }

    // --------------------------------------------------------------- agreement
    fn agreement(&mut self) {
        let (l, f) = (self.l, self.f);
        self.heading(
            1,
            "agreement",
            l.t("Agreement between coders", "Kodlayıcılar arası uyum"),
        );
        let a = match &self.r.agreement {
            AgreementStatus::Computed(a) => a,
            AgreementStatus::Off => {
                self.blocks.push(p(l.t(
                    "Agreement statistics are switched off for this study (reflexive thematic analysis).",
                    "Bu çalışmada uyum istatistikleri kapalıdır (düşünümsel tematik analiz).",
                )));
                return;
            }
            AgreementStatus::TooFewCoders => {
                self.blocks.push(p(l.t(
                    "Agreement needs at least two coders with codings; this study has fewer.",
                    "Uyum için kodlaması olan en az iki kodlayıcı gerekir; bu çalışmada daha azı var.",
                )));
                return;
            }
        };
        let t = &a.table;
        let kname = if t.coders.len() == 2 {
            "Cohen's κ"
        } else {
            "Fleiss' κ"
        };
        let rows = t
            .rows
            .iter()
            .map(|row| {
                let kci = match &row.kappa {
                    KappaValue::Cohen(k) => k.ci,
                    KappaValue::Fleiss(_) => None,
                };
                let alpha_text = match (row.alpha.alpha.value(), row.flag) {
                    (Some(v), CodeFlag::BelowThreshold) => format!("{}†", f.coef(v, 2)),
                    (Some(v), _) => f.coef(v, 2),
                    (None, _) => l.t("undefined", "tanımsız").into(),
                };
                Row {
                    kind: match row.depth {
                        1 => RowKind::Group,
                        2 => RowKind::Normal,
                        _ => RowKind::Sub,
                    },
                    cells: vec![
                        Cell::text(row.name.clone()),
                        self.int(row.n_units as u64),
                        Cell::num(
                            f.num(row.percent_agreement * 100.0, 1),
                            row.percent_agreement * 100.0,
                        ),
                        match row.kappa.value().value() {
                            Some(v) => Cell::num(f.coef(v, 2), v),
                            None => Cell::text(l.t("undefined", "tanımsız")),
                        },
                        kci.map(|(a, b)| Cell::text(f.ci(a, b)))
                            .unwrap_or_else(Cell::empty),
                        match coef_value(row.alpha.alpha) {
                            Some(v) => Cell::num(alpha_text, v),
                            None => Cell::text(alpha_text),
                        },
                        row.alpha_ci
                            .as_ref()
                            .map(|b| Cell::text(f.ci(b.ci.0, b.ci.1)))
                            .unwrap_or_else(Cell::empty),
                    ],
                }
            })
            .collect();
        let boot = match &self.r.options.bootstrap {
            Some(b) => l.s(
                format!(" CI for α: {:.0}% percentile bootstrap, {} replicates resampling answers, seed {}.", b.confidence * 100.0, f.int(b.replicates as u64), b.seed),
                format!(" α için GA: %{:.0} yüzdelik bootstrap, yanıtların yeniden örneklendiği {} tekrar, tohum {}.", b.confidence * 100.0, f.int(b.replicates as u64), b.seed),
            ),
            None => String::new(),
        };
        let note = l.s(
            format!(
                "Coders: {}. Unit of analysis: the answer (coded by at least one coder); a coder's value is whether they applied the code or one of its sub-codes. % = percent agreement; κ CI: 95% Wald interval.{boot} † α below the study's threshold of {}.",
                t.coders.join(", "), f.coef(t.threshold, 3)
            ),
            format!(
                "Kodlayıcılar: {}. Çözümleme birimi: yanıt (en az bir kodlayıcının kodladığı); bir kodlayıcının değeri, kodu ya da alt kodlarından birini uygulayıp uygulamadığıdır. % = yüzde uyum; κ GA: %95 Wald aralığı.{boot} † α, çalışmanın {} eşiğinin altında.",
                t.coders.join(", "), f.coef(t.threshold, 3)
            ),
        );
        self.table(
            "agreement",
            l.t(
                "Agreement between coders per code",
                "Kodlara göre kodlayıcılar arası uyum",
            )
            .into(),
            vec![
                l.t("Code", "Kod").into(),
                l.t("Units", "Birim").into(),
                l.t("% agreement", "% uyum").into(),
                kname.into(),
                l.t("κ 95% CI", "κ %95 GA").into(),
                "α".into(),
                l.t("α 95% CI", "α %95 GA").into(),
            ],
            rows,
            Some(note),
            vec![1, 2, 3, 5],
        );
        let rows = a
            .overall
            .iter()
            .map(|o| Row {
                kind: RowKind::Normal,
                cells: vec![
                    Cell::text(match &o.within {
                        None => l.t("All codes", "Tüm kodlar").to_string(),
                        Some(p) => self.name(p.as_str()),
                    }),
                    match &o.alpha {
                        Some(a) => self.int(a.n_pairable_units as u64),
                        None => self.int(o.units as u64),
                    },
                    match o.alpha.as_ref().map(|a| a.alpha.value()) {
                        Some(Some(v)) => Cell::num(f.coef(v, 2), v),
                        Some(None) => Cell::text(l.t("undefined", "tanımsız")),
                        None => Cell::text(l.t("not computed †", "hesaplanmadı †")),
                    },
                    o.ci.as_ref()
                        .map(|b| Cell::text(f.ci(b.ci.0, b.ci.1)))
                        .unwrap_or_else(Cell::empty),
                ],
            })
            .collect();
        let mut note = l.t(
            "Krippendorff's α with the MASI distance between the sets of codes two coders gave the same answer (within one category: only that category's codes).",
            "İki kodlayıcının aynı yanıta verdiği kod kümeleri arasındaki MASI uzaklığıyla Krippendorff α (bir kategori içinde: yalnızca o kategorinin kodları).",
        )
        .to_string();
        if let Some(o) = a.overall.iter().find(|o| o.alpha.is_none()) {
            note.push(' ');
            note.push_str(&l.s(
                format!(
                    "† Not computed: the answers carry {} distinct sets of codes, more than the {} for which α's table of set distances is kept small; the per-code table above covers these answers.",
                    f.int(o.distinct_sets as u64),
                    f.int(crate::model::MAX_MASI_VALUES as u64)
                ),
                format!(
                    "† Hesaplanmadı: yanıtlarda {} farklı kod kümesi var; bu, α'nın küme uzaklıkları tablosunun küçük tutulabildiği {} sınırından fazla. Bu yanıtlar yukarıdaki kod bazlı tabloda yer alır.",
                    f.int(o.distinct_sets as u64),
                    f.int(crate::model::MAX_MASI_VALUES as u64)
                ),
            ));
        }
        self.table(
            "agreement-overall",
            l.t(
                "Overall agreement on the set of codes per answer",
                "Yanıt başına kod kümesi üzerinden genel uyum",
            )
            .into(),
            vec![
                l.t("Codes compared", "Karşılaştırılan kodlar").into(),
                l.t("Units", "Birim").into(),
                l.t("α (MASI)", "α (MASI)").into(),
                l.t("95% CI", "%95 GA").into(),
            ],
            rows,
            Some(note),
            vec![1, 2],
        );
    }

    // ------------------------------------------------------------------ themes
    fn themes(&mut self) {
        let (l, f, r) = (self.l, self.f, self.r);
        let n = r.n();
        self.heading(1, "themes", l.t("Themes", "Temalar"));
        self.blocks.push(p(l.s(
            format!(
                "Prevalence in the {} layer: participants n (%) of the N = {} who answered; answers n; CQR label. Quotes are chosen by the rule in the Appendix.",
                r.options.layer, f.int(n as u64)
            ),
            format!(
                "{} katmanında yaygınlık: yanıt veren N = {} katılımcıdan temayı dile getirenler n (%); yanıt sayısı n; CQR etiketi. Alıntılar Ek'teki kurala göre seçildi.",
                r.options.layer, f.int(n as u64)
            ),
        )));
        let categories: Vec<_> = r.prevalence.iter().filter(|x| x.depth == 1).collect();
        for cat in categories {
            let id = format!("themes-{}", slug(cat.code.as_str()));
            self.heading(2, &id, cat.name.clone());
            let mut rows = Vec::new();
            let mut chart_cats = Vec::new();
            let mut chart_vals = Vec::new();
            for row in r
                .prevalence
                .iter()
                .filter(|x| x.depth >= 2 && x.code.is_within(&cat.code))
            {
                let quotes = if row.depth == 2 {
                    r.quotes
                        .get(row.code.as_str())
                        .map(|qs| {
                            qs.iter()
                                .map(|q| {
                                    let who = match &q.group {
                                        Some(g) => format!("{}, {g}", q.response.participant),
                                        None => q.response.participant.to_string(),
                                    };
                                    format!("“{}” ({who})", q.text)
                                })
                                .collect::<Vec<_>>()
                                .join("\n")
                        })
                        .unwrap_or_default()
                } else {
                    String::new()
                };
                if row.depth == 2 {
                    chart_cats.push(row.name.clone());
                    chart_vals.push(row.participants_pct);
                }
                rows.push(Row {
                    kind: if row.depth == 2 {
                        RowKind::Group
                    } else {
                        RowKind::Sub
                    },
                    cells: vec![
                        Cell::text(row.name.clone()),
                        self.int(row.participants as u64),
                        Cell::num(f.pct(row.participants_pct), row.participants_pct),
                        self.int(row.responses as u64),
                        Cell::text(self.cqr(row.cqr)),
                        Cell::text(quotes),
                    ],
                });
            }
            let note = l.s(
                format!(
                    "N = {} participants. Indented rows are sub-themes; a theme counts its sub-themes, so its n is not the sum of theirs. The category as a whole: {} participants ({}), {} answers.",
                    f.int(n as u64), f.int(cat.participants as u64), f.pct(cat.participants_pct), f.int(cat.responses as u64)
                ),
                format!(
                    "N = {} katılımcı. Girintili satırlar alt temalardır; bir tema alt temalarını kapsadığından n'si onların toplamı değildir. Kategorinin bütünü: {} katılımcı ({}), {} yanıt.",
                    f.int(n as u64), f.int(cat.participants as u64), f.pct(cat.participants_pct), f.int(cat.responses as u64)
                ),
            );
            self.table(
                &id,
                l.s(
                    format!("Themes of “{}”", cat.name),
                    format!("“{}” temaları", cat.name),
                ),
                vec![
                    l.t("Theme / sub-theme", "Tema / alt tema").into(),
                    l.t("Participants n", "Katılımcı n").into(),
                    "%".into(),
                    l.t("Answers n", "Yanıt n").into(),
                    l.t("CQR label", "CQR etiketi").into(),
                    l.t("Illustrative quotes", "Örnek alıntılar").into(),
                ],
                rows,
                Some(note),
                vec![1, 2, 3],
            );
            if !chart_cats.is_empty() {
                let suffix = "%";
                if let Ok(chart) = charts::bar_chart(
                    &chart_cats,
                    &[BarSeries {
                        name: l.t("participants", "katılımcı").into(),
                        values: chart_vals.clone(),
                    }],
                    suffix,
                ) {
                    let alt = chart_cats
                        .iter()
                        .zip(&chart_vals)
                        .map(|(c, v)| format!("{c}: {}", f.pct(*v)))
                        .collect::<Vec<_>>()
                        .join("; ");
                    self.figure(
                        &format!("fig-{id}"),
                        l.s(
                            format!(
                                "Participants who expressed each theme of “{}” (% of N = {})",
                                cat.name,
                                f.int(n as u64)
                            ),
                            format!(
                                "“{}” temalarını dile getiren katılımcılar (N = {} içinde %)",
                                cat.name,
                                f.int(n as u64)
                            ),
                        ),
                        chart,
                        alt,
                        None,
                    );
                }
            }
        }
    }

    // --------------------------------------------------------------- crosstabs
    fn crosstabs(&mut self) {
        let (l, _f, r) = (self.l, self.f, self.r);
        if r.crosstabs.is_empty() {
            return;
        }
        self.heading(
            1,
            "crosstabs",
            l.t(
                "Themes by participant group",
                "Katılımcı gruplarına göre temalar",
            ),
        );
        for x in &r.crosstabs {
            self.crosstab(x);
        }
    }

    fn crosstab(&mut self, sec: &CrosstabSection) {
        let (l, f) = (self.l, self.f);
        let x: &Crosstab = &sec.crosstab;
        let id = format!("crosstab-{}", slug(&sec.by));
        self.heading(
            2,
            &id,
            l.s(
                format!("By {}", self.lower(&sec.label)),
                format!("{} bakımından", sec.label),
            ),
        );
        let mut header = vec![l.t("Theme", "Tema").to_string()];
        // Segments and patients are named by key (their labels are sentences).
        let keyed = matches!(sec.by.as_str(), "segment" | "patient");
        let group_name = |g: &rupturelab_core::stats::GroupInfo| {
            if keyed {
                g.key.clone()
            } else {
                g.label.clone()
            }
        };
        header.extend(
            x.groups
                .iter()
                .map(|g| format!("{}\n(n = {})", group_name(g), f.int(g.n))),
        );
        header.push(l.t("Total", "Toplam").into());
        let ng = x.groups.len();
        let independent = !x.within_participants;
        if independent {
            header.extend([
                "χ²".to_string(),
                "p".into(),
                "V".into(),
                l.t("Exact p", "Kesin p").into(),
                l.t("Holm p", "Holm p").into(),
            ]);
        } else {
            header.extend([
                l.t("Cochran's Q", "Cochran Q").to_string(),
                "p".into(),
                l.t("Holm p", "Holm p").into(),
            ]);
        }
        let mut monte_carlo = None;
        let mut small = false;
        let mut rows = Vec::new();
        for row in &x.rows {
            let mut cells = vec![Cell::text(row.name.clone())];
            for c in &row.cells {
                cells.push(Cell::num(f.n_pct(c.has, c.pct), c.pct));
            }
            cells.push(Cell::num(f.n_pct(row.has, row.pct), row.pct));
            if independent {
                match (&row.chi_square, &row.exact) {
                    (Some(chi), Some(ex)) => {
                        small |= chi.small_expected;
                        if let PValueMethod::MonteCarlo { .. } = ex.method {
                            monte_carlo.get_or_insert_with(|| ex.describe());
                        }
                        cells.push(Cell::num(f.num(chi.statistic, 2), chi.statistic));
                        cells.push(Cell::num(f.p(chi.p_value), chi.p_value));
                        cells.push(Cell::num(f.coef(chi.cramers_v, 2), chi.cramers_v));
                        cells.push(Cell::num(f.p(ex.p_value), ex.p_value));
                        match &row.adjusted.exact {
                            Some(a) => cells.push(Cell::num(f.p(a.holm), a.holm)),
                            None => cells.push(Cell::empty()),
                        }
                    }
                    _ => {
                        cells.push(Cell::text(l.t("not tested", "test edilmedi")));
                        cells.extend((0..4).map(|_| Cell::empty()));
                    }
                }
            } else {
                match row.within.as_ref().and_then(|w| w.cochran_q.as_ref()) {
                    Some(q) => {
                        cells.push(Cell::num(f.num(q.statistic, 2), q.statistic));
                        cells.push(Cell::num(f.p(q.p_value), q.p_value));
                        match &row.adjusted.within {
                            Some(a) => cells.push(Cell::num(f.p(a.holm), a.holm)),
                            None => cells.push(Cell::empty()),
                        }
                    }
                    None => {
                        cells.push(Cell::text(l.t("not tested", "test edilmedi")));
                        cells.extend((0..2).map(|_| Cell::empty()));
                    }
                }
            }
            rows.push(Row {
                kind: RowKind::Normal,
                cells,
            });
        }
        let df = ng.saturating_sub(1);
        let mut note = if independent {
            l.s(
                format!(
                    "Cells: participants of the group who expressed the theme at least once, n (% of the group). χ² (df = {df}) without continuity correction; V = Cramér's V; exact p: Fisher–Freeman–Halton test; Holm p: the exact p adjusted across the themes."
                ),
                format!(
                    "Hücreler: gruptaki katılımcılardan temayı en az bir kez dile getirenler, n (grubun %'si). χ² (sd = {df}) süreklilik düzeltmesi olmadan; V = Cramér V; kesin p: Fisher–Freeman–Halton testi; Holm p: temalar boyunca düzeltilmiş kesin p."
                ),
            )
        } else {
            l.s(
                format!("Cells: participants who expressed the theme about the group, n (%). The same participants are in every group, so Cochran's Q (df = {df}) on the participants who answered about every group is the test; Holm p adjusts it across the themes."),
                format!("Hücreler: temayı o grup hakkında dile getiren katılımcılar, n (%). Her grupta aynı katılımcılar bulunduğundan test, her grup hakkında yanıt veren katılımcılar üzerinde Cochran Q'dur (sd = {df}); Holm p temalar boyunca düzeltir."),
            )
        };
        if small {
            note.push(' ');
            note.push_str(l.t(
                "Some expected counts are below 5, so read the exact p rather than the χ² p.",
                "Bazı beklenen değerler 5'in altında olduğundan χ² p yerine kesin p okunmalıdır.",
            ));
        }
        if x.rows.iter().any(|r| r.skipped.is_some()) {
            note.push(' ');
            note.push_str(l.t(
                "Not tested: nothing to compare, because every participant or none expressed the theme (or fewer than two groups have participants).",
                "Test edilmedi: karşılaştırılacak bir şey yok, çünkü temayı tüm katılımcılar dile getirdi ya da hiçbiri getirmedi (veya katılımcısı olan grup sayısı ikiden az).",
            ));
        }
        if let Some(m) = &monte_carlo {
            note.push(' ');
            note.push_str(&l.s(
                format!("Exact p estimated where the table is too large to enumerate: {m}."),
                format!(
                    "Tablonun tam sayım için çok büyük olduğu yerlerde kesin p kestirildi: {m}."
                ),
            ));
        }
        if !x.excluded.is_empty() {
            note.push(' ');
            note.push_str(&l.s(
                format!("Left out (no value): {}.", x.excluded.join(", ")),
                format!(
                    "Dışarıda bırakılanlar (değer yok): {}.",
                    x.excluded.join(", ")
                ),
            ));
        }
        if !x.empty_groups.is_empty() {
            note.push(' ');
            note.push_str(&l.s(
                format!(
                    "Groups without participants: {}.",
                    x.empty_groups.join(", ")
                ),
                format!(
                    "Katılımcısı olmayan gruplar: {}.",
                    x.empty_groups.join(", ")
                ),
            ));
        }
        let numeric = (1..header.len()).collect();
        self.table(
            &id,
            l.s(
                format!("Themes by {}", self.lower(&sec.label)),
                format!("{} bakımından temalar", sec.label),
            ),
            header,
            rows,
            Some(note),
            numeric,
        );
        let cats: Vec<String> = x.rows.iter().map(|r| r.name.clone()).collect();
        let series: Vec<BarSeries> = x
            .groups
            .iter()
            .enumerate()
            .map(|(gi, g)| BarSeries {
                name: format!("{} (n = {})", group_name(g), g.n),
                values: x.rows.iter().map(|r| r.cells[gi].pct).collect(),
            })
            .collect();
        if let Ok(chart) = charts::bar_chart(&cats, &series, "%") {
            self.figure(
                &format!("fig-{id}"),
                l.s(
                    format!(
                        "Participants who expressed each theme, by {} (% of the group)",
                        self.lower(&sec.label)
                    ),
                    format!(
                        "{} bakımından temaları dile getiren katılımcılar (grubun %'si)",
                        sec.label
                    ),
                ),
                chart,
                l.s(
                    format!("Grouped bars: themes × {}", sec.label),
                    format!("Gruplanmış çubuklar: temalar × {}", sec.label),
                ),
                None,
            );
        }
    }

    // ------------------------------------------------------------ cooccurrence
    fn cooccurrence(&mut self) {
        let (l, f, r) = (self.l, self.f, self.r);
        let c = &r.cooccurrence;
        self.heading(
            1,
            "cooccurrence",
            l.t("Co-occurrence of codes", "Kodların birlikte görülmesi"),
        );
        let level = if r.cooccurrence_depth == 3 {
            l.t("sub-themes", "alt temalar")
        } else {
            l.t("themes", "temalar")
        };
        self.blocks.push(p(l.s(
            format!(
                "How many of the {} coded answers carry both of two {level} (the diagonal: answers carrying the code).",
                f.int(c.responses)
            ),
            format!(
                "Kodlanmış {} yanıttan kaçının iki {level} ögesini birlikte taşıdığı (köşegen: kodu taşıyan yanıtlar).",
                f.int(c.responses)
            ),
        )));
        let labels: Vec<String> = c.codes.iter().map(|x| x.name.clone()).collect();
        let max = c
            .counts
            .iter()
            .enumerate()
            .flat_map(|(i, row)| {
                row.iter()
                    .enumerate()
                    .filter(move |(j, _)| *j != i)
                    .map(|(_, v)| *v)
            })
            .max()
            .unwrap_or(0) as f64;
        let values: Vec<Vec<Option<f64>>> = c
            .counts
            .iter()
            .enumerate()
            .map(|(i, row)| {
                row.iter()
                    .enumerate()
                    .map(|(j, v)| (i != j).then_some(*v as f64))
                    .collect()
            })
            .collect();
        let text: Vec<Vec<String>> = c
            .counts
            .iter()
            .map(|row| {
                row.iter()
                    .map(|v| if *v == 0 { String::new() } else { f.int(*v) })
                    .collect()
            })
            .collect();
        let chart = charts::heat_map(&HeatMap {
            rows: labels.clone(),
            cols: labels,
            values,
            labels: text,
            max,
            legend: l
                .t("answers with both codes", "iki kodu birlikte taşıyan yanıt")
                .into(),
        });
        self.figure(
            "fig-cooccurrence",
            l.s(format!("Co-occurrence of {level} within answers"), format!("Yanıtlar içinde {level} birlikte görülmesi")),
            chart,
            l.t("Heat map of answers carrying both codes", "İki kodu birlikte taşıyan yanıtların ısı haritası").into(),
            Some(l.t(
                "Darker cells: more answers with both codes. The diagonal, left unshaded, gives the answers carrying the code.",
                "Koyu hücreler: iki kodu birlikte taşıyan daha çok yanıt. Gölgelendirilmemiş köşegen, kodu taşıyan yanıt sayısını verir.",
            ).into()),
        );
        let mut pairs: Vec<_> = c.pairs.iter().filter(|p| p.both > 0).collect();
        pairs.sort_by(|a, b| b.both.cmp(&a.both).then(a.a.cmp(&b.a)).then(a.b.cmp(&b.b)));
        let names: HashMap<&str, &str> = c
            .codes
            .iter()
            .map(|x| (x.code.as_str(), x.name.as_str()))
            .collect();
        let rows = pairs
            .iter()
            .take(10)
            .map(|pr| Row {
                kind: RowKind::Normal,
                cells: vec![
                    Cell::text(names.get(pr.a.as_str()).copied().unwrap_or(&pr.a)),
                    Cell::text(names.get(pr.b.as_str()).copied().unwrap_or(&pr.b)),
                    self.int(pr.both),
                    self.int(pr.either),
                    match pr.jaccard {
                        Some(j) => Cell::num(f.coef(j, 2), j),
                        None => Cell::empty(),
                    },
                ],
            })
            .collect();
        self.table(
            "cooccurrence",
            l.t("Most frequent pairs of codes in the same answer", "Aynı yanıtta en sık birlikte görülen kod çiftleri").into(),
            vec![
                l.t("Code", "Kod").into(),
                l.t("With", "Birlikte").into(),
                l.t("Both", "İkisi").into(),
                l.t("Either", "Herhangi biri").into(),
                "Jaccard".into(),
            ],
            rows,
            Some(l.t(
                "Both: answers carrying both codes; either: answers carrying at least one; Jaccard = both / either. At most ten pairs, most frequent first.",
                "İkisi: iki kodu birlikte taşıyan yanıtlar; herhangi biri: en az birini taşıyanlar; Jaccard = ikisi / herhangi biri. En sık olandan başlayarak en çok on çift.",
            ).into()),
            vec![2, 3, 4],
        );
    }

    // ---------------------------------------------------------------- training
    fn training(&mut self) {
        let (l, f, r) = (self.l, self.f, self.r);
        if r.training.is_empty() {
            return;
        }
        let lang = r.options.lang;
        self.heading(1, "training", l.t("Training modules", "Eğitim modülleri"));
        self.blocks.push(p(l.t(
            "Supervision exercises built from this study's segments. Trainees answered like the panel; their answers are kept apart from the study's data. A focus counts for an exercise when the model trained on the consensus codings found it in the answer or the trainee marked it; for the panel, when an answer about the same segments was coded with it.",
            "Bu çalışmanın kesitlerinden hazırlanmış süpervizyon alıştırmaları. Eğitim alanlar panel gibi yanıtladı; yanıtları çalışmanın verisinden ayrı tutulur. Bir odak, uzlaşı kodlamalarıyla eğitilmiş model yanıtta onu bulduğunda ya da eğitim alan onu işaretlediğinde alıştırma için sayılır; panel için, aynı kesitler hakkındaki bir yanıt onunla kodlandığında.",
        )));
        for (i, t) in r.training.iter().enumerate() {
            let id = format!("training-{}", i + 1);
            self.heading(2, &id, t.title.clone());
            self.blocks.push(p(l.s(
                format!(
                    "{} trainee(s) submitted {} exercise(s); the panel gave {} answer(s) about the same segments.",
                    f.int(t.trainees as u64), f.int(t.group.n as u64), f.int(t.panel.n as u64)
                ),
                format!(
                    "{} eğitim alan {} alıştırma gönderdi; panel aynı kesitler hakkında {} yanıt verdi.",
                    f.int(t.trainees as u64), f.int(t.group.n as u64), f.int(t.panel.n as u64)
                ),
            )));
            let share = |s: &Shares, focus: Focus| -> Cell {
                if s.n == 0 {
                    Cell::empty()
                } else {
                    let n = s.counts[focus.index()] as u64;
                    let pct = 100.0 * s.share(focus);
                    Cell::num(f.n_pct(n, pct), pct)
                }
            };
            let rows = t
                .pre_post
                .iter()
                .map(|pp| {
                    let paired = |v: f64| {
                        if pp.pairs == 0 {
                            Cell::empty()
                        } else {
                            Cell::num(f.pct(100.0 * v), 100.0 * v)
                        }
                    };
                    Row {
                        kind: RowKind::Normal,
                        cells: vec![
                            Cell::text(pp.focus.label(lang)),
                            share(&t.group, pp.focus),
                            share(&t.panel, pp.focus),
                            self.int(pp.pairs as u64),
                            paired(pp.first_share()),
                            paired(pp.last_share()),
                            match &pp.test {
                                Some(m) => Cell::num(f.p(m.exact_p), m.exact_p),
                                None => Cell::empty(),
                            },
                        ],
                    }
                })
                .collect();
            self.table(
                &id,
                l.s(
                    format!("Trainees beside the panel, and first against last exercise: {}", t.title),
                    format!("Panelin yanında eğitim alanlar ve ilk ile son alıştırma: {}", t.title),
                ),
                vec![
                    l.t("Focus", "Odak").into(),
                    l.t("Trainees n (%)", "Eğitim alanlar n (%)").into(),
                    l.t("Panel n (%)", "Panel n (%)").into(),
                    l.t("Pairs", "Çift").into(),
                    l.t("First", "İlk").into(),
                    l.t("Last", "Son").into(),
                    l.t("McNemar exact p", "McNemar kesin p").into(),
                ],
                rows,
                Some(l.t(
                    "Trainees: exercises addressing the focus; panel: answers of the study's participants about the module's segments. Pairs: trainees with at least two exercises, their first against their last; McNemar's exact test on the discordant pairs.",
                    "Eğitim alanlar: odağı ele alan alıştırmalar; panel: çalışmanın katılımcılarının modülün kesitleri hakkındaki yanıtları. Çift: en az iki alıştırması olan eğitim alanlar, ilki sonuncusuna karşı; uyumsuz çiftler üzerinde McNemar kesin testi.",
                ).into()),
                vec![1, 2, 3, 4, 5, 6],
            );
        }
    }

    // ----------------------------------------------------------------- profile
    fn profile(&mut self) {
        let (l, f, r) = (self.l, self.f, self.r);
        let pr = &r.profile;
        self.heading(
            1,
            "profile",
            l.t("Segment × theme profile", "Kesit × tema profili"),
        );
        let mut header = vec![
            l.t("Segment", "Kesit").to_string(),
            l.t("Rupture type", "Kopma türü").into(),
            "n".into(),
        ];
        header.extend(pr.codes.iter().map(|c| c.name.clone()));
        let seg_types: HashMap<&str, RuptureType> = r
            .study
            .segments
            .iter()
            .map(|s| (s.key.as_str(), s.rupture))
            .collect();
        let rows = pr
            .segments
            .iter()
            .zip(&pr.cells)
            .map(|(s, cells)| {
                let mut row = vec![
                    Cell::text(format!("{} {}", s.key, s.label)),
                    Cell::text(
                        seg_types
                            .get(s.key.as_str())
                            .map(|t| self.rupture(*t))
                            .unwrap_or(""),
                    ),
                    self.int(s.participants),
                ];
                row.extend(cells.iter().map(|c| {
                    Cell::num(
                        f.n_pct(c.participants, c.participants_pct),
                        c.participants_pct,
                    )
                }));
                Row {
                    kind: RowKind::Normal,
                    cells: row,
                }
            })
            .collect();
        let ncols = header.len();
        self.table(
            "profile",
            l.t("Themes expressed about each segment", "Her kesit hakkında dile getirilen temalar").into(),
            header,
            rows,
            Some(l.t(
                "n: participants who answered about the segment; cells: those of them who expressed the theme about it, n (%).",
                "n: kesit hakkında yanıt veren katılımcılar; hücreler: bunlardan temayı o kesit hakkında dile getirenler, n (%).",
            ).into()),
            (2..ncols).collect(),
        );
        let chart = charts::heat_map(&HeatMap {
            rows: pr
                .segments
                .iter()
                .map(|s| format!("{} {}", s.key, s.label))
                .collect(),
            cols: pr.codes.iter().map(|c| c.name.clone()).collect(),
            values: pr
                .cells
                .iter()
                .map(|row| row.iter().map(|c| Some(c.participants_pct)).collect())
                .collect(),
            labels: pr
                .cells
                .iter()
                .map(|row| row.iter().map(|c| f.pct(c.participants_pct)).collect())
                .collect(),
            max: 100.0,
            legend: l
                .t(
                    "% of the participants who answered about the segment",
                    "kesit hakkında yanıt verenlerin %'si",
                )
                .into(),
        });
        self.figure(
            "fig-profile",
            l.t(
                "Segment × theme profile (% of participants)",
                "Kesit × tema profili (katılımcı %)",
            )
            .into(),
            chart,
            l.t(
                "Heat map of segments by themes",
                "Kesitlerin temalara göre ısı haritası",
            )
            .into(),
            None,
        );
    }

    // ---------------------------------------------------------------- appendix
    fn appendix(&mut self) {
        let (l, f, r) = (self.l, self.f, self.r);
        let study = r.study;
        self.heading(1, "appendix", l.t("Appendix", "Ek"));
        self.heading(2, "codebook", l.t("A. Codebook", "A. Kod kitabı"));
        let rows = study
            .codes
            .iter()
            .map(|c| {
                let mut lines = Vec::new();
                if let Some(d) = &c.definition {
                    lines.push(format!("{} {d}", l.t("Definition:", "Tanım:")));
                }
                if let Some(d) = &c.inclusion {
                    lines.push(format!("{} {d}", l.t("Include:", "Dahil et:")));
                }
                if let Some(d) = &c.exclusion {
                    lines.push(format!("{} {d}", l.t("Exclude:", "Dışla:")));
                }
                if let Some(d) = &c.example {
                    lines.push(format!("{} “{d}”", l.t("Example:", "Örnek:")));
                }
                Row {
                    kind: match c.path.depth() {
                        1 => RowKind::Group,
                        2 => RowKind::Normal,
                        _ => RowKind::Sub,
                    },
                    cells: vec![
                        Cell::text(format!("{}\n{}", c.name, c.path)),
                        Cell::text(lines.join("\n")),
                    ],
                }
            })
            .collect();
        self.table(
            "codebook",
            l.t("Codebook", "Kod kitabı").into(),
            vec![
                l.t("Code (path)", "Kod (yol)").into(),
                l.t("Definition and criteria", "Tanım ve ölçütler").into(),
            ],
            rows,
            None,
            vec![],
        );
        if r.options.transcripts {
            self.heading(
                2,
                "transcripts",
                l.t("B. Transcripts of the segments", "B. Kesitlerin dökümleri"),
            );
            for s in &study.segments {
                self.heading(
                    3,
                    &format!("transcript-{}", slug(s.key.as_str())),
                    format!("{} — {}", s.key, s.label),
                );
                self.blocks.push(Block::Transcript(
                    s.turns
                        .iter()
                        .map(|t| (t.speaker.clone(), t.text.clone()))
                        .collect(),
                ));
            }
        }
        let letter = if r.options.transcripts { "C" } else { "B" };
        self.heading(
            2,
            "audit",
            l.s(
                format!("{letter}. Audit summary"),
                format!("{letter}. Denetim özeti"),
            ),
        );
        let a = &r.audit;
        let span = match &a.span {
            Some((x, y)) => l.s(
                format!(" from {x} to {y}"),
                format!(" ({x} ile {y} arasında)"),
            ),
            None => String::new(),
        };
        self.blocks.push(p(l.s(
            format!(
                "The audit trail holds {} events{span}; {} changed the codebook. {} memos were written.",
                f.int(a.events), f.int(a.codebook_changes), f.int(a.memos)
            ),
            format!(
                "Denetim kaydında {} olay var{span}; bunların {} tanesi kod kitabını değiştirdi. {} not yazıldı.",
                f.int(a.events), f.int(a.codebook_changes), f.int(a.memos)
            ),
        )));
        if a.events > 0 {
            let mut rows: Vec<Row> = a
                .by_actor
                .iter()
                .map(|(who, n)| Row {
                    kind: RowKind::Normal,
                    cells: vec![
                        Cell::text(l.t("by", "yapan")),
                        Cell::text(who.clone()),
                        self.int(*n),
                    ],
                })
                .collect();
            rows.extend(a.by_action.iter().map(|(what, n)| Row {
                kind: RowKind::Normal,
                cells: vec![
                    Cell::text(l.t("action", "işlem")),
                    Cell::text(what.clone()),
                    self.int(*n),
                ],
            }));
            self.table(
                "audit",
                l.t(
                    "Changes in the audit trail, by whom and by kind",
                    "Denetim kaydındaki değişiklikler: kim ve ne tür",
                )
                .into(),
                vec![
                    l.t("Count", "Sayım").into(),
                    l.t("Who / what", "Kim / ne").into(),
                    l.t("Events", "Olay").into(),
                ],
                rows,
                None,
                vec![2],
            );
        }
        let letter = if r.options.transcripts { "D" } else { "C" };
        self.heading(
            2,
            "quote-rule",
            l.s(
                format!("{letter}. How the quotes were chosen"),
                format!("{letter}. Alıntılar nasıl seçildi"),
            ),
        );
        let group = r
            .quote_attribute
            .as_deref()
            .and_then(|a| study.attribute(a))
            .map(|a| self.lower(&a.label))
            .unwrap_or_else(|| l.t("group", "grup").to_string());
        self.blocks.push(p(l.s(
            format!(
                "For each theme the candidates are the coded spans (the whole answer for a coding without a span) of the theme or its sub-themes in the {} layer, with white space collapsed. Spans of {MIN_LEN}–{MAX_LEN} characters are eligible; they are ranked by how far their length is from {IDEAL_LEN} characters, then by participant, segment and question. Up to {} are taken, first from participants and {group} groups not yet quoted for the theme, then from participants not yet quoted. Quotes the researcher pinned come first; excluded answers are never quoted. The rule involves no chance: the same data give the same quotes.",
                r.options.layer, r.options.max_quotes
            ),
            format!(
                "Her tema için adaylar, {} katmanında temanın ya da alt temalarının kodlandığı metin aralıklarıdır (aralığı olmayan kodlamada yanıtın tamamı); boşluklar sadeleştirilir. {MIN_LEN}–{MAX_LEN} karakterlik aralıklar uygundur; uzunluklarının {IDEAL_LEN} karakterden uzaklığına, sonra katılımcı, kesit ve soruya göre sıralanır. En çok {} alıntı alınır: önce tema için henüz alıntılanmamış katılımcı ve {group} gruplarından, sonra henüz alıntılanmamış katılımcılardan. Araştırmacının sabitlediği alıntılar önce gelir; dışlanan yanıtlar alıntılanmaz. Kural rastlantı içermez: aynı veri aynı alıntıları verir.",
                r.options.layer, r.options.max_quotes
            ),
        )));
        let pins = r.options.quotes.pins.len();
        let excl = r.options.quotes.excludes.len();
        if pins + excl > 0 {
            self.blocks.push(p(l.s(
                format!(
                    "Pinned quotes: {}; excluded answers: {}.",
                    f.int(pins as u64),
                    f.int(excl as u64)
                ),
                format!(
                    "Sabitlenen alıntılar: {}; dışlanan yanıtlar: {}.",
                    f.int(pins as u64),
                    f.int(excl as u64)
                ),
            )));
        }
        if !r.warnings.is_empty() {
            self.blocks.push(Block::List(r.warnings.clone()));
        }
    }
}

/// A share in %, with one decimal when rounding to a whole number would hide that it is not 0 or 100.
fn share_text(v: f64, f: NumFmt) -> String {
    if v.round() == v || (v > 1.0 && v < 99.0) {
        f.pct(v)
    } else {
        let s = f.num(v, 1);
        f.pct(0.0).replace('0', &s)
    }
}

fn number_word(n: usize, l: L) -> String {
    let en = ["Zero", "One", "Two", "Three", "Four", "Five", "Six"];
    let tr = ["Sıfır", "Bir", "İki", "Üç", "Dört", "Beş", "Altı"];
    match l.0 {
        Language::En => en
            .get(n)
            .map(|s| s.to_string())
            .unwrap_or_else(|| n.to_string()),
        Language::Tr => tr
            .get(n)
            .map(|s| s.to_string())
            .unwrap_or_else(|| n.to_string()),
    }
}

fn join_names(names: &[String], l: L) -> String {
    let and = l.t("and", "ve");
    match names.len() {
        0 => String::new(),
        1 => names[0].clone(),
        n => format!("{} {and} {}", names[..n - 1].join(", "), names[n - 1]),
    }
}

fn range_lo(v: &[f64], f: NumFmt) -> String {
    v.iter()
        .copied()
        .reduce(f64::min)
        .map(|x| f.coef(x, 2))
        .unwrap_or_else(|| "—".into())
}

fn range_hi(v: &[f64], f: NumFmt) -> String {
    v.iter()
        .copied()
        .reduce(f64::max)
        .map(|x| f.coef(x, 2))
        .unwrap_or_else(|| "—".into())
}

fn median(v: &[f64], f: NumFmt) -> String {
    if v.is_empty() {
        return "—".into();
    }
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    let m = if s.len() % 2 == 1 {
        s[s.len() / 2]
    } else {
        (s[s.len() / 2 - 1] + s[s.len() / 2]) / 2.0
    };
    f.coef(m, 2)
}

/// The CQR bands for N cases, from `cqr_label` itself: "general 19–20, typical 11–18, …".
fn cqr_bands(n: usize, l: L, f: NumFmt) -> String {
    let mut bands: Vec<(CqrLabel, usize, usize)> = Vec::new();
    for count in (1..=n).rev() {
        let lab = cqr_label(count, n);
        if lab == CqrLabel::None {
            continue;
        }
        match bands.last_mut() {
            Some((b, lo, _)) if *b == lab => *lo = count,
            _ => bands.push((lab, count, count)),
        }
    }
    let name = |c: CqrLabel| match c {
        CqrLabel::General => l.t("general", "genel"),
        CqrLabel::Typical => l.t("typical", "tipik"),
        CqrLabel::Variant => l.t("variant", "değişken"),
        CqrLabel::Rare => l.t("rare", "nadir"),
        CqrLabel::None => "—",
    };
    let parts: Vec<String> = bands
        .iter()
        .map(|(b, lo, hi)| {
            if lo == hi {
                format!("{} {}", name(*b), f.int(*lo as u64))
            } else {
                format!("{} {}–{}", name(*b), f.int(*lo as u64), f.int(*hi as u64))
            }
        })
        .collect();
    let unit = l.t("participants", "katılımcı");
    format!("{} {unit}", parts.join(", "))
}

/// Builds the report's document.
pub fn document(r: &Report<'_>) -> Result<Document, ReportError> {
    let l = L(r.options.lang);
    let f = NumFmt::new(r.options.lang);
    let names = r
        .study
        .codes
        .iter()
        .map(|c| (c.path.as_str(), c.name.as_str()))
        .collect();
    let mut b = Builder {
        r,
        l,
        f,
        blocks: Vec::new(),
        tables: 0,
        figures: 0,
        names,
    };
    b.overview();
    b.method();
    b.agreement();
    b.themes();
    b.crosstabs();
    b.cooccurrence();
    b.profile();
    b.training();
    b.appendix();
    let mut subtitle = vec![l.s(
        format!(
            "Study {} · coding layer {} · report of {}",
            r.study.meta.key, r.options.layer, r.options.date
        ),
        format!(
            "Çalışma {} · kodlama katmanı {} · rapor tarihi {}",
            r.study.meta.key, r.options.layer, r.options.date
        ),
    )];
    if r.study.meta.synthetic {
        subtitle.push(l.t(
            "Synthetic data: every participant, answer and coding in this study was made up for demonstration.",
            "Sentetik veri: bu çalışmadaki tüm katılımcılar, yanıtlar ve kodlamalar tanıtım amacıyla uydurulmuştur.",
        ).into());
    }
    Ok(Document {
        lang: r.options.lang.as_str(),
        title: r.study.meta.title.clone(),
        subtitle,
        toc_title: l.t("Contents", "İçindekiler").into(),
        table_label: l.t("Table", "Tablo").into(),
        figure_label: l.t("Figure", "Şekil").into(),
        note_label: l.t("Note.", "Not.").into(),
        blocks: b.blocks,
    })
}
