//! Where a TOML syntax error is, as a key path. A file that does not parse has no values to
//! type, so this is the one place the text itself is read: the error's position, the last
//! section header above it and the key on its line.

use std::collections::BTreeMap;

/// Names the key a TOML syntax error is about, from the error's position in `text`.
pub(crate) fn error_key(text: &str, error: &toml::de::Error) -> String {
    let Some(span) = error.span() else {
        return "(config)".to_owned();
    };
    let before = text.get(..span.start).unwrap_or("");
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let line = text
        .get(line_start..)
        .and_then(|rest| rest.lines().next())
        .unwrap_or("");
    let section = section_at(before.get(..line_start).unwrap_or(""));
    let key = line.split('=').next().map(str::trim).unwrap_or("");
    match (section.is_empty(), key.is_empty() || key.starts_with('[')) {
        (true, true) => "(config)".to_owned(),
        (true, false) => key.to_owned(),
        (false, true) => section,
        (false, false) => format!("{section}.{key}"),
    }
}

/// The section the end of `text` is in: its last `[name]`, or `[[name]]` with its index.
fn section_at(text: &str) -> String {
    let mut section = String::new();
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for header in text.lines().map(str::trim) {
        if let Some(name) = header.strip_prefix("[[").and_then(|s| s.strip_suffix("]]")) {
            let name = name.trim().to_owned();
            let index = counts.entry(name.clone()).or_insert(0);
            section = format!("{name}[{index}]");
            *index += 1;
        } else if let Some(name) = header.strip_prefix('[').and_then(|s| s.strip_suffix(']')) {
            section = name.trim().to_owned();
        }
    }
    section
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key_of(text: &str) -> String {
        let error = text.parse::<toml::Table>().expect_err("syntax error");
        error_key(text, &error)
    }

    #[test]
    fn a_syntax_error_is_named_by_its_section_and_key() {
        assert_eq!(key_of("[server]\nlisten = \n"), "server.listen");
        assert_eq!(
            key_of("[[merchants]]\nid = \"a\"\n[[merchants]]\nid = \n"),
            "merchants[1].id"
        );
        assert_eq!(key_of("listen = = 1\n"), "listen");
    }
}
