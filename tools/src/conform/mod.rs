//! The conformance runner's layers (`shared/conformance/FORMAT.md`): `kestrel conform SCENARIO`
//! reads a scenario, runs it through Kestrel's simulated broker and prints the document that
//! `compare.py` holds against backtrader's.
//!
//! - [`scenario`]: the scenario file read into exact, typed values; what the format does not define
//!   is refused with a [`scenario::ScenarioError`] (the runner exits 3 with it, as the oracle does).
//! - [`output`]: the expected-output document in exact numbers and its deterministic JSON writer.
//! - [`compare`]: `compare.py`'s comparison rules, for tests and for checking a run in Rust.
//! - `run` (the lead's): drives the broker through a scenario and fills an [`output::Output`].

pub mod compare;
pub mod output;
pub mod run;
pub mod scenario;
