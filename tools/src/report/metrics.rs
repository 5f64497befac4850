//! The report's statistics, each defined once here (doc comments) and tested on hand-computed inputs.
//!
//! Money stays exact ([`Money`]) wherever it is shown; a ratio of two amounts is computed in `f64`
//! from the exact difference, which is as precise as the ratio can be printed.

use kestrel_types::{Money, NANOS_PER_DAY};

use super::{EquityPoint, Report};

/// Days in the average calendar year: the Sharpe ratio's annualisation base.
const DAYS_PER_YEAR: f64 = 365.25;

/// The statistics of a finished run.
#[derive(Clone, Debug, PartialEq)]
pub struct Metrics {
    /// `final_value / start_value − 1` of [`super::RunInfo`]; NaN (shown as `n/a`, `null` in JSON)
    /// when the start value is not positive, since a return on nothing is undefined.
    pub total_return: f64,
    /// The largest fall of equity below its running peak, as a positive fraction of that peak
    /// (`0.25` = 25%). Peaks at or below zero count as no drawdown (the fraction is undefined).
    /// Maximised independently of [`Self::max_drawdown_money`], as backtrader's `DrawDown`
    /// analyzer does: the deepest fall in percent and in money may be different falls.
    pub max_drawdown: f64,
    /// The largest fall of equity below its running peak, in money (≥ 0, exact).
    pub max_drawdown_money: Money,
    /// The annualised Sharpe ratio of the equity curve, with a zero risk-free rate:
    /// `mean(r) / stdev(r) × √(periods per year)` over the simple returns `r_i = e_i / e_(i−1) − 1`
    /// between consecutive equity points, with the sample standard deviation (n − 1).
    /// Periods per year are `365.25 days / the median spacing of the equity points`, so daily bars
    /// annualise by √365.25 and weekend gaps do not distort it. `None` with fewer than 3 points, a
    /// zero standard deviation (a flat curve), a non-positive median spacing, or an equity at or below
    /// zero before a return (a return on it is undefined).
    pub sharpe: Option<f64>,
    /// Returns the Sharpe ratio was computed from (equity points − 1; 0 with fewer than 2 points).
    pub samples: usize,
    /// The annualisation base used for the Sharpe ratio, when the spacing allowed one.
    pub periods_per_year: Option<f64>,
    /// Trades that were closed (open trades at the end are not counted anywhere below).
    pub trades_closed: usize,
    /// Closed trades with a strictly positive net pnl (after commission); break-even is no win.
    pub trades_won: usize,
    /// `trades_won / trades_closed`; `None` with no closed trade.
    pub win_rate: Option<f64>,
}

/// The running peak and the fall below it at one equity point.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DrawdownPoint {
    /// The highest equity up to and including this point.
    pub peak: Money,
    /// `peak − equity` (≥ 0, exact).
    pub drawdown: Money,
    /// `drawdown / peak`; 0 when the peak is not positive (undefined there).
    pub fraction: f64,
}

impl Metrics {
    /// Computes every statistic of `report` (see the field docs for the definitions).
    pub fn compute(report: &Report) -> Self {
        let dd = drawdowns(&report.equity);
        let max_drawdown = dd.iter().map(|d| d.fraction).fold(0.0, f64::max);
        let max_drawdown_money = dd.iter().map(|d| d.drawdown).max().unwrap_or(Money::ZERO);
        let (sharpe, periods_per_year) = sharpe(&report.equity);
        let closed: Vec<_> = report.trades.iter().filter(|t| t.closed.is_some()).collect();
        let trades_won = closed.iter().filter(|t| t.pnl_net.is_positive()).count();
        let win_rate = (!closed.is_empty()).then(|| trades_won as f64 / closed.len() as f64);
        Self {
            total_return: ratio_minus_one(report.info.final_value, report.info.start_value)
                .unwrap_or(f64::NAN),
            max_drawdown,
            max_drawdown_money,
            sharpe,
            samples: report.equity.len().saturating_sub(1),
            periods_per_year,
            trades_closed: closed.len(),
            trades_won,
            win_rate,
        }
    }
}

/// The running peak and drawdown at every equity point, exact in money (what `equity.csv` and the
/// drawdown chart show).
pub fn drawdowns(equity: &[EquityPoint]) -> Vec<DrawdownPoint> {
    let mut peak: Option<Money> = None;
    equity
        .iter()
        .map(|p| {
            let top = peak.map_or(p.equity, |pk| pk.max(p.equity));
            peak = Some(top);
            // In range for every pair of in-range amounts but the two extremes; saturate there.
            let drawdown = top.checked_sub(p.equity).unwrap_or(Money::MAX);
            let fraction = if top.is_positive() { drawdown.raw() as f64 / top.raw() as f64 } else { 0.0 };
            DrawdownPoint { peak: top, drawdown, fraction }
        })
        .collect()
}

/// `a / b − 1` from the exact difference (`(a − b) / b`: no cancellation near 0); `None` for `b ≤ 0`.
fn ratio_minus_one(a: Money, b: Money) -> Option<f64> {
    if !b.is_positive() {
        return None;
    }
    let diff = a.raw().checked_sub(b.raw()).map_or(a.raw() as f64 - b.raw() as f64, |d| d as f64);
    Some(diff / b.raw() as f64)
}

/// The Sharpe ratio and the periods per year it used (see [`Metrics::sharpe`]).
fn sharpe(equity: &[EquityPoint]) -> (Option<f64>, Option<f64>) {
    let ppy = periods_per_year(equity);
    if equity.len() < 3 {
        return (None, ppy);
    }
    let returns: Option<Vec<f64>> =
        equity.windows(2).map(|w| ratio_minus_one(w[1].equity, w[0].equity)).collect();
    let (Some(returns), Some(ppy)) = (returns, ppy) else {
        return (None, ppy);
    };
    let n = returns.len() as f64;
    let mean = returns.iter().sum::<f64>() / n;
    let var = returns.iter().map(|r| (r - mean) * (r - mean)).sum::<f64>() / (n - 1.0);
    let sd = var.sqrt();
    let s = mean / sd * ppy.sqrt();
    (if sd > 0.0 && s.is_finite() { Some(s) } else { None }, Some(ppy))
}

/// `365.25 days / median spacing`: `None` with fewer than 2 points or a median spacing ≤ 0.
///
/// The median of an even number of spacings is the mean of the middle two.
fn periods_per_year(equity: &[EquityPoint]) -> Option<f64> {
    let mut gaps: Vec<i128> =
        equity.windows(2).map(|w| i128::from(w[1].ts.nanos()) - i128::from(w[0].ts.nanos())).collect();
    if gaps.is_empty() {
        return None;
    }
    gaps.sort_unstable();
    let mid = gaps.len() / 2;
    let median =
        if gaps.len() % 2 == 1 { gaps[mid] as f64 } else { (gaps[mid - 1] as f64 + gaps[mid] as f64) / 2.0 };
    (median > 0.0).then(|| DAYS_PER_YEAR * NANOS_PER_DAY as f64 / median)
}

#[cfg(test)]
mod tests {
    use kestrel_types::{NANOS_PER_SEC, Timestamp};

    use super::super::{RunInfo, TradeRow};
    use super::*;

    const HOUR: i64 = 3_600 * NANOS_PER_SEC;

    fn curve(points: &[(i64, &str)]) -> Vec<EquityPoint> {
        points
            .iter()
            .map(|&(t, e)| EquityPoint {
                ts: Timestamp::from_nanos(t),
                cash: Money::ZERO,
                equity: e.parse().unwrap(),
            })
            .collect()
    }

    fn daily(values: &[&str]) -> Vec<EquityPoint> {
        curve(&values.iter().enumerate().map(|(i, v)| (i as i64 * NANOS_PER_DAY, *v)).collect::<Vec<_>>())
    }

    fn report(equity: Vec<EquityPoint>) -> Report {
        Report { equity, ..Report::default() }
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-12 * b.abs().max(1.0)
    }

    #[test]
    fn report_total_return_is_final_over_start_minus_one() {
        let mut r = Report::default();
        r.info = RunInfo {
            start_value: "100000".parse().unwrap(),
            final_value: "101200".parse().unwrap(),
            ..r.info
        };
        assert!(close(Metrics::compute(&r).total_return, 0.012));
        r.info.final_value = "75000".parse().unwrap();
        assert!(close(Metrics::compute(&r).total_return, -0.25));
        r.info.start_value = Money::ZERO;
        assert!(Metrics::compute(&r).total_return.is_nan(), "a return on nothing is undefined");
    }

    #[test]
    fn report_drawdown_tracks_the_running_peak() {
        let eq = daily(&["100", "120", "90", "130", "117"]);
        let dd = drawdowns(&eq);
        let peaks: Vec<String> = dd.iter().map(|d| d.peak.to_string()).collect();
        let falls: Vec<String> = dd.iter().map(|d| d.drawdown.to_string()).collect();
        assert_eq!(peaks, ["100", "120", "120", "130", "130"]);
        assert_eq!(falls, ["0", "0", "30", "0", "13"]);
        let m = Metrics::compute(&report(eq));
        assert_eq!(m.max_drawdown, 0.25);
        assert_eq!(m.max_drawdown_money, "30".parse().unwrap());
    }

    #[test]
    fn report_drawdown_percent_and_money_are_maximised_independently() {
        // 100 → 50 is −50% (50 of money); 1000 → 900 is −10% but 100 of money.
        let m = Metrics::compute(&report(daily(&["100", "50", "1000", "900"])));
        assert_eq!(m.max_drawdown, 0.5);
        assert_eq!(m.max_drawdown_money, "100".parse().unwrap());
        // A non-positive peak has no fraction; nothing to divide by.
        let m = Metrics::compute(&report(daily(&["0", "-10"])));
        assert_eq!(m.max_drawdown, 0.0);
        assert_eq!(m.max_drawdown_money, "10".parse().unwrap());
        assert_eq!(Metrics::compute(&Report::default()).max_drawdown_money, Money::ZERO);
    }

    #[test]
    fn report_sharpe_on_daily_points() {
        // Returns +10%, −10%, +10%: mean 1/30, sample stdev √(0.04/3) → mean/sd = 1/(2√3).
        let m = Metrics::compute(&report(daily(&["100", "110", "99", "108.9"])));
        let expected = 1.0 / (2.0 * 3f64.sqrt()) * 365.25f64.sqrt();
        assert!(close(m.sharpe.unwrap(), expected), "{:?} vs {expected}", m.sharpe);
        assert_eq!(m.samples, 3);
        assert_eq!(m.periods_per_year, Some(365.25));
    }

    #[test]
    fn report_sharpe_periods_per_year_come_from_the_median_spacing() {
        // Spacings 1h, 1h, 3h: median 1h → 8766 periods a year; a weekend-like gap does not count.
        let eq = curve(&[(0, "100"), (HOUR, "101"), (2 * HOUR, "100"), (5 * HOUR, "102")]);
        assert_eq!(Metrics::compute(&report(eq)).periods_per_year, Some(8766.0));
        // Even count: spacings 1h, 2h → median 1.5h → 5844.
        let eq = curve(&[(0, "100"), (HOUR, "101"), (3 * HOUR, "100")]);
        let m = Metrics::compute(&report(eq));
        assert_eq!(m.periods_per_year, Some(5844.0));
        // Returns +1%, −1/101: mean/sd by hand.
        let (r1, r2) = (0.01, -1.0 / 101.0);
        let mean = (r1 + r2) / 2.0;
        let sd = (((r1 - mean) * (r1 - mean) + (r2 - mean) * (r2 - mean)) / 1.0f64).sqrt();
        assert!(close(m.sharpe.unwrap(), mean / sd * 5844f64.sqrt()));
    }

    #[test]
    fn report_sharpe_is_undefined_where_it_would_divide_by_zero() {
        assert_eq!(Metrics::compute(&report(daily(&["100", "110"]))).sharpe, None, "fewer than 3 points");
        let flat = Metrics::compute(&report(daily(&["100", "100", "100", "100"])));
        assert_eq!((flat.sharpe, flat.max_drawdown, flat.samples), (None, 0.0, 3), "zero stdev");
        let same_time = curve(&[(0, "100"), (0, "101"), (0, "99")]);
        assert_eq!(Metrics::compute(&report(same_time)).sharpe, None, "zero median spacing");
        assert_eq!(Metrics::compute(&report(daily(&["100", "0", "10"]))).sharpe, None, "return on zero");
        let m = Metrics::compute(&Report::default());
        assert_eq!((m.sharpe, m.samples, m.periods_per_year), (None, 0, None));
    }

    #[test]
    fn report_sharpe_survives_huge_values() {
        let big = Money::MAX.raw() / 4;
        let eq: Vec<EquityPoint> = [big, big / 2, big, big / 3]
            .iter()
            .enumerate()
            .map(|(i, &e)| EquityPoint {
                ts: Timestamp::from_nanos(i as i64 * NANOS_PER_DAY),
                cash: Money::ZERO,
                equity: Money::from_raw(e),
            })
            .collect();
        let m = Metrics::compute(&report(eq));
        assert!(m.sharpe.unwrap().is_finite());
        assert!(close(m.max_drawdown, 2.0 / 3.0));
    }

    #[test]
    fn report_win_rate_counts_closed_trades_with_positive_net_pnl() {
        let trade = |pnl_net: &str, closed: bool| TradeRow {
            pnl_net: pnl_net.parse().unwrap(),
            closed: closed.then_some(Timestamp::from_nanos(1)),
            ..TradeRow::default()
        };
        let r = Report {
            trades: vec![trade("10", true), trade("-5", true), trade("0", true), trade("99", false)],
            ..Report::default()
        };
        let m = Metrics::compute(&r);
        assert_eq!((m.trades_closed, m.trades_won), (3, 1));
        assert!(close(m.win_rate.unwrap(), 1.0 / 3.0));
        assert_eq!(Metrics::compute(&Report::default()).win_rate, None);
    }
}
