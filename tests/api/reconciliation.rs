//! Finance (DESIGN §10): the ledger's invariants under random histories (store level), the
//! statement variance report, the summary, the per-payment roll-up and the export (API).

mod api;
mod ledger;
