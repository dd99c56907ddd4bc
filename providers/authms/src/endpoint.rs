//! AuthMS's URLs: the configured base URL with path segments appended, each
//! percent-encoded as one segment, so that a user id from a request never leaves its
//! segment (`a/b` is `a%2Fb`, not two segments).

use reqwest::Url;

/// `base` with `segments` appended, each percent-encoded as one path segment.
pub(crate) fn endpoint(base: &Url, segments: &[&str]) -> Url {
    let mut url = base.clone();
    if let Ok(mut path) = url.path_segments_mut() {
        path.pop_if_empty().extend(segments);
    }
    url
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_percent_encode_the_user_id() {
        let base = Url::parse("http://127.0.0.1:1/base/").expect("url");
        assert_eq!(
            endpoint(&base, &["wallets", "a/b?c#d%", "refund"]).as_str(),
            "http://127.0.0.1:1/base/wallets/a%2Fb%3Fc%23d%25/refund"
        );
    }
}
