//! Finance (DESIGN §10): the ledger's invariants under random histories (store level), the
//! statement variance report (the gateway's CSV and providers' own formats, batches and
//! fees, the sample statements of `fixtures/statements/`), the summary, the per-payment
//! roll-up and the export (API).

mod api;
mod formats;
mod ledger;
mod samples;
