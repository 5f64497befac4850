//! `kestrel_cli`: the pieces of Kestrel's command line that are worth testing on their own.
//!
//! The `kestrel` binary (`src/main.rs`) stays a thin layer of argument parsing and error printing;
//! what a subcommand is made of lives here, so that its tests run without a process and other tools
//! can reuse it.
//!
//! - [`conform`]: the conformance runner's layers: reading a scenario of
//!   `shared/conformance/FORMAT.md` into exact, typed values (refusing whatever the format does not
//!   define, as the backtrader oracle does), the expected-output document and its JSON writer, and
//!   a port of `compare.py`'s comparison rules.
//! - [`report`]: the report folder of `kestrel backtest` (summary page, CSV tables, equity and
//!   drawdown charts, `summary.json`) and the statistics it shows.

pub mod conform;
pub mod report;
