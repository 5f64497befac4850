//! Latency reports: HdrHistogram percentile files (`.hgrm`) and a percentile plot, one schema for
//! measured (live) and modelled (backtest) latency: named distributions in nanoseconds.
//!
//! The `.hgrm` text is HdrHistogram's percentile-distribution format (value, percentile, total
//! count, 1/(1−percentile), then mean, deviation, max and count), so HdrHistogram's own plotter
//! reads it; values are in nanoseconds. The plot puts the percentile on a log scale of
//! 1/(1−p) (50%, 90%, 99%, 99.9%, … equally spaced) against latency on a log scale.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use hdrhistogram::Histogram;
use plotters::coord::Shift;
use plotters::prelude::*;

use super::ReportError;
use super::chart::{AXIS, FONT, GRID, INK, SIZE, encode_png};
use super::typeset::Typeset;

/// Colours of the plotted distributions, in order.
const COLOURS: [RGBColor; 6] = [
    RGBColor(31, 119, 180),
    RGBColor(214, 39, 40),
    RGBColor(44, 160, 44),
    RGBColor(148, 103, 189),
    RGBColor(255, 127, 14),
    RGBColor(140, 86, 75),
];

/// HdrHistogram's percentile distribution of `h` (values in ns), 5 ticks per half distance.
pub fn hgrm(h: &Histogram<u64>) -> String {
    let mut s =
        format!("{:>12} {:>14} {:>10} {:>14}\n\n", "Value", "Percentile", "TotalCount", "1/(1-Percentile)");
    let mut total = 0u64;
    for v in h.iter_quantiles(5) {
        total += v.count_since_last_iteration();
        let q = v.quantile_iterated_to();
        let inv = if q < 1.0 { format!("{:>14.2}", 1.0 / (1.0 - q)) } else { String::new() };
        let _ = writeln!(s, "{:>12.3} {:>14.12} {:>10} {inv}", v.value_iterated_to() as f64, q, total);
    }
    let _ = writeln!(s, "#[Mean    = {:>12.3}, StdDeviation   = {:>12.3}]", h.mean(), h.stdev());
    let _ = writeln!(s, "#[Max     = {:>12.3}, Total count    = {:>12}]", h.max() as f64, h.len());
    let _ = writeln!(s, "#[Buckets = {:>12}, SubBuckets     = {:>12}]", h.buckets(), h.distinct_values());
    s
}

/// The points of a percentile curve: `(log10(1/(1−p)), value)`, up to the largest recorded value.
fn curve(h: &Histogram<u64>) -> Vec<(f64, f64)> {
    let mut pts: Vec<(f64, f64)> = Vec::new();
    for v in h.iter_quantiles(8) {
        let q = v.quantile_iterated_to();
        if q >= 1.0 {
            break;
        }
        pts.push(((1.0 / (1.0 - q)).log10(), (v.value_iterated_to() as f64).max(1.0)));
    }
    if let Some(&(x, _)) = pts.last() {
        pts.push((x + 0.25, (h.max() as f64).max(1.0)));
    }
    pts
}

/// Draws the percentile plot of `series` on any backend.
fn draw<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
    series: &[(&str, Vec<(f64, f64)>)],
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    root.fill(&WHITE)?;
    let all = series.iter().flat_map(|(_, p)| p.iter());
    let x_max = all.clone().map(|p| p.0).fold(1.0f64, f64::max).ceil().max(1.0);
    let y_min = all.clone().map(|p| p.1).fold(f64::INFINITY, f64::min).max(1.0);
    let y_max = all.map(|p| p.1).fold(1.0f64, f64::max);
    let (lo, hi) = (10f64.powf(y_min.log10().floor()), 10f64.powf(y_max.log10().ceil()).max(10.0));
    let mut chart = ChartBuilder::on(root)
        .caption(title, (FONT, 22).into_font().color(&INK))
        .margin(16)
        .margin_right(48)
        .x_label_area_size(56)
        .y_label_area_size(90)
        .build_cartesian_2d(0f64..x_max, (lo..hi).log_scale())?;
    let x_fmt = |v: &f64| {
        let p = 100.0 * (1.0 - 10f64.powf(-*v));
        let digits = usize::try_from((*v as i64 - 2).max(0)).unwrap_or(0);
        format!("{p:.digits$}%")
    };
    let y_fmt = |v: &f64| {
        if *v >= 1e6 {
            format!("{:.0} ms", v / 1e6)
        } else if *v >= 1e3 {
            format!("{:.0} µs", v / 1e3)
        } else {
            format!("{v:.0} ns")
        }
    };
    chart
        .configure_mesh()
        .bold_line_style(GRID)
        .light_line_style(WHITE)
        .axis_style(AXIS)
        .x_labels(usize::try_from(x_max as i64 + 1).unwrap_or(2))
        .label_style((FONT, 14).into_font().color(&INK))
        .axis_desc_style((FONT, 15).into_font().color(&INK))
        .x_desc("percentile (log scale of 1/(1-p))")
        .y_desc("latency (log scale)")
        .x_label_formatter(&x_fmt)
        .y_label_formatter(&y_fmt)
        .draw()?;
    for (k, (name, pts)) in series.iter().enumerate() {
        let colour = COLOURS[k % COLOURS.len()];
        chart
            .draw_series(LineSeries::new(pts.iter().copied(), colour.stroke_width(2)))?
            .label(*name)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], colour.stroke_width(2)));
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.9))
        .border_style(AXIS)
        .label_font((FONT, 14).into_font().color(&INK))
        .position(SeriesLabelPosition::UpperLeft)
        .draw()?;
    root.present()
}

/// Writes `<stem>.hgrm` for every series and `<plot>.png` / `<plot>.svg` with all of them; returns
/// the paths written.
///
/// # Errors
/// [`ReportError`] naming the file that could not be written.
pub fn write_latency_report(
    dir: &Path,
    plot: &str,
    title: &str,
    series: &[(&str, &Histogram<u64>)],
) -> Result<Vec<PathBuf>, ReportError> {
    std::fs::create_dir_all(dir).map_err(|source| ReportError::CreateDir { path: dir.to_owned(), source })?;
    let mut written = Vec::new();
    for (name, h) in series {
        written.push(super::write_file(&dir.join(format!("{name}.hgrm")), hgrm(h).as_bytes())?);
    }
    let curves: Vec<(&str, Vec<(f64, f64)>)> = series.iter().map(|(n, h)| (*n, curve(h))).collect();
    let png_path = dir.join(format!("{plot}.png"));
    let err = |path: &Path, message: String| ReportError::Chart { path: path.to_owned(), message };
    let font = ab_glyph::FontRef::try_from_slice(dejavu::sans::regular())
        .map_err(|e| err(&png_path, format!("the embedded DejaVu Sans font: {e}")))?;
    let (w, h) = SIZE;
    let mut rgb = vec![0u8; w as usize * h as usize * 3];
    {
        let root = Typeset::new(BitMapBackend::with_buffer(&mut rgb, SIZE), font).into_drawing_area();
        draw(&root, title, &curves).map_err(|e| err(&png_path, e.to_string()))?;
    }
    let png = encode_png(&rgb, SIZE).map_err(|e| err(&png_path, e.to_string()))?;
    written.push(super::write_file(&png_path, &png)?);
    let svg_path = dir.join(format!("{plot}.svg"));
    let mut text = String::new();
    {
        let root = SVGBackend::with_string(&mut text, SIZE).into_drawing_area();
        draw(&root, title, &curves).map_err(|e| err(&svg_path, e.to_string()))?;
    }
    text.push('\n');
    written.push(super::write_file(&svg_path, text.as_bytes())?);
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hgrm_lists_percentiles_up_to_the_max_and_the_totals() {
        let mut h = Histogram::<u64>::new_with_bounds(1, 1_000_000, 3).unwrap();
        for v in 1..=1000u64 {
            h.record(v * 100).unwrap();
        }
        let text = hgrm(&h);
        assert!(text.starts_with("       Value     Percentile TotalCount 1/(1-Percentile)\n\n"), "{text}");
        assert!(text.contains("#[Max     =   100031.000, Total count    =         1000]"), "{text}");
        let last = text.lines().rfind(|l| !l.starts_with('#') && !l.is_empty()).unwrap();
        assert!(last.contains("1.000000000000") && last.contains("1000"), "{last}");
    }

    #[test]
    fn the_latency_report_writes_files_and_a_real_plot() {
        let dir = tempfile::tempdir().unwrap();
        let mut a = Histogram::<u64>::new_with_bounds(1, 1_000_000_000, 3).unwrap();
        let mut b = a.clone();
        for v in 0..10_000u64 {
            a.record(100 + v % 97 + if v % 1000 == 0 { 5_000 } else { 0 }).unwrap();
            b.record(60 + v % 31).unwrap();
        }
        let files = write_latency_report(dir.path(), "latency", "test", &[("a", &a), ("b", &b)]).unwrap();
        assert_eq!(files.len(), 4);
        let png = std::fs::read(dir.path().join("latency.png")).unwrap();
        assert_eq!(&png[1..4], b"PNG");
        let again = tempfile::tempdir().unwrap();
        write_latency_report(again.path(), "latency", "test", &[("a", &a), ("b", &b)]).unwrap();
        assert_eq!(png, std::fs::read(again.path().join("latency.png")).unwrap(), "deterministic");
        assert!(std::fs::read_to_string(dir.path().join("latency.svg")).unwrap().contains("<svg"));
    }
}
