//! The `refund-gateway` command line.
fn main() {
    println!("refund-gateway {}", env!("CARGO_PKG_VERSION"));
}
