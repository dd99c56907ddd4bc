//! The finance console end to end: the gateway on the sandbox (in process, port 0, a temp
//! SQLite), driven in headless Chromium through chromedriver (WebDriver, `fantoccini`).
//!
//! Without `chromium` and `chromedriver` on the PATH each test prints "skipped" and passes,
//! except under `CI=true`, where that is a failure (`.ci/run` installs them). The tests take
//! one browser at a time (`harness::exclusive`): two cores do not run several Chromiums well.
//! `CONSOLE_SCREENSHOT=docs/console-overview.png cargo test --test console overview` writes
//! the screenshot of the overview in docs/finance.md.

mod audit;
mod finance_ops;
mod harness;
mod merchant;
mod operator;
