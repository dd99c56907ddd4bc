//! The tools around the service, each behind a subcommand of `refund-gateway`: the load test
//! (`bench`), the guided tour (`demo`), the simulators on their own (`sandbox`), the finance
//! commands (`reconcile`, `export`) and the start-up banner. None of it runs inside the
//! gateway's request path. (`check-config` is `crate::config_check`, which a reload runs too.)

pub mod banner;
pub mod bench;
pub mod demo;
pub mod reconcile;
pub mod sandbox;
