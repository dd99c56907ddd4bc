//! The command line: `check-config` reports every problem with its key path and exits
//! non-zero; a good config passes; `migrate` applies the migrations.

use std::process::Command;

use crate::harness::temp_dir;

fn gateway(args: &[&str]) -> (bool, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_refund-gateway"))
        .args(args)
        .output()
        .expect("run gateway");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}

#[test]
fn check_config_reports_every_problem_with_its_key_path() {
    let dir = temp_dir();
    let path = dir.join("bad.toml");
    std::fs::write(
        &path,
        r#"
[server]
listen = "nowhere"
[database]
url = "mysql://x"
[[merchants]]
id = "acme"
api_key_sha256 = "not-hex"
[providers.efundpay]
base_url = "ftp://x"
token_env = "REFUND_GATEWAY_TEST_UNSET_VARIABLE"
merchant_account_id = "m"
webhook_secret = "s"
[[routes]]
provider = "nowhere"
"#,
    )
    .expect("write");
    let (ok, text) = gateway(&[
        "check-config",
        "--config",
        path.to_str().unwrap_or_default(),
    ]);
    assert!(!ok, "{text}");
    for key in [
        "server.listen",
        "database.url",
        "merchants[0].api_key_sha256",
        "routes[0].provider",
    ] {
        assert!(text.contains(key), "{key} missing from:\n{text}");
    }

    let providers_only = dir.join("providers.toml");
    std::fs::write(
        &providers_only,
        "[providers.efundpay]\nbase_url = \"ftp://x\"\ntoken_env = \"REFUND_GATEWAY_TEST_UNSET_VARIABLE\"\nmerchant_account_id = \"m\"\nwebhook_secret = \"s\"\nsurprise = 1\n",
    )
    .expect("write");
    let (ok, text) = gateway(&[
        "check-config",
        "--config",
        providers_only.to_str().unwrap_or_default(),
    ]);
    assert!(!ok, "{text}");
    assert!(text.contains("providers.efundpay"), "{text}");
}

#[test]
fn check_config_names_a_type_error_a_semantic_error_and_a_provider_error_in_one_run() {
    let dir = temp_dir();
    let path = dir.join("layers.toml");
    std::fs::write(
        &path,
        r#"
[server]
max_connections = "many"
[[merchants]]
id = "acme"
api_key = "sk_acme"
[[routes]]
provider = "nowhere"
[providers.efundpay]
base_url = "ftp://x"
token = "t"
merchant_account_id = "m"
webhook_secret = "s"
"#,
    )
    .expect("write");
    let (ok, text) = gateway(&[
        "check-config",
        "--config",
        path.to_str().unwrap_or_default(),
    ]);
    assert!(!ok, "{text}");
    for line in [
        "server.max_connections: invalid type: string \"many\", expected u64",
        "routes[0].provider: provider `nowhere` has no [providers.nowhere] section",
        "providers.efundpay.base_url: `ftp://x` is not an http(s) URL",
        "3 problem(s) found",
    ] {
        assert!(
            text.lines().any(|l| l == line),
            "{line} missing from:\n{text}"
        );
    }

    // A single wrongly typed value is still one problem, named by its key path.
    std::fs::write(&path, "[sync]\npoll_interval_ms = \"often\"\n").expect("write");
    let (ok, text) = gateway(&[
        "check-config",
        "--config",
        path.to_str().unwrap_or_default(),
    ]);
    assert!(!ok, "{text}");
    assert_eq!(
        text.lines().collect::<Vec<_>>(),
        [
            "sync.poll_interval_ms: invalid type: string \"often\", expected u64",
            "1 problem(s) found"
        ],
        "{text}"
    );
}

#[test]
fn check_config_refuses_a_provider_timeout_not_well_below_the_not_found_grace() {
    let dir = temp_dir();
    let path = dir.join("timeout.toml");
    std::fs::write(
        &path,
        r#"
[[merchants]]
id = "acme"
api_key = "sk_acme"
[providers.efundpay]
base_url = "https://api.efundpay.example"
token = "t"
merchant_account_id = "m"
webhook_secret = "s"
timeout_ms = 40000
[sync]
not_found_grace_ms = 60000
"#,
    )
    .expect("write");
    let (ok, text) = gateway(&[
        "check-config",
        "--config",
        path.to_str().unwrap_or_default(),
    ]);
    assert!(!ok, "{text}");
    assert!(text.contains("providers.efundpay.timeout_ms"), "{text}");
    assert!(text.contains("half of sync.not_found_grace_ms"), "{text}");
}

#[test]
fn check_config_accepts_the_shipped_configurations_and_migrate_applies_migrations() {
    let (ok, text) = gateway(&[
        "check-config",
        "--config",
        concat!(env!("CARGO_MANIFEST_DIR"), "/config/gateway.toml"),
    ]);
    assert!(ok, "{text}");
    let dir = temp_dir();
    let path = dir.join("migrate.toml");
    std::fs::write(
        &path,
        format!("[database]\nurl = \"sqlite://{}/m.db\"\n", dir.display()),
    )
    .expect("write");
    let (ok, text) = gateway(&["migrate", "--config", path.to_str().unwrap_or_default()]);
    assert!(ok, "{text}");
    assert!(dir.join("m.db").exists());
}

#[test]
fn check_config_warns_about_a_section_that_trusts_what_its_provider_does_not_promise() {
    let dir = temp_dir();
    let path = dir.join("trust.toml");
    std::fs::write(
        &path,
        r#"
[[merchants]]
id = "acme"
api_key = "sk_acme"
[providers.authms]
base_url = "https://iam.example.com"
token = "t"
trust_not_found = true
"#,
    )
    .expect("write");
    let (ok, text) = gateway(&[
        "check-config",
        "--config",
        path.to_str().unwrap_or_default(),
    ]);
    assert!(ok, "a warning, not a problem: {text}");
    let warning = text
        .lines()
        .find(|l| l.starts_with("warning: providers.authms:"))
        .unwrap_or_else(|| panic!("no warning in:\n{text}"));
    assert!(warning.contains("trust_not_found"), "{warning}");
    assert!(!warning.contains("trust_resend"), "{warning}");
}
