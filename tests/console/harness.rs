//! What the console tests stand on: the sandbox gateway in process, chromedriver and a
//! headless Chromium with a fresh profile, and small waiting helpers.

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use refund_gateway::config::{Config, EMBEDDED_DEFAULT};
use refund_gateway::startup::Application;
pub use refund_test_support::temp_dir;
use refund_test_support::{free_port, poll_until, shutdown_signal, sqlite_url, Shutdown};
use serde_json::{json, Value};

/// The embedded default's merchant key (DESIGN §12).
pub const DEMO_KEY: &str = "sk_sandbox_demo";
/// The embedded default's operator key (DESIGN §14, issue 10).
pub const OPERATOR_KEY: &str = "sk_sandbox_operator";

/// How long the UI may take to show something.
pub const UI_WAIT: Duration = Duration::from_secs(15);

static ONE_BROWSER_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Holds the one-browser lock for a test's duration.
pub async fn exclusive() -> tokio::sync::MutexGuard<'static, ()> {
    ONE_BROWSER_AT_A_TIME.lock().await
}

fn unique(prefix: &str) -> String {
    format!("{prefix}{}", uuid::Uuid::new_v4().simple())
}

/// The gateway as `serve` runs it with no config (the embedded sandbox default), on a free
/// loopback port and a temp SQLite file.
pub struct Gateway {
    pub base: String,
    pub http: reqwest::Client,
    /// The in-process simulators' base URLs by provider.
    pub simulators: Vec<(String, String)>,
    _shutdown: Shutdown,
}

impl Gateway {
    pub async fn start() -> Self {
        Self::start_with("").await
    }

    /// [`Gateway::start`] with `extra` appended to the embedded default (tables only, e.g.
    /// `[[approval_rules]]` or `[batches]`).
    pub async fn start_with(extra: &str) -> Self {
        Self::start_from(&format!("{EMBEDDED_DEFAULT}\n{extra}\n")).await
    }

    /// A gateway on `toml` (the embedded default, edited), on a fresh SQLite file.
    pub async fn start_from(toml: &str) -> Self {
        let mut config = Config::from_toml(toml).unwrap_or_else(|e| panic!("{e}"));
        config.server.listen = "127.0.0.1:0".parse().unwrap_or_else(|e| panic!("{e}"));
        config.database.url = sqlite_url(&temp_dir("refund-gateway-console-"));
        let app = Application::build(config)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let base = format!("http://127.0.0.1:{}", app.port());
        let simulators = app
            .engine()
            .providers()
            .sandbox_urls()
            .into_iter()
            .map(|(id, url)| (id.to_string(), url))
            .collect();
        let (shutdown, signal) = shutdown_signal();
        tokio::spawn(app.run_until(signal));
        Self {
            base,
            http: reqwest::Client::new(),
            simulators,
            _shutdown: shutdown,
        }
    }

    /// The statement `provider`'s simulator writes of its refunds (`GET /_sandbox/statement`),
    /// as the provider would send it (e-Buy's in GBK).
    pub async fn simulator_statement(&self, provider: &str) -> Vec<u8> {
        let base = self
            .simulators
            .iter()
            .find(|(id, _)| id == provider)
            .map(|(_, url)| url.trim_end_matches('/').to_owned())
            .unwrap_or_else(|| panic!("no {provider} simulator"));
        let response = self
            .http
            .get(format!("{base}/_sandbox/statement"))
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(response.status().as_u16(), 200);
        response
            .bytes()
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .to_vec()
    }

    /// Creates a refund as merchant `demo`; the refund object.
    pub async fn refund(&self, body: Value) -> Value {
        let response = self
            .http
            .post(format!("{}/v1/refunds", self.base))
            .bearer_auth(DEMO_KEY)
            .json(&body)
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(response.status().as_u16(), 201, "create {body}");
        response.json().await.unwrap_or_else(|e| panic!("{e}"))
    }

    /// A refund as `demo` sees it.
    pub async fn get_refund(&self, id: &str) -> Value {
        self.http
            .get(format!("{}/v1/refunds/{id}", self.base))
            .bearer_auth(DEMO_KEY)
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .json()
            .await
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// Waits until refund `id` has `status`; the refund.
    pub async fn wait_for_status(&self, id: &str, status: &str) -> Value {
        let read = || self.get_refund(id);
        let refund = poll_until(UI_WAIT, Duration::from_millis(100), read, |refund| {
            refund["status"] == status
        })
        .await;
        assert_eq!(
            refund["status"], status,
            "refund {id} never became {status}: {refund}"
        );
        refund
    }

    /// An eFundPay refund of `amount` EUR of a new payment, as answered (not waited for).
    pub async fn efundpay_refund_now(&self, amount: &str) -> Value {
        self.refund(json!({
            "payment_id": unique("pay_"), "amount": amount, "currency": "EUR",
            "reason": "Product return", "reference": unique("ref-"),
            "metadata": {"order": "A-1001"}
        }))
        .await
    }

    /// An eFundPay refund of `amount` EUR of a new payment, settled to `status` by the sandbox.
    pub async fn efundpay_refund(&self, amount: &str, status: &str) -> Value {
        let refund = self
            .refund(json!({
                "payment_id": unique("pay_"), "amount": amount, "currency": "EUR",
                "reason": "Product return", "reference": unique("ref-"),
                "metadata": {"order": "A-1001"}
            }))
            .await;
        let id = refund["id"].as_str().unwrap_or_default().to_owned();
        self.wait_for_status(&id, status).await
    }
}

/// Where an executable is on the PATH.
fn on_path(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(name))
            .find(|candidate| candidate.is_file())
    })
}

/// chromedriver (our child, killed on drop) and a WebDriver session on a fresh profile
/// (removed on drop, with the downloads).
pub struct Browser {
    pub client: Client,
    pub downloads: PathBuf,
    profile: PathBuf,
    driver: Child,
}

impl Drop for Browser {
    fn drop(&mut self) {
        // chromedriver leads a process group of its own, which Chromium and its helpers
        // inherit: ending the group leaves no browser behind, even after a test that
        // panicked before `close`.
        let group = format!("-{}", self.driver.id());
        let ended = Command::new("kill")
            .args(["-KILL", "--", &group])
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|status| status.success());
        if !ended {
            let _ = self.driver.kill();
        }
        let _ = self.driver.wait();
        let _ = std::fs::remove_dir_all(&self.profile);
        let _ = std::fs::remove_dir_all(&self.downloads);
    }
}

impl Browser {
    /// Starts a browser; `None` (after printing "skipped") when Chromium or chromedriver is
    /// not installed, which fails the test under `CI=true`.
    pub async fn start() -> Option<Self> {
        let chromium = on_path("chromium").or_else(|| on_path("chromium-browser"));
        let driver = on_path("chromedriver");
        let (Some(chromium), Some(driver)) = (chromium, driver) else {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "CI=true but chromium and chromedriver are not both installed \
                 (apt-get install chromium chromium-driver)"
            );
            println!("skipped: chromium and chromedriver are not both on the PATH");
            return None;
        };
        let port = free_port();
        // Chromium does not start under libfaketime (CI runs the suite again at fixed UTC
        // hours through it, ci/test_binaries.sh): the browser keeps the machine's clock.
        let child = Command::new(driver)
            .arg(format!("--port={port}"))
            .env_remove("LD_PRELOAD")
            .env_remove("FAKETIME")
            .process_group(0)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("chromedriver: {e}"));
        let profile = temp_dir("refund-gateway-chromium-");
        let downloads = temp_dir("refund-gateway-downloads-");
        let capabilities = json!({
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chromium,
                "args": [
                    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                    "--no-first-run", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync", "--lang=en-US",
                    "--window-size=1440,900", format!("--user-data-dir={}", profile.display()),
                ],
                "prefs": {
                    "download.default_directory": downloads,
                    "download.prompt_for_download": false,
                    "intl.accept_languages": "en-US",
                },
            },
        });
        let capabilities = match capabilities {
            Value::Object(map) => map,
            _ => unreachable!("a JSON object literal"),
        };
        let url = format!("http://127.0.0.1:{port}");
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        let mut browser_child = Some(child);
        let client = loop {
            let connector = hyper_util::client::legacy::connect::HttpConnector::new();
            match ClientBuilder::new(connector)
                .capabilities(capabilities.clone())
                .connect(&url)
                .await
            {
                Ok(client) => break client,
                // chromedriver takes a moment to listen.
                Err(_) if tokio::time::Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                Err(error) => {
                    if let Some(mut child) = browser_child.take() {
                        let _ = child.kill();
                    }
                    panic!("no WebDriver session from chromedriver: {error}");
                }
            }
        };
        Some(Self {
            client,
            downloads,
            profile,
            driver: browser_child
                .take()
                .unwrap_or_else(|| unreachable!("kept until here")),
        })
    }

    /// Ends the session (the profile's Chromium exits); chromedriver goes on drop.
    pub async fn close(self) {
        let _ = self.client.clone().close().await;
    }

    /// Opens the console at `path` (e.g. `#/refunds`).
    pub async fn open(&self, gateway: &Gateway, path: &str) {
        self.client
            .goto(&format!("{}/console/{path}", gateway.base))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    }

    /// The first element matching `css`, waiting for it to appear.
    pub async fn find(&self, css: &str) -> Element {
        self.client
            .wait()
            .at_most(UI_WAIT)
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no `{css}`: {e}"))
    }

    /// Every element matching `css` now.
    pub async fn find_all(&self, css: &str) -> Vec<Element> {
        self.client
            .find_all(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("{css}: {e}"))
    }

    /// Waits until the text of the first `css` element contains `needle`; that text.
    pub async fn wait_for_text(&self, css: &str, needle: &str) -> String {
        let deadline = tokio::time::Instant::now() + UI_WAIT;
        let mut last = String::new();
        while tokio::time::Instant::now() < deadline {
            if let Ok(element) = self.client.find(Locator::Css(css)).await {
                if let Ok(text) = element.text().await {
                    if text.contains(needle) {
                        return text;
                    }
                    last = text;
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("`{css}` never showed {needle:?}; last text: {last:?}");
    }

    /// Types into the element `css` (replacing what it held).
    pub async fn type_into(&self, css: &str, text: &str) {
        let element = self.find(css).await;
        element.clear().await.unwrap_or_else(|e| panic!("{e}"));
        element
            .send_keys(text)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    }

    pub async fn click(&self, css: &str) {
        self.find(css)
            .await
            .click()
            .await
            .unwrap_or_else(|e| panic!("click {css}: {e}"));
    }

    /// Runs `script` in the page (an async function body: `await` allowed, `return` a value).
    pub async fn run(&self, script: &str) -> Value {
        let wrapped = format!(
            "const done = arguments[arguments.length - 1];
             (async () => {{ {script} }})().then(done, (e) => done({{ error: String(e) }}));"
        );
        self.client
            .execute_async(&wrapped, vec![])
            .await
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// Starts recording Content-Security-Policy violations of this page.
    pub async fn watch_csp(&self) {
        self.run(
            "window.cspViolations = [];
             document.addEventListener('securitypolicyviolation',
               (e) => window.cspViolations.push(`${e.violatedDirective} ${e.blockedURI}`));
             return true;",
        )
        .await;
    }

    /// The violations recorded since `watch_csp`.
    pub async fn csp_violations(&self) -> Value {
        self.run("return window.cspViolations ?? ['not watched'];")
            .await
    }

    /// Signs in with `key` by keyboard (Enter in the key field) and waits for the overview.
    pub async fn sign_in(&self, gateway: &Gateway, key: &str) {
        self.open(gateway, "#/overview").await;
        self.watch_csp().await;
        self.type_into("#api-key", &format!("{key}\u{E007}")).await;
        self.wait_for_text("main h1", "Overview").await;
    }

    /// A file in the download folder whose name starts with `prefix`, once fully written.
    pub async fn downloaded(&self, prefix: &str) -> (String, String) {
        let deadline = tokio::time::Instant::now() + UI_WAIT;
        while tokio::time::Instant::now() < deadline {
            let found = std::fs::read_dir(&self.downloads)
                .into_iter()
                .flatten()
                .flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .find(|name| name.starts_with(prefix) && !name.ends_with(".crdownload"));
            if let Some(name) = found {
                let text = std::fs::read_to_string(self.downloads.join(&name))
                    .unwrap_or_else(|e| panic!("{e}"));
                return (name, text);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!(
            "nothing named {prefix}… was downloaded to {:?}",
            self.downloads
        );
    }
}

/// Writes `text` to a new file named `name` in a temp dir; its path.
pub fn write_temp_file(name: &str, text: impl AsRef<[u8]>) -> PathBuf {
    let path = temp_dir("refund-gateway-upload-").join(name);
    std::fs::write(&path, text).unwrap_or_else(|e| panic!("{e}"));
    path
}

/// Where the overview's screenshot goes: `CONSOLE_SCREENSHOT` (relative to the crate) or
/// the test's temp dir.
pub fn screenshot_path() -> PathBuf {
    match std::env::var_os("CONSOLE_SCREENSHOT") {
        Some(path) => Path::new(env!("CARGO_MANIFEST_DIR")).join(path),
        None => Path::new(env!("CARGO_TARGET_TMPDIR")).join("console-overview.png"),
    }
}
