//! The banner `refund-gateway serve` prints (DESIGN §12): on a configuration with in-process
//! simulators it says it is the sandbox and shows the URL, the merchant key and the operator
//! key (when they are the embedded default's), the console's URL, the routes and the
//! simulators; otherwise one line with the URL and the console's.

use std::fmt::Write as _;
use std::net::SocketAddr;

use refund_provider::ProviderId;

use super::demo::SANDBOX_API_KEY;

/// The embedded default's operator key (`config/gateway.toml`, operator `finance`).
pub(crate) const SANDBOX_OPERATOR_KEY: &str = "sk_sandbox_operator";
use crate::config::{hash_api_key, Config, Route};

/// The banner for a gateway serving `config` (read from `source`) on `addr`, with the given
/// in-process simulators.
pub fn banner(
    config: &Config,
    source: &str,
    addr: SocketAddr,
    simulators: &[(ProviderId, String)],
) -> String {
    let mut out = String::new();
    if !config.uses_sandbox() {
        let _ = writeln!(
            out,
            "refund-gateway listening on http://{addr} (config: {source}); console at http://{addr}/console/"
        );
        return out;
    }
    let _ = writeln!(
        out,
        "refund-gateway: SANDBOX (simulated providers, nothing real is refunded)"
    );
    let _ = writeln!(out, "  config:    {source}");
    let _ = writeln!(out, "  url:       http://{addr}");
    let sandbox_key = hash_api_key(SANDBOX_API_KEY);
    let demo = config
        .merchants
        .iter()
        .find(|m| m.api_keys.iter().any(|k| k.sha256 == sandbox_key));
    match demo {
        Some(merchant) => {
            let _ = writeln!(
                out,
                "  api key:   {SANDBOX_API_KEY}   (merchant `{}`)",
                merchant.id
            );
        }
        None => {
            let _ = writeln!(out, "  api key:   the merchants' keys from {source}");
        }
    }
    let operator_key = hash_api_key(SANDBOX_OPERATOR_KEY);
    match config
        .operators
        .iter()
        .find(|o| o.api_keys.iter().any(|k| k.sha256 == operator_key))
    {
        Some(operator) => {
            let _ = writeln!(
                out,
                "  operator:  {SANDBOX_OPERATOR_KEY}   (operator `{}`: every merchant, statements, resolve)",
                operator.id
            );
        }
        None => {
            let _ = writeln!(out, "  operator:  the operators' keys from {source}");
        }
    }
    let _ = writeln!(
        out,
        "  console:   http://{addr}/console/   (the finance console: sign in with a key above)"
    );
    let _ = writeln!(out, "  routes:    {}", describe_routes(&config.routes));
    for (provider, url) in simulators {
        let _ = writeln!(out, "  {:<10} simulator at {url}", provider.as_str());
    }
    let key = demo.map_or("<api key>", |_| SANDBOX_API_KEY);
    let _ = writeln!(
        out,
        "  try:       curl -s -X POST http://{addr}/v1/refunds -H 'Authorization: Bearer {key}' \\\n               -H 'Content-Type: application/json' -d '{{\"payment_id\":\"pay_1\",\"amount\":\"12.99\",\"currency\":\"EUR\"}}'"
    );
    out
}

/// `txn_… → authms, CNY → ebuy, everything else → efundpay`.
pub(crate) fn describe_routes(routes: &[Route]) -> String {
    if routes.is_empty() {
        return "none (every request must name its provider)".to_owned();
    }
    routes
        .iter()
        .map(|route| {
            let mut conditions = Vec::new();
            if let Some(prefix) = &route.payment_id_prefix {
                conditions.push(format!("{prefix}…"));
            }
            if let Some(currencies) = &route.currency {
                let list: Vec<String> = currencies.iter().map(ToString::to_string).collect();
                conditions.push(list.join("/"));
            }
            if let Some(merchants) = &route.merchant {
                conditions.push(format!("merchant {}", merchants.join("/")));
            }
            let when = if conditions.is_empty() {
                "everything else".to_owned()
            } else {
                conditions.join(" + ")
            };
            format!("{when} → {}", route.provider.as_str())
        })
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::EMBEDDED_DEFAULT;

    fn sim(name: &str) -> (ProviderId, String) {
        (
            ProviderId::parse(name).expect("provider id"),
            "http://127.0.0.1:9".to_owned(),
        )
    }

    #[test]
    fn the_embedded_default_banner_says_sandbox_and_shows_url_key_and_routes() {
        let config = Config::from_toml(EMBEDDED_DEFAULT).expect("embedded default");
        let addr = SocketAddr::from(([127, 0, 0, 1], 8080));
        let simulators: Vec<_> = crate::providers::PLUGINS
            .iter()
            .map(|plugin| sim(plugin.id()))
            .collect();
        let text = banner(&config, "embedded default", addr, &simulators);
        assert!(text.contains("SANDBOX"), "{text}");
        assert!(text.contains("url:       http://127.0.0.1:8080"), "{text}");
        assert!(
            text.contains("api key:   sk_sandbox_demo   (merchant `demo`)"),
            "{text}"
        );
        assert!(
            text.contains("operator:  sk_sandbox_operator   (operator `finance`"),
            "{text}"
        );
        assert!(
            text.contains("console:   http://127.0.0.1:8080/console/"),
            "{text}"
        );
        assert!(
            text.contains("routes:    txn_… → authms, CNY → ebuy, everything else → efundpay"),
            "{text}"
        );
        for name in crate::providers::PLUGINS.iter().map(|plugin| plugin.id()) {
            assert!(
                text.contains(&format!("  {name:<10} simulator at http://127.0.0.1:9")),
                "{text}"
            );
        }
    }

    #[test]
    fn a_sandbox_config_with_other_keys_does_not_advertise_the_demo_key() {
        let text = EMBEDDED_DEFAULT
            .replace("sk_sandbox_demo", "sk_other")
            .replace("sk_sandbox_operator", "sk_other_operator");
        let config = Config::from_toml(&text).expect("config");
        let addr = SocketAddr::from(([127, 0, 0, 1], 8080));
        let out = banner(&config, "custom.toml", addr, &[]);
        assert!(!out.contains("sk_sandbox_demo"), "{out}");
        assert!(!out.contains("sk_sandbox_operator"), "{out}");
        assert!(
            out.contains("the operators' keys from custom.toml"),
            "{out}"
        );
        assert!(
            out.contains("the merchants' keys from custom.toml"),
            "{out}"
        );
    }

    #[test]
    fn a_config_without_simulators_prints_one_plain_line() {
        let text = EMBEDDED_DEFAULT.replace(
            "base_url = \"sandbox\"",
            "base_url = \"https://provider.example\"",
        );
        let config = Config::from_toml(&text).expect("config");
        let out = banner(
            &config,
            "prod.toml",
            SocketAddr::from(([127, 0, 0, 1], 80)),
            &[],
        );
        assert_eq!(
            out,
            "refund-gateway listening on http://127.0.0.1:80 (config: prod.toml); console at http://127.0.0.1:80/console/\n"
        );
    }
}
