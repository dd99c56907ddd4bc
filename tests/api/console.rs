//! The console's files as the gateway serves them: content types, the security and cache
//! headers, revalidation by ETag, the redirect, and 404s in the API's error shape.

use crate::helpers::{assert_error, fake, spawn_app, Db, Script};

const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
     connect-src 'self'; font-src 'self'; form-action 'none'; base-uri 'none'; frame-ancestors 'none'";

fn header<'a>(response: &'a reqwest::Response, name: &str) -> &'a str {
    response
        .headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
}

fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap_or_else(|e| panic!("{e}"))
}

#[tokio::test]
async fn console_files_are_served_with_their_types_and_security_headers() {
    let Some(app) = spawn_app(Db::Sqlite, fake(Script::Succeed)).await else {
        return;
    };
    for (path, content_type) in [
        ("/console/", "text/html; charset=utf-8"),
        ("/console/style.css", "text/css; charset=utf-8"),
        ("/console/js/app.js", "text/javascript; charset=utf-8"),
        (
            "/console/js/views/refund.js",
            "text/javascript; charset=utf-8",
        ),
        ("/console/favicon.svg", "image/svg+xml"),
        ("/console/currencies.json", "application/json"),
    ] {
        let response = app.get("", path).await;
        assert_eq!(response.status().as_u16(), 200, "{path}");
        assert_eq!(header(&response, "content-type"), content_type, "{path}");
        assert_eq!(header(&response, "content-security-policy"), CSP, "{path}");
        assert_eq!(
            header(&response, "x-content-type-options"),
            "nosniff",
            "{path}"
        );
        assert_eq!(header(&response, "x-frame-options"), "DENY", "{path}");
        assert_eq!(
            header(&response, "referrer-policy"),
            "no-referrer",
            "{path}"
        );
        assert_eq!(header(&response, "cache-control"), "no-cache", "{path}");
        assert!(header(&response, "etag").starts_with('"'), "{path}");
        assert!(
            !response.bytes().await.unwrap_or_default().is_empty(),
            "{path}"
        );
    }
    let page = app
        .get("", "/console/")
        .await
        .text()
        .await
        .unwrap_or_default();
    assert!(page.contains(r#"<script type="module" src="js/app.js"></script>"#));
    assert!(!page.contains("<script>"), "no inline script");
    assert!(!page.contains("style="), "no inline style");
    let currencies: serde_json::Value = app
        .get("", "/console/currencies.json")
        .await
        .json()
        .await
        .unwrap_or_default();
    assert_eq!(currencies["KWD"], 3);
    assert_eq!(currencies["JPY"], 0);
}

#[tokio::test]
async fn a_browser_revalidates_console_files_by_etag() {
    let Some(app) = spawn_app(Db::Sqlite, fake(Script::Succeed)).await else {
        return;
    };
    let first = app.get("", "/console/js/app.js").await;
    let etag = header(&first, "etag").to_owned();
    let again = app
        .client
        .get(format!("{}/console/js/app.js", app.address))
        .header("If-None-Match", &etag)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(again.status().as_u16(), 304);
    assert_eq!(header(&again, "etag"), etag);
    assert_eq!(header(&again, "x-content-type-options"), "nosniff");
    assert!(again.bytes().await.unwrap_or_default().is_empty());
    let other = app
        .client
        .get(format!("{}/console/js/api.js", app.address))
        .header("If-None-Match", &etag)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        other.status().as_u16(),
        200,
        "another file's tag is not a match"
    );
}

#[tokio::test]
async fn console_without_a_slash_redirects_and_unknown_console_paths_are_api_404s() {
    let Some(app) = spawn_app(Db::Sqlite, fake(Script::Succeed)).await else {
        return;
    };
    let redirect = no_redirects()
        .get(format!("{}/console", app.address))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(redirect.status().as_u16(), 308);
    assert_eq!(header(&redirect, "location"), "/console/");
    for path in [
        "/console/nope.js",
        "/console/js/",
        "/console/index.html/x",
        "/console/%2Fetc%2Fpasswd",
    ] {
        let response = app.get("", path).await;
        assert_eq!(
            header(&response, "x-content-type-options"),
            "nosniff",
            "{path}"
        );
        assert_error(response, 404, "route_not_found").await;
    }
    // Dot segments are resolved by the client (URL rules) before the request is sent.
    for path in ["/console/js/../../Cargo.toml", "/console/%2e%2e/Cargo.toml"] {
        assert_error(app.get("", path).await, 404, "route_not_found").await;
    }
    let post = app
        .client
        .post(format!("{}/console/", app.address))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_error(post, 405, "method_not_allowed").await;
}
