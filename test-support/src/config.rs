//! The sections every test's gateway config starts with, as TOML text: `[server]`,
//! `[database]` and one `[[merchants]]` entry. Each builder takes the extra lines of its
//! section, so a test's config reads as these calls plus its own sections.

/// `[server]` listening on `listen`, then `lines`.
pub fn server(listen: &str, lines: &str) -> String {
    format!("[server]\nlisten = \"{listen}\"\n{lines}\n")
}

/// `[database]` at `url`, then `lines`.
pub fn database(url: &str, lines: &str) -> String {
    format!("[database]\nurl = \"{url}\"\n{lines}\n")
}

/// A `[[merchants]]` entry with `id` and `api_key`, then `lines`.
pub fn merchant(id: &str, api_key: &str, lines: &str) -> String {
    format!("[[merchants]]\nid = \"{id}\"\napi_key = \"{api_key}\"\n{lines}\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sections_are_the_lines_a_config_file_would_hold() {
        assert_eq!(
            server("127.0.0.1:0", "request_timeout_ms = 10000"),
            "[server]\nlisten = \"127.0.0.1:0\"\nrequest_timeout_ms = 10000\n"
        );
        assert_eq!(
            database("sqlite://x", ""),
            "[database]\nurl = \"sqlite://x\"\n\n"
        );
        assert_eq!(
            merchant("acme", "sk", "providers = []"),
            "[[merchants]]\nid = \"acme\"\napi_key = \"sk\"\nproviders = []\n"
        );
    }
}
