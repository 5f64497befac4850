//! `index.html`: the page a person opens, straight from disk.
//!
//! Self-contained: inline CSS, the charts as relative `<img>`s of the SVG files beside it, links to the
//! PNGs, the CSV tables and `summary.json`; no server, no CDN, no network (a report must open on a
//! machine without one, and years later). All text from the run is HTML-escaped.
//!
//! A small inline script records, after the window's `load` event, how many chart images actually
//! loaded (`<body data-charts-loaded="2">`) and which did not (`data-charts-failed`, space-separated
//! `src`s): what the headless-browser test reads, and a hint in the DOM for anyone debugging a page.

use std::fmt::Write as _;

use super::text::{self, Detail};
use super::{Metrics, Report, chart, files, summary};

/// The file name.
pub(super) const INDEX: &str = "index.html";

const STYLE: &str = "body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:2em auto;\
max-width:1240px;padding:0 1em;color:#222}\
h1{font-size:1.5em}h2{font-size:1.2em;margin-top:1.6em}\
table.summary{border-collapse:collapse}\
table.summary th,table.summary td{text-align:left;padding:.25em 1em .25em 0;border-bottom:1px solid #e4e4e4;\
vertical-align:top}\
table.summary th{font-weight:600;white-space:nowrap}\
td.num{font-variant-numeric:tabular-nums}\
img.chart{max-width:100%;height:auto;border:1px solid #e4e4e4}\
figure{margin:0}figcaption{font-size:.9em;color:#555}";

const SCRIPT: &str = "window.addEventListener('load', function () {\n\
  var ok = 0, failed = [];\n\
  document.querySelectorAll('img.chart').forEach(function (img) {\n\
    if (img.complete && img.naturalWidth > 0) { ok += 1; } else { failed.push(img.getAttribute('src')); }\n\
  });\n\
  document.body.dataset.chartsLoaded = String(ok);\n\
  document.body.dataset.chartsFailed = failed.join(' ');\n\
});";

/// Escapes text for HTML element content and double- or single-quoted attribute values.
pub(super) fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The whole page.
pub(super) fn index(report: &Report, m: &Metrics) -> String {
    let title = format!("Backtest report: {}", report.info.strategy);
    let mut h = String::new();
    h.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    h.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    let _ = writeln!(h, "<title>{}</title>", escape(&title));
    let _ = writeln!(h, "<style>{STYLE}</style>\n</head>\n<body>");
    let _ = writeln!(h, "<h1>{}</h1>", escape(&title));

    h.push_str("<h2>Summary</h2>\n<table class=\"summary\" id=\"summary\">\n");
    for (label, value) in text::summary_rows(report, m, Detail::Full) {
        let id = label.replace(' ', "-");
        let _ = writeln!(
            h,
            "<tr><th>{}</th><td id=\"{id}\" class=\"num\">{}</td></tr>",
            escape(label),
            escape(&value)
        );
    }
    h.push_str("</table>\n");

    figure(&mut h, "Equity", chart::EQUITY_SVG, chart::EQUITY_PNG, "Equity curve");
    figure(&mut h, "Drawdown", chart::DRAWDOWN_SVG, chart::DRAWDOWN_PNG, "Drawdown from the running peak");

    h.push_str("<h2>Data</h2>\n<ul id=\"files\">\n");
    let tables = [
        (files::ORDERS, "every state change of every order", report.orders.len()),
        (files::FILLS, "every execution", report.fills.len()),
        (files::TRADES, "every trade, closed or open", report.trades.len()),
        (files::EQUITY, "the equity curve with its running peak and drawdown", report.equity.len()),
    ];
    for (file, what, rows) in tables {
        let _ = writeln!(h, "<li><a href=\"{file}\">{file}</a>: {what} ({rows} rows)</li>");
    }
    let _ = writeln!(h, "<li><a href=\"{0}\">{0}</a>: this summary for programs</li>", summary::SUMMARY);
    h.push_str("</ul>\n");
    let _ = writeln!(h, "<script>\n{SCRIPT}\n</script>\n</body>\n</html>");
    h
}

fn figure(h: &mut String, heading: &str, svg: &str, png: &str, alt: &str) {
    let (w, ht) = chart::SIZE;
    let _ = writeln!(
        h,
        "<h2>{heading}</h2>\n<figure>\n<img class=\"chart\" src=\"{svg}\" alt=\"{alt}\" width=\"{w}\" height=\"{ht}\">\n\
         <figcaption><a href=\"{png}\">PNG</a> · <a href=\"{svg}\">SVG</a></figcaption>\n</figure>"
    );
}

#[cfg(test)]
mod tests {
    use super::super::RunInfo;
    use super::*;

    #[test]
    fn report_html_escapes_text_and_links_relative_files() {
        let report = Report {
            info: RunInfo {
                strategy: "<script>alert('x')</script> & co".into(),
                params: vec![("a\"b".into(), "<1>".into())],
                currency: "USD".into(),
                ..RunInfo::default()
            },
            ..Report::default()
        };
        let page = index(&report, &Metrics::compute(&report));
        assert!(!page.contains("<script>alert"), "{page}");
        assert!(page.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; co"));
        assert!(page.contains("a&quot;b=&lt;1&gt;"));
        assert!(page.contains("<img class=\"chart\" src=\"equity.svg\""));
        assert!(page.contains("<img class=\"chart\" src=\"drawdown.svg\""));
        for link in [
            "equity.png",
            "drawdown.png",
            "orders.csv",
            "fills.csv",
            "trades.csv",
            "equity.csv",
            "summary.json",
        ] {
            assert!(page.contains(&format!("href=\"{link}\"")), "{link}");
        }
        assert!(!page.contains("http://") && !page.contains("https://"), "no external resources");
        assert_eq!(page.matches("<script>").count(), 1);
    }
}
