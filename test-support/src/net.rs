//! Loopback ports for servers that must be told their port before they start (a gateway
//! child process, chromedriver).

/// A free loopback port (bound, read and released: another process may take it first,
/// which is rare enough for tests).
///
/// # Panics
/// When no port can be bound.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("free port: {e}"))
}
