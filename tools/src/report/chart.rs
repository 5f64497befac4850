//! The equity and drawdown charts, as PNG (for viewers and mail) and SVG (for the page: sharp at any
//! zoom), drawn with plotters.
//!
//! Deterministic by construction: the PNG's text is rasterised from DejaVu Sans compiled into the
//! binary (the `dejavu` crate, set by [`super::typeset`]), never from whatever fonts the machine
//! has, and encoded with fixed settings; the SVG names `sans-serif` and leaves the glyphs to the
//! viewer. Tick positions are computed here, not by plotters, so the time axis ticks fall on
//! calendar boundaries (midnight, the first of a month, whole hours) and the labels fit the span.
//!
//! Curves longer than [`MAX_POINTS`] are thinned for drawing only (the CSV keeps every point): each
//! bucket of consecutive points keeps its minimum and its maximum, so a one-point spike stays
//! visible. Money becomes `f64` here only as a chart coordinate.

use std::path::Path;

use kestrel_types::{NANOS_PER_DAY, NANOS_PER_SEC, Timestamp};
use plotters::coord::Shift;
use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint, Ranged};
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::typeset::Typeset;
use super::{DrawdownPoint, Report, ReportError};

/// The equity curve as PNG.
pub(super) const EQUITY_PNG: &str = "equity.png";
/// The equity curve as SVG.
pub(super) const EQUITY_SVG: &str = "equity.svg";
/// The drawdown chart as PNG.
pub(super) const DRAWDOWN_PNG: &str = "drawdown.png";
/// The drawdown chart as SVG.
pub(super) const DRAWDOWN_SVG: &str = "drawdown.svg";

/// Width and height of every chart in pixels: wide, since time runs along x.
pub(super) const SIZE: (u32, u32) = (1200, 500);

/// At most this many points are drawn (about 3 per horizontal pixel).
const MAX_POINTS: usize = 4000;

/// The equity line's colour.
pub(super) const EQUITY_COLOUR: RGBColor = RGBColor(31, 119, 180);
/// The drawdown area's colour.
pub(super) const DRAWDOWN_COLOUR: RGBColor = RGBColor(214, 39, 40);
pub(super) const GRID: RGBColor = RGBColor(232, 232, 232);
pub(super) const AXIS: RGBColor = RGBColor(110, 110, 110);
pub(super) const INK: RGBColor = RGBColor(40, 40, 40);

/// The font family the SVG names (the PNG is always DejaVu Sans).
pub(super) const FONT: &str = "sans-serif";

/// Draws both charts: `(file name, bytes)` in the order to write them into `dir` (named in errors).
pub(super) fn render_all(
    report: &Report,
    dd: &[DrawdownPoint],
    dir: &Path,
) -> Result<Vec<(&'static str, Vec<u8>)>, ReportError> {
    let (equity, drawdown) = plots(report, dd);
    Ok(vec![
        (EQUITY_PNG, png(&equity, &dir.join(EQUITY_PNG))?),
        (EQUITY_SVG, svg(&equity, &dir.join(EQUITY_SVG))?),
        (DRAWDOWN_PNG, png(&drawdown, &dir.join(DRAWDOWN_PNG))?),
        (DRAWDOWN_SVG, svg(&drawdown, &dir.join(DRAWDOWN_SVG))?),
    ])
}

/// How a series is drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Shape {
    /// A line (the equity curve).
    Line,
    /// An area down from zero (the drawdown).
    Area,
}

/// Everything one chart needs, backend-independent.
#[derive(Clone, Debug)]
struct Plot {
    title: String,
    /// `(seconds since the first point, value)`, already thinned.
    points: Vec<(f64, f64)>,
    shape: Shape,
    colour: RGBColor,
    x: TimeAxis,
    y: ValueAxis,
}

/// The two plots of a report.
fn plots(report: &Report, dd: &[DrawdownPoint]) -> (Plot, Plot) {
    let info = &report.info;
    let name = if info.strategy.is_empty() { "backtest" } else { info.strategy.as_str() };
    let cur = if info.currency.is_empty() { String::new() } else { format!(" ({})", info.currency) };
    let t0 = report.equity.first().map_or(0, |p| p.ts.nanos());
    let t1 = report.equity.last().map_or(0, |p| p.ts.nanos());
    let x = TimeAxis::new(t0, t1);
    let secs = |t: Timestamp| (i128::from(t.nanos()) - i128::from(t0)) as f64 / NANOS_PER_SEC as f64;

    let eq: Vec<(f64, f64)> =
        report.equity.iter().map(|p| (secs(p.ts), p.equity.raw() as f64 / NANOS_PER_SEC as f64)).collect();
    let (lo, hi) = min_max(eq.iter().map(|p| p.1)).unwrap_or((0.0, 1.0));
    let pad = if hi > lo { (hi - lo) * 0.05 } else { (hi.abs() * 0.01).max(1.0) };
    let equity = Plot {
        title: format!("{name}: equity{cur}"),
        points: thin(&eq, MAX_POINTS),
        shape: Shape::Line,
        colour: EQUITY_COLOUR,
        x: x.clone(),
        y: ValueAxis::new(lo - pad, hi + pad, format!("equity{cur}"), ""),
    };

    let dd: Vec<(f64, f64)> =
        report.equity.iter().zip(dd).map(|(p, d)| (secs(p.ts), -d.fraction * 100.0)).collect();
    let deepest = min_max(dd.iter().map(|p| p.1)).map_or(0.0, |(lo, _)| lo);
    let lo = if deepest < 0.0 { deepest * 1.1 } else { -1.0 };
    let drawdown = Plot {
        title: format!("{name}: drawdown from the running peak"),
        points: thin(&dd, MAX_POINTS),
        shape: Shape::Area,
        colour: DRAWDOWN_COLOUR,
        x,
        y: ValueAxis::new(lo, -lo * 0.03, "drawdown (% of peak)".into(), "%"),
    };
    (equity, drawdown)
}

fn min_max(values: impl Iterator<Item = f64>) -> Option<(f64, f64)> {
    values.fold(None, |acc, v| match acc {
        None => Some((v, v)),
        Some((lo, hi)) => Some((lo.min(v), hi.max(v))),
    })
}

/// At most about `max` points of `points`: per bucket of consecutive points, the minimum and the
/// maximum in their original order, plus the first and last point, so spikes and ends survive.
fn thin(points: &[(f64, f64)], max: usize) -> Vec<(f64, f64)> {
    if points.len() <= max {
        return points.to_vec();
    }
    let buckets = (max / 2).max(1);
    let n = points.len();
    let mut out = Vec::with_capacity(max + 2);
    out.push(points[0]);
    let mut last = 0;
    for b in 0..buckets {
        let (start, end) = (b * n / buckets, (b + 1) * n / buckets);
        let Some(slice) = points.get(start..end).filter(|s| !s.is_empty()) else { continue };
        let (mut lo, mut hi) = (0, 0);
        for (i, p) in slice.iter().enumerate() {
            if p.1 < slice[lo].1 {
                lo = i;
            }
            if p.1 > slice[hi].1 {
                hi = i;
            }
        }
        let (a, c) = if lo <= hi { (lo, hi) } else { (hi, lo) };
        for i in [start + a, start + c] {
            if i > last {
                out.push(points[i]);
                last = i;
            }
        }
    }
    if last < n - 1 {
        out.push(points[n - 1]);
    }
    out
}

/// The time axis: coordinates are seconds since the first point (`t0`), so `f64` keeps sub-µs
/// precision over any realistic span; ticks sit on calendar boundaries.
#[derive(Clone, Debug)]
struct TimeAxis {
    t0: i64,
    lo: f64,
    hi: f64,
    ticks: Vec<f64>,
    /// chrono format of a tick label.
    format: &'static str,
    /// Labels are rounded to this many ns (the format's precision) before formatting.
    unit: i128,
    desc: String,
}

/// Tick steps below a day, in ns: 1-2-5 from 1 ns to 0.5 s, then clock-friendly steps.
fn fixed_steps() -> Vec<i128> {
    let mut steps = Vec::new();
    let mut decade = 1i128;
    while decade < i128::from(NANOS_PER_SEC) {
        steps.extend([decade, 2 * decade, 5 * decade]);
        decade *= 10;
    }
    let s = i128::from(NANOS_PER_SEC);
    let day = i128::from(NANOS_PER_DAY);
    steps.extend([s, 2 * s, 5 * s, 10 * s, 15 * s, 30 * s]);
    steps.extend([60 * s, 120 * s, 300 * s, 600 * s, 900 * s, 1800 * s]);
    steps.extend([3600 * s, 7200 * s, 10800 * s, 21600 * s, 43200 * s]);
    steps.extend([day, 2 * day, 7 * day, 14 * day]);
    steps
}

/// At most this many time ticks (labels are up to 16 characters wide).
const MAX_TIME_TICKS: i128 = 8;

impl TimeAxis {
    /// The axis for points from `t0` to `t1` (ns); a single instant gets an hour around it.
    fn new(t0: i64, t1: i64) -> Self {
        let (a, b) = (i128::from(t0), i128::from(t1));
        let half_hour = 1800 * i128::from(NANOS_PER_SEC);
        let (lo, hi) = if b > a { (a, b) } else { (a - half_hour, a + half_hour) };
        let span = hi - lo;
        let day = i128::from(NANOS_PER_DAY);
        let same_day = a.div_euclid(day) == b.div_euclid(day);

        let step = fixed_steps().into_iter().find(|s| span / s < MAX_TIME_TICKS);
        let (ticks_ns, format, unit) = match step {
            Some(step) => {
                // Weeks start on Monday (the epoch was a Thursday).
                let offset = if step >= 7 * day { 4 * day } else { 0 };
                let first = (lo - offset).div_euclid(step) * step + offset;
                let ticks =
                    (0..=MAX_TIME_TICKS + 1).map(|k| first + k * step).filter(|t| *t >= lo && *t <= hi);
                let (format, unit) = if step < 1_000 {
                    ("%H:%M:%S%.9f", 1)
                } else if step < 1_000_000 {
                    ("%H:%M:%S%.6f", 1_000)
                } else if step < i128::from(NANOS_PER_SEC) {
                    ("%H:%M:%S%.3f", 1_000_000)
                } else if step < day && same_day {
                    ("%H:%M:%S", i128::from(NANOS_PER_SEC))
                } else if step < day {
                    ("%m-%d %H:%M", i128::from(NANOS_PER_SEC))
                } else {
                    ("%Y-%m-%d", i128::from(NANOS_PER_SEC))
                };
                (ticks.collect::<Vec<_>>(), format, unit)
            }
            None => month_ticks(lo, hi),
        };
        let desc = if same_day && span < day {
            format!("time (UTC), {}", Timestamp::from_nanos(t0).date_string())
        } else {
            "time (UTC)".to_owned()
        };
        let rel = |t: i128| (t - a) as f64 / NANOS_PER_SEC as f64;
        Self {
            t0,
            lo: rel(lo),
            hi: rel(hi),
            ticks: ticks_ns.into_iter().map(rel).collect(),
            format,
            unit,
            desc,
        }
    }

    /// The label of coordinate `x`.
    fn label(&self, x: f64) -> String {
        let ns = i128::from(self.t0) + (x * NANOS_PER_SEC as f64).round() as i128;
        let ns = (ns + self.unit / 2).div_euclid(self.unit) * self.unit;
        instant(ns).to_datetime().format(self.format).to_string()
    }
}

/// `ns` as a [`Timestamp`], clamped to its range (an axis padded past 1677 or 2262).
fn instant(ns: i128) -> Timestamp {
    Timestamp::from_nanos(i64::try_from(ns).unwrap_or(if ns < 0 { i64::MIN } else { i64::MAX }))
}

/// Ticks on the first of every k-th month (or January of every k-th year) for spans of months or more.
fn month_ticks(lo: i128, hi: i128) -> (Vec<i128>, &'static str, i128) {
    let month_ns = 30 * i128::from(NANOS_PER_DAY) + i128::from(NANOS_PER_DAY) * 44 / 100;
    let months = (hi - lo) / month_ns;
    let k = [1i32, 2, 3, 6, 12, 24, 60, 120, 240, 600, 1200]
        .into_iter()
        .find(|k| months / i128::from(*k) < MAX_TIME_TICKS)
        .unwrap_or(1200);
    let (d0, d1) = (instant(lo).to_datetime(), instant(hi).to_datetime());
    use chrono::Datelike as _;
    let (m0, m1) = (d0.year() * 12 + d0.month0() as i32, d1.year() * 12 + d1.month0() as i32);
    let ticks = (m0..=m1)
        .filter(|m| m.rem_euclid(k) == 0)
        .filter_map(|m| {
            let month = u32::try_from(m.rem_euclid(12)).ok()? + 1;
            Timestamp::from_ymd_hms_nano(m.div_euclid(12), month, 1, 0, 0, 0, 0)
        })
        .map(|t| i128::from(t.nanos()))
        .filter(|t| *t >= lo && *t <= hi)
        .collect();
    (ticks, if k >= 12 { "%Y" } else { "%Y-%m-%d" }, i128::from(NANOS_PER_SEC))
}

/// A value axis with "nice" ticks (1, 2, 2.5, 5 × 10^k) and labels of just enough decimals.
#[derive(Clone, Debug)]
struct ValueAxis {
    lo: f64,
    hi: f64,
    ticks: Vec<f64>,
    decimals: usize,
    /// Above 10^15 labels switch to scientific notation with this many mantissa decimals.
    scientific: Option<usize>,
    suffix: &'static str,
    desc: String,
}

impl ValueAxis {
    fn new(lo: f64, hi: f64, desc: String, suffix: &'static str) -> Self {
        let (lo, hi) = if hi > lo { (lo, hi) } else { (lo - 1.0, lo + 1.0) };
        let raw = (hi - lo) / 8.0;
        let mag = 10f64.powf(raw.log10().floor());
        let nice = [1.0, 2.0, 2.5, 5.0, 10.0].into_iter().find(|n| n * mag >= raw).unwrap_or(10.0);
        let step = nice * mag;
        let first = (lo / step).ceil();
        let ticks: Vec<f64> = (0..40)
            .map(|k| (first + f64::from(k)) * step)
            .take_while(|t| *t <= hi)
            .filter(|t| *t >= lo)
            .collect();
        let decimals = (0..=9i32).find(|d| {
            let scaled = step * 10f64.powi(*d);
            (scaled - scaled.round()).abs() < 1e-6 * scaled.max(1.0)
        });
        let top = lo.abs().max(hi.abs());
        let scientific = (top >= 1e15).then(|| {
            let digits = top.log10().floor() - step.log10().floor();
            (digits.clamp(1.0, 15.0)) as usize
        });
        Self { lo, hi, ticks, decimals: decimals.unwrap_or(9) as usize, scientific, suffix, desc }
    }

    fn label(&self, v: f64) -> String {
        let text = match self.scientific {
            Some(_) if v.abs() < 1.0 => "0".to_owned(),
            Some(p) => format!("{v:.p$e}"),
            None => group_thousands(&format!("{:.*}", self.decimals, v)),
        };
        // `-0` and `-0.00` read as a sign error.
        let text = if text.trim_start_matches('-').chars().all(|c| matches!(c, '0' | '.' | ',')) {
            text.trim_start_matches('-').to_owned()
        } else {
            text
        };
        format!("{text}{}", self.suffix)
    }

    /// Pixels the widest label needs (DejaVu Sans digits are ~0.64 em; 14 px labels).
    fn label_width(&self) -> u32 {
        let chars = self.ticks.iter().map(|t| self.label(*t).chars().count()).max().unwrap_or(4);
        u32::try_from(chars).unwrap_or(30).min(30) * 9 + 40
    }
}

/// `1234567.5` → `1,234,567.5`.
fn group_thousands(s: &str) -> String {
    let (sign, digits) = s.strip_prefix('-').map_or(("", s), |d| ("-", d));
    let (int, frac) = digits.split_once('.').map_or((digits, None), |(i, f)| (i, Some(f)));
    let mut out = String::with_capacity(s.len() + int.len() / 3);
    out.push_str(sign);
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if let Some(f) = frac {
        out.push('.');
        out.push_str(f);
    }
    out
}

/// A linear `f64` axis whose ticks (labels and grid lines) are the ones given, not plotters' own.
///
/// plotters' `WithKeyPoints` does the same but loses the label formatter support on the mesh.
#[derive(Clone)]
struct Ticked {
    inner: RangedCoordf64,
    ticks: Vec<f64>,
}

impl Ticked {
    fn new(lo: f64, hi: f64, ticks: &[f64]) -> Self {
        Self { inner: (lo..hi).into(), ticks: ticks.to_vec() }
    }
}

impl Ranged for Ticked {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        self.inner.map(value, limit)
    }

    /// The given ticks as the bold grid; no light grid lines between them.
    fn key_points<Hint: KeyPointHint>(&self, hint: Hint) -> Vec<f64> {
        if hint.weight().allow_light_points() { Vec::new() } else { self.ticks.clone() }
    }

    fn range(&self) -> std::ops::Range<f64> {
        self.inner.range()
    }
}

fn png(plot: &Plot, path: &Path) -> Result<Vec<u8>, ReportError> {
    let err = |message: String| ReportError::Chart { path: path.to_owned(), message };
    let (w, h) = SIZE;
    let font = ab_glyph::FontRef::try_from_slice(dejavu::sans::regular())
        .map_err(|e| err(format!("the embedded DejaVu Sans font: {e}")))?;
    let mut rgb = vec![0u8; w as usize * h as usize * 3];
    {
        let root = Typeset::new(BitMapBackend::with_buffer(&mut rgb, SIZE), font).into_drawing_area();
        draw(&root, plot).map_err(|e| err(e.to_string()))?;
    }
    encode_png(&rgb, SIZE).map_err(|e| err(e.to_string()))
}

fn svg(plot: &Plot, path: &Path) -> Result<Vec<u8>, ReportError> {
    let err = |message: String| ReportError::Chart { path: path.to_owned(), message };
    let mut text = String::new();
    {
        let root = SVGBackend::with_string(&mut text, SIZE).into_drawing_area();
        draw(&root, plot).map_err(|e| err(e.to_string()))?;
    }
    text.push('\n');
    Ok(text.into_bytes())
}

/// 8-bit RGB, the encoder's balanced level and default filter: fixed settings, so fixed bytes.
pub(super) fn encode_png(rgb: &[u8], (w, h): (u32, u32)) -> Result<Vec<u8>, png::EncodingError> {
    let mut out = Vec::new();
    let mut enc = png::Encoder::new(&mut out, w, h);
    enc.set_color(png::ColorType::Rgb);
    enc.set_depth(png::BitDepth::Eight);
    enc.set_compression(png::Compression::Balanced);
    let mut writer = enc.write_header()?;
    writer.write_image_data(rgb)?;
    writer.finish()?;
    Ok(out)
}

/// Draws `plot` on any backend (the same code makes the PNG and the SVG).
fn draw<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    plot: &Plot,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    root.fill(&WHITE)?;
    let title = (FONT, 22).into_font().color(&INK);
    if plot.points.is_empty() {
        let area = root.titled(&plot.title, title)?;
        let (w, h) = area.dim_in_pixel();
        let centre = (i32::try_from(w / 2).unwrap_or(0), i32::try_from(h / 2).unwrap_or(0));
        let style = (FONT, 18).into_font().color(&AXIS).pos(Pos::new(HPos::Center, VPos::Center));
        area.draw(&Text::new("no equity points in this run", centre, style))?;
        return root.present();
    }
    let (x, y) = (&plot.x, &plot.y);
    let mut chart = ChartBuilder::on(root)
        .caption(&plot.title, title)
        .margin(16)
        .margin_right(48)
        .x_label_area_size(56)
        .y_label_area_size(y.label_width())
        .build_cartesian_2d(Ticked::new(x.lo, x.hi, &x.ticks), Ticked::new(y.lo, y.hi, &y.ticks))?;
    let x_fmt = |v: &f64| x.label(*v);
    let y_fmt = |v: &f64| y.label(*v);
    chart
        .configure_mesh()
        .bold_line_style(GRID)
        .axis_style(AXIS)
        .label_style((FONT, 14).into_font().color(&INK))
        .axis_desc_style((FONT, 15).into_font().color(&INK))
        .x_desc(x.desc.as_str())
        .y_desc(y.desc.as_str())
        .x_label_formatter(&x_fmt)
        .y_label_formatter(&y_fmt)
        .draw()?;
    match (plot.shape, plot.points.as_slice()) {
        (_, [only]) => {
            chart.draw_series(std::iter::once(Circle::new(*only, 4, plot.colour.filled())))?;
        }
        (Shape::Line, pts) => {
            chart.draw_series(LineSeries::new(pts.iter().copied(), plot.colour.stroke_width(2)))?;
        }
        (Shape::Area, pts) => {
            chart.draw_series(
                AreaSeries::new(pts.iter().copied(), 0.0, plot.colour.mix(0.25))
                    .border_style(plot.colour.stroke_width(2)),
            )?;
        }
    }
    root.present()
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: i64 = NANOS_PER_SEC;

    fn ts(s: &str) -> i64 {
        s.parse::<Timestamp>().unwrap().nanos()
    }

    fn labels(axis: &TimeAxis) -> Vec<String> {
        axis.ticks.iter().map(|t| axis.label(*t)).collect()
    }

    #[test]
    fn report_chart_time_ticks_fit_the_span() {
        let days = TimeAxis::new(ts("2024-01-01"), ts("2024-01-31"));
        assert_eq!(labels(&days), ["2024-01-01", "2024-01-08", "2024-01-15", "2024-01-22", "2024-01-29"]);
        assert_eq!(days.desc, "time (UTC)");

        let intraday = TimeAxis::new(ts("2024-03-05T09:30:00Z"), ts("2024-03-05T16:00:00Z"));
        assert_eq!(
            labels(&intraday),
            ["10:00:00", "11:00:00", "12:00:00", "13:00:00", "14:00:00", "15:00:00", "16:00:00"]
        );
        assert_eq!(intraday.desc, "time (UTC), 2024-03-05");

        let years = TimeAxis::new(ts("2006-01-02"), ts("2009-12-31"));
        assert_eq!(
            labels(&years),
            [
                "2006-07-01",
                "2007-01-01",
                "2007-07-01",
                "2008-01-01",
                "2008-07-01",
                "2009-01-01",
                "2009-07-01"
            ]
        );

        let decades = TimeAxis::new(ts("1990-01-02"), ts("2024-12-31"));
        assert_eq!(labels(&decades), ["1995", "2000", "2005", "2010", "2015", "2020"]);

        let two_days = TimeAxis::new(ts("2024-01-01T20:00:00Z"), ts("2024-01-03T04:00:00Z"));
        assert_eq!(labels(&two_days)[0], "01-02 00:00");

        let millis = TimeAxis::new(0, 250_000_000);
        assert_eq!(labels(&millis)[..3], ["00:00:00.000", "00:00:00.050", "00:00:00.100"]);
    }

    #[test]
    fn report_chart_single_instant_gets_an_hour() {
        let one = TimeAxis::new(ts("2024-01-01T12:00:00Z"), ts("2024-01-01T12:00:00Z"));
        assert_eq!((one.lo, one.hi), (-1800.0, 1800.0));
        assert_eq!(labels(&one).first().map(String::as_str), Some("11:30:00"));
        let before_epoch = TimeAxis::new(-5 * S, -5 * S);
        assert!(before_epoch.ticks.len() >= 2);
    }

    #[test]
    fn report_chart_value_ticks_are_nice_and_labels_grouped() {
        let a = ValueAxis::new(99_000.0, 103_000.0, String::new(), "");
        let l: Vec<String> = a.ticks.iter().map(|t| a.label(*t)).collect();
        assert_eq!(
            l,
            ["99,000", "99,500", "100,000", "100,500", "101,000", "101,500", "102,000", "102,500", "103,000"]
        );
        let dd = ValueAxis::new(-11.0, 0.33, String::new(), "%");
        let l: Vec<String> = dd.ticks.iter().map(|t| dd.label(*t)).collect();
        assert_eq!(l, ["-10%", "-8%", "-6%", "-4%", "-2%", "0%"]);
        let small = ValueAxis::new(0.0, 2.0, String::new(), "");
        let l: Vec<String> = small.ticks.iter().map(|t| small.label(*t)).collect();
        assert_eq!(l, ["0.00", "0.25", "0.50", "0.75", "1.00", "1.25", "1.50", "1.75", "2.00"]);
        let flat = ValueAxis::new(5.0, 5.0, String::new(), "");
        assert!(flat.lo < 5.0 && flat.hi > 5.0 && !flat.ticks.is_empty());
        let huge = ValueAxis::new(1.0e29, 1.7e29, String::new(), "");
        assert_eq!(huge.label(1.5e29), "1.5e29");
        assert_eq!(huge.label(0.0), "0");
        assert!(huge.label_width() < 200);
        assert_eq!(group_thousands("-1234567.25"), "-1,234,567.25");
        assert_eq!(group_thousands("123"), "123");
    }

    #[test]
    fn report_chart_thinning_keeps_spikes_and_ends() {
        let mut pts: Vec<(f64, f64)> = (0..100_000).map(|i| (f64::from(i), 1.0)).collect();
        pts[54_321].1 = 50.0;
        pts[77_777].1 = -50.0;
        let t = thin(&pts, MAX_POINTS);
        assert!(t.len() <= MAX_POINTS + 2, "{}", t.len());
        assert_eq!(t.first(), pts.first());
        assert_eq!(t.last(), pts.last());
        assert!(t.contains(&(54_321.0, 50.0)) && t.contains(&(77_777.0, -50.0)));
        assert!(t.windows(2).all(|w| w[0].0 < w[1].0), "time order kept");
        assert_eq!(thin(&pts[..10], MAX_POINTS).len(), 10);
    }
}
