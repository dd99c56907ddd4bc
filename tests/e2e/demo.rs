//! The `refund-gateway demo` tour, run in-process: the embedded default with in-process
//! simulators (`base_url = "sandbox"`), every step behaving.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_tour_behaves_at_every_step_on_the_embedded_default() {
    let report = refund_gateway::cli::demo::run()
        .await
        .expect("the demo runs");
    let table = report.render();
    assert!(report.passed(), "{table}");
    assert!(report.steps.len() >= 8, "{table}");
    assert!(
        !report.database_dir.exists(),
        "the temporary directory {} is removed afterwards",
        report.database_dir.display()
    );
}
