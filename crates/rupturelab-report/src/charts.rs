//! Charts: horizontal bar charts drawn with charts-rs, and heat maps (code
//! co-occurrence, segment × theme) written here as SVG. PNG for Word comes
//! from resvg through charts-rs, with its embedded Roboto font, so no system
//! font is needed.
//!
//! **Colours.** Single-series bars use Okabe–Ito blue. Grouped bars take
//! their colours from the viridis ramp (dark purple → yellow-green), which
//! colour-blind readers can tell apart and whose lightness rises steadily, so
//! the groups stay distinct in greyscale; every bar also carries its value.
//! Heat maps use a single-hue sequential ramp (ColorBrewer Blues) with the
//! count written in each cell.

use crate::ReportError;

/// A chart as a standalone SVG document with its size in px.
#[derive(Debug, Clone, PartialEq)]
pub struct Chart {
    /// The SVG document.
    pub svg: String,
    /// Width in px.
    pub width: f32,
    /// Height in px.
    pub height: f32,
}

/// Font stack of the hand-written charts (Roboto is embedded for the PNG rasteriser).
pub const FONT: &str = "Roboto, Helvetica, Arial, sans-serif";

/// Okabe–Ito blue, for single-series bars.
pub const BLUE: &str = "#0072B2";

/// Viridis stops (0, .1, …, 1).
const VIRIDIS: [(u8, u8, u8); 11] = [
    (68, 1, 84),
    (72, 36, 117),
    (65, 68, 135),
    (53, 95, 141),
    (42, 120, 142),
    (33, 145, 140),
    (34, 168, 132),
    (68, 191, 112),
    (122, 209, 81),
    (189, 223, 38),
    (253, 231, 37),
];

fn lerp_ramp(ramp: &[(u8, u8, u8)], t: f64) -> (u8, u8, u8) {
    let t = t.clamp(0.0, 1.0) * (ramp.len() - 1) as f64;
    let i = (t.floor() as usize).min(ramp.len() - 2);
    let f = t - i as f64;
    let (a, b) = (ramp[i], ramp[i + 1]);
    let mix = |x: u8, y: u8| (x as f64 + (y as f64 - x as f64) * f).round() as u8;
    (mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
}

fn hex((r, g, b): (u8, u8, u8)) -> String {
    format!("#{r:02X}{g:02X}{b:02X}")
}

/// `k` colours for grouped bars: viridis from 0 to .85 (the lightest yellow is left out, it fades on white).
pub fn group_colours(k: usize) -> Vec<String> {
    match k {
        0 => Vec::new(),
        1 => vec![BLUE.to_string()],
        _ => (0..k)
            .map(|i| hex(lerp_ramp(&VIRIDIS, 0.85 * i as f64 / (k - 1) as f64)))
            .collect(),
    }
}

/// ColorBrewer Blues (9 classes).
const BLUES: [(u8, u8, u8); 9] = [
    (247, 251, 255),
    (222, 235, 247),
    (198, 219, 239),
    (158, 202, 225),
    (107, 174, 214),
    (66, 146, 198),
    (33, 113, 181),
    (8, 81, 156),
    (8, 48, 107),
];

/// Heat-map fill for a share `t` in [0, 1], and whether text on it must be white.
pub fn heat_colour(t: f64) -> (String, bool) {
    (hex(lerp_ramp(&BLUES, t)), t > 0.55)
}

/// Escapes text for SVG/XML.
pub fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            // C0 controls other than tab and line ends are not allowed in XML.
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => {}
            c => o.push(c),
        }
    }
    o
}

/// Rough width of text in px at a font size (Roboto averages about 0.53 em per character).
fn text_width(s: &str, size: f32) -> f32 {
    s.chars().count() as f32 * size * 0.53
}

/// Cuts a label to `max` characters with an ellipsis.
pub fn short(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        format!(
            "{}…",
            s.chars().take(max - 1).collect::<String>().trim_end()
        )
    }
}

/// One series of a bar chart.
#[derive(Debug, Clone, PartialEq)]
pub struct BarSeries {
    /// Legend name.
    pub name: String,
    /// One value per category.
    pub values: Vec<f64>,
}

/// A horizontal bar chart of percentages (0–100) with charts-rs: one bar per
/// category and series, value labels on the bars, categories top to bottom.
pub fn bar_chart(
    categories: &[String],
    series: &[BarSeries],
    axis_suffix: &str,
) -> Result<Chart, ReportError> {
    let width = 720.0f32;
    let k = series.len().max(1);
    let per_cat = (k as f32 * 18.0 + 14.0).max(34.0);
    let legend = if k > 1 { 30.0 } else { 0.0 };
    let height = (categories.len() as f32 * per_cat + 60.0 + legend).round();
    let label_w = categories
        .iter()
        .map(|c| text_width(c, 12.0))
        .fold(0.0f32, f32::max)
        .min(260.0);
    let colours = group_colours(k);
    // charts-rs draws the first category at the bottom (and, within one, the
    // first series at the top): reverse the categories for reading order.
    let cats: Vec<String> = categories.iter().rev().cloned().collect();
    let series_json: Vec<serde_json::Value> = series
        .iter()
        .map(|s| {
            serde_json::json!({
                "name": s.name,
                "data": s.values.iter().rev().map(|v| v.round()).collect::<Vec<_>>(),
                "label_show": true,
            })
        })
        .collect();
    let json = serde_json::json!({
        "width": width,
        "height": height,
        "margin": {"left": 8, "top": 8, "right": 44, "bottom": 8},
        "font_family": "Roboto",
        "legend_show": k > 1,
        "legend_category": "rect",
        "legend_font_size": 12,
        "legend_align": "left",
        "x_axis_data": cats,
        "x_axis_font_size": 12,
        "x_axis_font_color": "#222222",
        "series_list": series_json,
        "series_colors": colours,
        "series_label_font_size": 10,
        "series_label_font_color": "#222222",
        "series_label_formatter": format!("{{c}}{axis_suffix}"),
        "grid_stroke_color": "#DDDDDD",
        "y_axis_configs": [{
            "axis_font_size": 12,
            "axis_font_color": "#222222",
            "axis_width": label_w + 12.0,
            "axis_min": 0,
            "axis_max": 100,
            "axis_split_number": 5,
            "axis_formatter": format!("{{c}}{axis_suffix}"),
        }],
    });
    let chart = charts_rs::HorizontalBarChart::from_json(&json.to_string())
        .map_err(|e| ReportError::Chart(e.to_string()))?;
    let svg = chart.svg().map_err(|e| ReportError::Chart(e.to_string()))?;
    Ok(Chart { svg, width, height })
}

/// A heat map: rows × columns of values, each cell shaded by value / max and labelled.
#[derive(Debug, Clone, PartialEq)]
pub struct HeatMap {
    /// Row labels.
    pub rows: Vec<String>,
    /// Column labels.
    pub cols: Vec<String>,
    /// `values[row][col]`; `None` leaves the cell unshaded, outlined, with its label in grey (e.g. the diagonal).
    pub values: Vec<Vec<Option<f64>>>,
    /// Text per cell.
    pub labels: Vec<Vec<String>>,
    /// The value that gets the darkest shade.
    pub max: f64,
    /// Legend caption (what the shade means).
    pub legend: String,
}

/// Draws a heat map as SVG (column labels slanted above the grid).
pub fn heat_map(h: &HeatMap) -> Chart {
    let font = 12.0f32;
    let n_cols = h.cols.len().max(1) as f32;
    let cell_w = if n_cols > 12.0 { 30.0 } else { 64.0f32 };
    let cell_h = if h.rows.len() > 12 { 24.0 } else { 30.0f32 };
    let rows: Vec<String> = h.rows.iter().map(|r| short(r, 40)).collect();
    let cols: Vec<String> = h.cols.iter().map(|c| short(c, 40)).collect();
    let left = rows
        .iter()
        .map(|r| text_width(r, font))
        .fold(0.0f32, f32::max)
        + 16.0;
    let top = cols
        .iter()
        .map(|c| text_width(c, font))
        .fold(0.0f32, f32::max)
        * 0.71
        + 24.0;
    let grid_w = n_cols * cell_w;
    let grid_h = h.rows.len() as f32 * cell_h;
    let legend_h = 44.0;
    let legend_w = 8.0 * 24.0 + 12.0 + text_width(&h.legend, font);
    let width = (left + grid_w + 24.0 + top * 0.71)
        .max(left + legend_w + 16.0)
        .max(320.0)
        .round();
    let height = (top + grid_h + legend_h + 8.0).round();
    let mut s = String::new();
    s.push_str(&format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" font-family=\"{FONT}\" font-size=\"{font}\">"
    ));
    s.push_str(&format!(
        "<rect x=\"0\" y=\"0\" width=\"{width}\" height=\"{height}\" fill=\"#FFFFFF\"/>"
    ));
    for (j, c) in cols.iter().enumerate() {
        let x = left + (j as f32 + 0.5) * cell_w;
        let y = top - 6.0;
        s.push_str(&format!(
            "<text x=\"{x:.1}\" y=\"{y:.1}\" transform=\"rotate(-45 {x:.1} {y:.1})\" fill=\"#222222\">{}</text>",
            esc(c)
        ));
    }
    let max = if h.max > 0.0 { h.max } else { 1.0 };
    for (i, r) in rows.iter().enumerate() {
        let y = top + i as f32 * cell_h;
        s.push_str(&format!(
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\" fill=\"#222222\">{}</text>",
            left - 8.0,
            y + cell_h / 2.0 + font * 0.35,
            esc(r)
        ));
        for j in 0..h.cols.len() {
            let x = left + j as f32 * cell_w;
            let v = h.values.get(i).and_then(|r| r.get(j)).copied().flatten();
            let label = h
                .labels
                .get(i)
                .and_then(|r| r.get(j))
                .map(String::as_str)
                .unwrap_or("");
            match v {
                Some(v) => {
                    let (fill, white) = heat_colour(v / max);
                    s.push_str(&format!(
                        "<rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"{cell_w}\" height=\"{cell_h}\" fill=\"{fill}\" stroke=\"#FFFFFF\"/>"
                    ));
                    if !label.is_empty() {
                        s.push_str(&format!(
                            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\" font-size=\"{}\" fill=\"{}\">{}</text>",
                            x + cell_w / 2.0,
                            y + cell_h / 2.0 + 4.0,
                            if cell_w < 40.0 { 10 } else { 12 },
                            if white { "#FFFFFF" } else { "#111111" },
                            esc(label)
                        ));
                    }
                }
                None => {
                    s.push_str(&format!(
                        "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{}\" height=\"{}\" fill=\"#FFFFFF\" stroke=\"#777777\"/>",
                        x + 1.0,
                        y + 1.0,
                        cell_w - 2.0,
                        cell_h - 2.0
                    ));
                    if !label.is_empty() {
                        s.push_str(&format!(
                            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\" font-size=\"{}\" font-style=\"italic\" fill=\"#555555\">{}</text>",
                            x + cell_w / 2.0,
                            y + cell_h / 2.0 + 4.0,
                            if cell_w < 40.0 { 10 } else { 12 },
                            esc(label)
                        ));
                    }
                }
            }
        }
    }
    // Legend: the ramp from 0 to max.
    let ly = top + grid_h + 16.0;
    let steps = 8;
    let lw = 24.0;
    for k in 0..steps {
        let (fill, _) = heat_colour(k as f64 / (steps - 1) as f64);
        s.push_str(&format!(
            "<rect x=\"{:.1}\" y=\"{ly:.1}\" width=\"{lw}\" height=\"12\" fill=\"{fill}\" stroke=\"#BBBBBB\" stroke-width=\"0.5\"/>",
            left + k as f32 * lw
        ));
    }
    s.push_str(&format!(
        "<text x=\"{:.1}\" y=\"{:.1}\" fill=\"#222222\">0</text>",
        left,
        ly + 26.0
    ));
    s.push_str(&format!(
        "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\" fill=\"#222222\">{}</text>",
        left + steps as f32 * lw,
        ly + 26.0,
        esc(&trim_num(h.max))
    ));
    s.push_str(&format!(
        "<text x=\"{:.1}\" y=\"{:.1}\" fill=\"#222222\">{}</text>",
        left + steps as f32 * lw + 12.0,
        ly + 10.0,
        esc(&h.legend)
    ));
    s.push_str("</svg>");
    Chart {
        svg: s,
        width,
        height,
    }
}

fn trim_num(v: f64) -> String {
    if v.fract() == 0.0 {
        format!("{}", v as i64)
    } else {
        format!("{v:.0}")
    }
}

/// Rasterises an SVG chart to PNG at `scale` × its size (3 × 96 dpi ≈ 300 dpi print resolution).
pub fn to_png(chart: &Chart, scale: f32) -> Result<Vec<u8>, ReportError> {
    let w = (chart.width * scale).round() as u32;
    charts_rs::svg_to_png_with_size(&chart.svg, Some(w), None)
        .map_err(|e| ReportError::Chart(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn luminance(hex: &str) -> f64 {
        let v = |i: usize| u8::from_str_radix(&hex[i..i + 2], 16).unwrap() as f64;
        0.2126 * v(1) + 0.7152 * v(3) + 0.0722 * v(5)
    }

    #[test]
    fn group_colours_get_lighter_so_groups_differ_in_greyscale() {
        let c = group_colours(6);
        assert_eq!(c.len(), 6);
        for w in c.windows(2) {
            assert!(luminance(&w[1]) > luminance(&w[0]) + 10.0, "{c:?}");
        }
    }

    #[test]
    fn heat_map_escapes_labels_and_is_rasterisable() {
        let h = HeatMap {
            rows: vec!["A & <B>".into(), "C".into()],
            cols: vec!["x".into(), "y".into()],
            values: vec![vec![Some(1.0), None], vec![Some(0.0), Some(2.0)]],
            labels: vec![vec!["1".into(), "".into()], vec!["0".into(), "2".into()]],
            max: 2.0,
            legend: "responses".into(),
        };
        let c = heat_map(&h);
        assert!(c.svg.contains("A &amp; &lt;B&gt;"));
        let png = to_png(&c, 2.0).unwrap();
        assert_eq!(&png[1..4], b"PNG");
    }

    #[test]
    fn bar_chart_renders_svg_with_values() {
        let c = bar_chart(
            &["Patient".into(), "Therapist".into()],
            &[BarSeries {
                name: "all".into(),
                values: vec![95.0, 40.0],
            }],
            "%",
        )
        .unwrap();
        assert!(c.svg.starts_with("<svg"), "{}", &c.svg[..80]);
        assert!(c.svg.contains("Therapist"));
        assert!(c.svg.contains("95%"));
    }
}
