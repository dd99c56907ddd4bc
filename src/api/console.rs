//! The finance console (issue 13): static files from `console/`, compiled into the binary,
//! served at `/console/` (and `/console` redirected there).
//!
//! - Every file is listed once in `ASSETS` with its content type; `include_bytes!` makes a
//!   missing file a build error, and a test makes an unlisted file a test failure. There is
//!   nothing to build: plain HTML, CSS and JavaScript modules, no network at run time.
//! - `currencies.json` is generated here from the gateway's own currency rule (every code
//!   `Currency::parse` accepts, with its ISO 4217 exponent), so the console formats amounts
//!   with exactly the exponents the API uses, without a second hand-kept list.
//! - Headers on every console answer, errors included: a strict Content-Security-Policy (only
//!   the console's own scripts, styles, images and API; no inline script; no framing; forms
//!   never submit anywhere, so a key typed before the script loaded cannot end up in a URL),
//!   `X-Content-Type-Options: nosniff`, `X-Frame-Options: DENY`, `Referrer-Policy: no-referrer`.
//! - Caching: the file names carry no version, so a browser must never keep an old `app.js`
//!   next to a new `index.html`. Every answer is `Cache-Control: no-cache` with a strong
//!   `ETag` (SHA-256 of the body), and `If-None-Match` is answered `304` without the body.
//! - An unknown console path is `404 route_not_found` in the API's error shape.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use axum::extract::Path;
use axum::http::header::{
    CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, ETAG, IF_NONE_MATCH, REFERRER_POLICY,
    X_CONTENT_TYPE_OPTIONS, X_FRAME_OPTIONS,
};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use sha2::{Digest, Sha256};

use refund_provider::Currency;

use super::error::{ApiError, ErrorCode};

/// The policy: the console's own files and API only; nothing inline, nothing framed.
pub(crate) const CONTENT_SECURITY_POLICY_VALUE: &str = "default-src 'none'; script-src 'self'; \
     style-src 'self'; img-src 'self'; connect-src 'self'; font-src 'self'; \
     form-action 'none'; base-uri 'none'; frame-ancestors 'none'";

const HTML: &str = "text/html; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";
const JS: &str = "text/javascript; charset=utf-8";
const SVG: &str = "image/svg+xml";
const JSON: &str = "application/json";

/// A file of the console.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Asset {
    /// Its path under `console/` and under `/console/`.
    pub(crate) path: &'static str,
    pub(crate) content_type: &'static str,
    pub(crate) body: &'static [u8],
}

macro_rules! asset {
    ($path:literal, $content_type:expr) => {
        Asset {
            path: $path,
            content_type: $content_type,
            body: include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/console/", $path)),
        }
    };
}

/// Every file of `console/`.
pub(crate) const ASSETS: &[Asset] = &[
    asset!("index.html", HTML),
    asset!("style.css", CSS),
    asset!("favicon.svg", SVG),
    asset!("js/app.js", JS),
    asset!("js/api.js", JS),
    asset!("js/dom.js", JS),
    asset!("js/money.js", JS),
    asset!("js/csv.js", JS),
    asset!("js/time.js", JS),
    asset!("js/period.js", JS),
    asset!("js/chart.js", JS),
    asset!("js/views/signin.js", JS),
    asset!("js/views/overview.js", JS),
    asset!("js/views/refunds.js", JS),
    asset!("js/views/refund.js", JS),
    asset!("js/views/statements.js", JS),
    asset!("js/views/export.js", JS),
    asset!("js/views/audit.js", JS),
    asset!("js/views/approvals.js", JS),
    asset!("js/views/batches.js", JS),
];

/// The generated exponent table's path under `/console/`.
pub(crate) const CURRENCIES_PATH: &str = "currencies.json";

/// A body ready to serve, with its ETag.
#[derive(Debug)]
struct Served {
    content_type: &'static str,
    body: &'static [u8],
    etag: HeaderValue,
}

fn etag_of(body: &[u8]) -> HeaderValue {
    let digest = Sha256::digest(body);
    HeaderValue::from_str(&format!("\"{}\"", hex::encode(&digest[..16])))
        .unwrap_or_else(|_| HeaderValue::from_static("\"0\""))
}

/// `{"EUR": 2, "JPY": 0, "KWD": 3, …}`: every code the API accepts, with its exponent.
pub(crate) fn currencies_json() -> String {
    let mut table = BTreeMap::new();
    let letters = b'A'..=b'Z';
    for a in letters.clone() {
        for b in letters.clone() {
            for c in letters.clone() {
                let code = [a, b, c];
                let code = std::str::from_utf8(&code).unwrap_or_default();
                if let Ok(currency) = Currency::parse(code) {
                    table.insert(currency.code(), currency.exponent());
                }
            }
        }
    }
    serde_json::to_string(&table).unwrap_or_else(|_| "{}".to_owned())
}

fn served() -> &'static BTreeMap<&'static str, Served> {
    static SERVED: OnceLock<BTreeMap<&'static str, Served>> = OnceLock::new();
    SERVED.get_or_init(|| {
        let mut map: BTreeMap<&'static str, Served> = ASSETS
            .iter()
            .map(|a| {
                let served = Served {
                    content_type: a.content_type,
                    body: a.body,
                    etag: etag_of(a.body),
                };
                (a.path, served)
            })
            .collect();
        let currencies: &'static [u8] = currencies_json().into_bytes().leak();
        map.insert(
            CURRENCIES_PATH,
            Served {
                content_type: JSON,
                body: currencies,
                etag: etag_of(currencies),
            },
        );
        map
    })
}

/// The headers every console answer carries, errors included.
fn security_headers() -> [(HeaderName, HeaderValue); 5] {
    [
        (
            CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CONTENT_SECURITY_POLICY_VALUE),
        ),
        (X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")),
        (X_FRAME_OPTIONS, HeaderValue::from_static("DENY")),
        (REFERRER_POLICY, HeaderValue::from_static("no-referrer")),
        (CACHE_CONTROL, HeaderValue::from_static("no-cache")),
    ]
}

/// Whether an `If-None-Match` header names `etag` (a list, `*`, or weak forms).
fn matches_etag(if_none_match: &str, etag: &str) -> bool {
    if_none_match
        .split(',')
        .map(str::trim)
        .any(|tag| tag == "*" || tag.strip_prefix("W/").unwrap_or(tag) == etag)
}

fn serve(path: &str, request: &HeaderMap) -> Response {
    let Some(file) = served().get(path) else {
        let shown: String = path.chars().take(80).collect();
        return (
            security_headers(),
            ApiError::new(
                ErrorCode::RouteNotFound,
                format!("the console has no file `{shown}`"),
            ),
        )
            .into_response();
    };
    let etag = file.etag.to_str().unwrap_or_default();
    let fresh = request
        .get(IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| matches_etag(v, etag));
    if fresh {
        return (
            StatusCode::NOT_MODIFIED,
            security_headers(),
            [(ETAG, file.etag.clone())],
        )
            .into_response();
    }
    (
        security_headers(),
        [
            (CONTENT_TYPE, HeaderValue::from_static(file.content_type)),
            (ETAG, file.etag.clone()),
        ],
        file.body,
    )
        .into_response()
}

/// `GET /console`: the console lives under `/console/` (its files are relative to it).
pub(crate) async fn redirect() -> Redirect {
    Redirect::permanent("/console/")
}

/// `GET /console/`: the page.
pub(crate) async fn index(headers: HeaderMap) -> Response {
    serve("index.html", &headers)
}

/// `GET /console/{*path}`: a file of the console, or 404 in the API's shape.
pub(crate) async fn file(Path(path): Path<String>, headers: HeaderMap) -> Response {
    serve(&path, &headers)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files_under(dir: &std::path::Path, prefix: &str, out: &mut Vec<String>) {
        let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{dir:?}: {e}"));
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let path = format!("{prefix}{name}");
            if entry.path().is_dir() {
                files_under(&entry.path(), &format!("{path}/"), out);
            } else {
                out.push(path);
            }
        }
    }

    #[test]
    fn every_file_of_the_console_folder_is_served() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("console");
        let mut files = Vec::new();
        files_under(&root, "", &mut files);
        files.sort();
        let mut listed: Vec<String> = ASSETS.iter().map(|a| a.path.to_owned()).collect();
        listed.sort();
        assert_eq!(files, listed);
    }

    #[test]
    fn the_currency_table_has_the_iso_exponents_the_api_uses() {
        let table: BTreeMap<String, u32> =
            serde_json::from_str(&currencies_json()).unwrap_or_default();
        assert_eq!(table.get("EUR"), Some(&2));
        assert_eq!(table.get("JPY"), Some(&0));
        assert_eq!(table.get("KWD"), Some(&3));
        assert_eq!(table.get("CLP"), Some(&0));
        // Codes the API refuses are absent: no exponent (gold), superseded.
        assert_eq!(table.get("XAU"), None);
        assert!(table.len() > 150, "{}", table.len());
        for (code, exponent) in &table {
            let currency = Currency::parse(code).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(currency.exponent(), *exponent, "{code}");
        }
    }

    #[test]
    fn if_none_match_accepts_lists_weak_tags_and_star() {
        assert!(matches_etag("\"abc\"", "\"abc\""));
        assert!(matches_etag("\"x\", W/\"abc\"", "\"abc\""));
        assert!(matches_etag("*", "\"abc\""));
        assert!(!matches_etag("\"abd\"", "\"abc\""));
        assert!(!matches_etag("", "\"abc\""));
    }
}
