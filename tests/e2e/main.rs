//! End-to-end tests: the gateway with its real adapters against the three provider
//! simulators (in-process, loopback only), on SQLite: every provider to a final status, the
//! eFundPay webhook-driven completion, each injected fault producing the documented gateway
//! status, and the `demo` tour.

mod demo;
mod faults;
mod helpers;
mod providers;
mod webhooks;
