//! `refund-gateway sandbox`: every provider's simulator standalone, for testing other clients
//! against them: each on `PORT` + its plugin's offset (authms 0, ebuy 1, efundpay 2, stripe 3),
//! with the fixed credentials of its `[providers.<name>]` sandbox section.

use std::fmt::Write as _;
use std::net::SocketAddr;

use refund_provider::{ProviderPlugin, Simulator, SimulatorOptions};
use serde_json::Value;
use tokio::net::TcpListener;

use crate::providers::PLUGINS;

/// `--listen-base` for `sandbox`, and the help text naming each provider's port.
pub fn ports_help() -> String {
    let ports: Vec<String> = PLUGINS
        .iter()
        .map(|plugin| match plugin.sandbox_port_offset() {
            0 => format!("{} on PORT", plugin.id()),
            offset => format!("{} on PORT+{offset}", plugin.id()),
        })
        .collect();
    format!(
        "Run the provider simulators standalone: {}",
        ports.join(", ")
    )
}

/// Starts every simulator on its port (`listen_base` + offset), in [`PLUGINS`] order.
pub(crate) async fn start_all(listen_base: u16) -> std::io::Result<Vec<Box<dyn Simulator>>> {
    let mut simulators = Vec::new();
    for plugin in PLUGINS {
        let port = listen_base
            .checked_add(plugin.sandbox_port_offset())
            .ok_or_else(|| {
                std::io::Error::new(
                    std::io::ErrorKind::InvalidInput,
                    format!(
                        "--listen-base {listen_base} leaves no port for {}",
                        plugin.id()
                    ),
                )
            })?;
        let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], port))).await?;
        simulators.push(
            plugin
                .start_simulator(listener, SimulatorOptions::default())
                .await?,
        );
    }
    Ok(simulators)
}

/// One line per simulator: its provider, URL and credentials (the sandbox section's keys).
pub(crate) fn describe(simulators: &[Box<dyn Simulator>]) -> String {
    let mut out = String::from(
        "provider simulators (credentials in DESIGN §7/§12 and each provider's README):\n",
    );
    for simulator in simulators {
        let credentials = PLUGINS
            .iter()
            .find(|plugin| plugin.id() == simulator.provider())
            .map(|plugin| credentials(*plugin))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "  {:<9} {}   {credentials}",
            simulator.provider(),
            simulator.base_url()
        );
    }
    out.push_str("  faults:   POST <url>/_sandbox/faults   effects: GET <url>/_sandbox/effects\n");
    out.push_str(
        "  webhooks: to the URL each refund names, or, for a provider whose endpoint is set on \
         its side, to the one given with POST <url>/_sandbox/webhook_endpoint {\"url\": …}\n",
    );
    out
}

/// `token sandbox-authms-token, …`: the plugin's sandbox settings, sorted by key.
fn credentials(plugin: &dyn ProviderPlugin) -> String {
    let settings = plugin.sandbox_settings();
    let mut keys: Vec<&String> = settings.keys().collect();
    keys.sort();
    keys.iter()
        .map(|key| match settings.get(*key) {
            Some(Value::String(text)) => format!("{key} {text}"),
            Some(other) => format!("{key} {other}"),
            None => (*key).clone(),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Runs until Ctrl-C.
pub async fn run_standalone(listen_base: u16) -> std::io::Result<()> {
    let simulators = start_all(listen_base).await?;
    print!("{}", describe(&simulators));
    tokio::signal::ctrl_c().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_help_names_every_provider_at_its_offset() {
        let help = ports_help();
        for plugin in PLUGINS {
            let expected = match plugin.sandbox_port_offset() {
                0 => format!("{} on PORT", plugin.id()),
                offset => format!("{} on PORT+{offset}", plugin.id()),
            };
            assert!(help.contains(&expected), "{help}");
        }
        assert!(help.contains("authms on PORT,"), "{help}");
    }

    /// A base port whose block of ports (up to the largest offset) is free right now.
    fn free_block() -> u16 {
        let span = PLUGINS
            .iter()
            .map(|plugin| plugin.sandbox_port_offset())
            .max()
            .unwrap_or(0);
        for _ in 0..20 {
            let probe = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
            let base = probe.local_addr().expect("addr").port();
            drop(probe);
            let Some(top) = base.checked_add(span) else {
                continue;
            };
            let all_free =
                (base..=top).all(|port| std::net::TcpListener::bind(("127.0.0.1", port)).is_ok());
            if all_free {
                return base;
            }
        }
        panic!("no free block of ports found");
    }

    #[tokio::test]
    async fn every_simulator_starts_on_the_base_port_plus_its_offset_with_its_credentials() {
        let base = free_block();
        let simulators = start_all(base).await.expect("simulators");
        assert_eq!(simulators.len(), PLUGINS.len());
        for (simulator, plugin) in simulators.iter().zip(PLUGINS) {
            assert_eq!(simulator.provider(), plugin.id());
            let port = base + plugin.sandbox_port_offset();
            assert_eq!(simulator.base_url(), format!("http://127.0.0.1:{port}"));
        }
        let text = describe(&simulators);
        assert!(text.contains("token sandbox-authms-token"), "{text}");
        for plugin in PLUGINS {
            for (key, value) in plugin.sandbox_settings() {
                let value = value
                    .as_str()
                    .map_or_else(|| value.to_string(), str::to_owned);
                assert!(text.contains(&format!("{key} {value}")), "{text}");
            }
        }
    }
}
