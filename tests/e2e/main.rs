//! End-to-end tests: the gateway with its real adapters against every provider's simulator
//! (in-process, loopback only), on SQLite: every provider to a final status, the
//! webhook-driven completions (eFundPay, Stripe), each injected fault producing the
//! documented gateway status for every provider, Stripe's own paths, and the `demo` tour.

mod demo;
mod faults;
mod helpers;
mod providers;
mod stripe;
mod webhooks;
