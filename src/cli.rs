//! The tools around the service, each behind a subcommand of `refund-gateway`: the load test
//! (`bench`), the guided tour (`demo`), the simulators on their own (`sandbox`), every problem
//! of a configuration in one pass (`check-config`), the finance commands (`reconcile`,
//! `export`) and the start-up banner. None of it runs inside the gateway's request path.

pub mod banner;
pub mod bench;
pub mod check_config;
pub mod demo;
pub mod reconcile;
pub mod sandbox;
