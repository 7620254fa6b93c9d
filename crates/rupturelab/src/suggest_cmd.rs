//! `rupturelab suggest`: assisted coding from the study's own consensus codings.

use anyhow::{anyhow, bail, Result};
use clap::Args;
use rupturelab_core::suggest::{evaluate, SuggestOptions, Suggester};
use rupturelab_core::{Key, StudyData};

use crate::output::{Cell, Report, Table};

/// Options of `rupturelab suggest`.
#[derive(Args, Debug)]
pub struct SuggestArgs {
    /// Cross-validate the models and report precision, recall, F1 and κ per code.
    #[arg(long)]
    evaluate: bool,
    /// Suggest codes for this response (PARTICIPANT/SEGMENT/QUESTION, e.g. P01/S1/Q1).
    #[arg(long, value_name = "KEY")]
    response: Option<String>,
    /// Suggest codes for this text instead (with --question).
    #[arg(long)]
    text: Option<String>,
    /// The question the --text answers.
    #[arg(long)]
    question: Option<String>,
    /// Model sub-themes instead of themes.
    #[arg(long)]
    subthemes: bool,
    /// Layer whose codings train the models.
    #[arg(long, default_value = "consensus")]
    layer: String,
    /// Cross-validation folds (participants are never split across folds).
    #[arg(long, default_value_t = 5)]
    folds: usize,
    /// Seed of the fold assignment.
    #[arg(long, default_value_t = SuggestOptions::default().seed)]
    seed: u64,
    /// Fewest examples with (and without) a code for it to be modelled.
    #[arg(long, default_value_t = 8)]
    min_examples: usize,
}

/// `rupturelab suggest`.
pub fn run(study: &StudyData, args: &SuggestArgs) -> Result<Report> {
    if !study.coders.iter().any(|c| c.name.as_str() == args.layer) {
        bail!("there is no coding layer `{}` to learn from", args.layer);
    }
    let opts = SuggestOptions {
        layer: args.layer.clone(),
        depth: if args.subthemes { 3 } else { 2 },
        min_positive: args.min_examples,
        folds: args.folds,
        seed: args.seed,
        ..SuggestOptions::default()
    };
    let mut r = Report::default();
    if args.evaluate {
        let e = evaluate(study, &opts);
        r.fact("layer", "Trained on", format!("the {} layer", opts.layer));
        r.fact(
            "folds",
            "Cross-validation",
            format!("{} participant-grouped folds (seed {}); no participant's answers are in both training and test", e.folds.len(), opts.seed),
        );
        r.fact(
            "unit",
            "Unit for κ",
            "response × code presence, over the answers to the questions where the code is used",
        );
        let mut t = Table::new(
            "codes",
            "Model against the layer, out of fold",
            &[
                "code",
                "name",
                "responses",
                "with code",
                "precision",
                "recall",
                "F1",
                "κ",
                "note",
            ],
        );
        for c in &e.codes {
            let mut row: Vec<Cell> = vec![
                c.code.to_string().into(),
                c.name.clone().into(),
                c.responses.into(),
                c.positives.into(),
            ];
            match &c.result {
                Ok(m) => row.extend([
                    m.precision.map(|p| Cell::Num(p, 3)).unwrap_or(Cell::Empty),
                    Cell::Num(m.recall, 3),
                    m.f1.map(|p| Cell::Num(p, 3)).unwrap_or(Cell::Empty),
                    m.kappa
                        .value()
                        .map(|k| Cell::Num(k, 3))
                        .unwrap_or_else(|| "undefined".into()),
                    Cell::Empty,
                ]),
                Err(why) => row.extend([
                    Cell::Empty,
                    Cell::Empty,
                    Cell::Empty,
                    Cell::Empty,
                    why.clone().into(),
                ]),
            }
            t.row(row);
        }
        r.tables.push(t);
        r.hints.push("κ compares the model with the layer as κ compares two coders: read it against the human coders' κ (`rupturelab agreement`).".into());
        return Ok(r);
    }
    let (question, text) = match (&args.response, &args.text) {
        (Some(k), None) => {
            let parts: Vec<&str> = k.split('/').collect();
            if parts.len() != 3 {
                bail!("--response `{k}`: write PARTICIPANT/SEGMENT/QUESTION, e.g. P01/S1/Q1");
            }
            let resp = study
                .responses
                .iter()
                .find(|r| {
                    r.key.participant.as_str() == parts[0]
                        && r.key.segment.as_ref().map(|s| s.as_str()).unwrap_or("") == parts[1]
                        && r.key.question.as_str() == parts[2]
                })
                .ok_or_else(|| anyhow!("there is no response {k} in this study"))?;
            let text = resp
                .answer
                .text()
                .ok_or_else(|| anyhow!("response {k} is not open text"))?;
            (resp.key.question.clone(), text.to_string())
        }
        (None, Some(t)) => {
            let q = args
                .question
                .as_deref()
                .ok_or_else(|| anyhow!("--text needs --question (the question it answers)"))?;
            (
                Key::parse(q).map_err(|e| anyhow!("--question: {e}"))?,
                t.clone(),
            )
        }
        _ => {
            bail!("say what to do: --evaluate, --response P01/S1/Q1, or --text \"…\" --question Q1")
        }
    };
    let suggester = Suggester::train(study, &opts);
    let mut t = Table::new(
        "suggestions",
        "Suggested codes (automatic; accept or reject them)",
        &["code", "name", "confidence"],
    );
    for s in suggester.suggest(&question, &text) {
        t.row(vec![
            s.code.to_string().into(),
            s.name.into(),
            Cell::Num(s.confidence, 2),
        ]);
    }
    r.fact(
        "models",
        "Codes modelled",
        serde_json::json!(suggester.codes().len()),
    );
    r.tables.push(t);
    Ok(r)
}
