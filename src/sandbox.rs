//! `refund-gateway sandbox`: the three provider simulators standalone, for testing other
//! clients against them: AuthMS on PORT, e-Buy on PORT+1, eFundPay on PORT+2.

use std::net::SocketAddr;

use tokio::net::TcpListener;

async fn bind(port: u16) -> std::io::Result<TcpListener> {
    TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], port))).await
}

/// Runs until Ctrl-C.
pub async fn run_standalone(listen_base: u16) -> std::io::Result<()> {
    let authms =
        provider_authms::sandbox::Sandbox::start(bind(listen_base).await?, Default::default())
            .await?;
    let ebuy = provider_ebuy::sandbox::Sandbox::start(
        bind(listen_base.saturating_add(1)).await?,
        Default::default(),
    )
    .await?;
    let efundpay = provider_efundpay::sandbox::Sandbox::start(
        bind(listen_base.saturating_add(2)).await?,
        Default::default(),
    )
    .await?;
    println!("provider simulators (credentials in DESIGN §12 and each provider's README):");
    println!(
        "  authms    {}   token sandbox-authms-token",
        authms.base_url()
    );
    println!(
        "  ebuy      {}   appId sandbox-app, secret sandbox-ebuy-secret",
        ebuy.base_url()
    );
    println!("  efundpay  {}   token sandbox-efundpay-token, merchant sandbox-merchant, webhook secret sandbox-efundpay-whsec", efundpay.base_url());
    println!("  faults:   POST <url>/_sandbox/faults   effects: GET <url>/_sandbox/effects");
    tokio::signal::ctrl_c().await?;
    Ok(())
}
