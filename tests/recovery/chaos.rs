//! Chaos: a few hundred refunds through AuthMS and eFundPay simulators injecting random
//! faults (5xx, hangs, answers lost after applying), clients retrying with their idempotency
//! keys, and one SIGKILL + restart of the gateway mid-run. At the end every refund is final
//! or explainably pending, the simulators' effects match the gateway's succeeded refunds one
//! to one, and nothing was paid twice.
//!
//! `CHAOS_REFUNDS` sets the number of refunds (default 200; run a larger one with
//! `CHAOS_REFUNDS=2000 cargo test --test recovery chaos -- --nocapture`).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::chaos_kit::{
    answered_id, assert_each_succeeded_refund_paid_once, env_count, ids_where, is_open,
    send_until_answered, wait_until_settled, Simulators,
};
use crate::harness::{database_url, temp_dir, Gateway};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chaos_with_faults_retries_and_a_crash_pays_nothing_twice() {
    let total = env_count("CHAOS_REFUNDS", 200);
    let seed: u64 = std::env::var("CHAOS_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0x5eed_cafe);
    let started = Instant::now();
    let dir = temp_dir();
    let db = database_url(&dir, false).await.expect("sqlite");
    let sims = Simulators::start().await;
    let mut gateway = Gateway::start(&dir, &db, &sims.providers_toml()).await;
    let client = reqwest::Client::new();

    let faults = sims.inject_random_faults(&client, seed);
    let run = send_all_restarting_once(&mut gateway, &client, total).await;
    sims.calm(faults);
    let refunds = wait_until_settled(&gateway, &client, Duration::from_secs(30), |refunds| {
        !refunds.iter().any(is_open)
    })
    .await;
    gateway.kill().await;

    let by_status = assert_one_refund_per_key(&run, &refunds, total);
    let effects = assert_effects_match_succeeded_or_open_refunds(&sims, &refunds);
    println!(
        "chaos: {total} refunds, statuses {by_status:?}, {} client retries, {} provider effects, seed {seed}, {:.1} s",
        run.retries,
        effects,
        started.elapsed().as_secs_f64()
    );
}

/// What the clients saw.
struct ClientRun {
    /// The refund id each answered client was given, by refund number.
    ids: BTreeMap<usize, String>,
    /// Clients that never got a definite answer.
    lost: usize,
    retries: usize,
}

/// Sends `total` refunds in two halves, 16 at a time, each client retrying until answered;
/// once a quarter of them are under way the gateway is SIGKILLed and restarted while
/// requests are in flight.
async fn send_all_restarting_once(
    gateway: &mut Gateway,
    client: &reqwest::Client,
    total: usize,
) -> ClientRun {
    let retries = Arc::new(AtomicUsize::new(0));
    let url = gateway.url.clone();
    let mut run = ClientRun {
        ids: BTreeMap::new(),
        lost: 0,
        retries: 0,
    };
    let mut restarted = false;
    for half in [0..total / 2, total / 2..total] {
        let mut tasks = Vec::new();
        let first_half = half.start == 0;
        for chunk in half.collect::<Vec<_>>().chunks(16) {
            for &i in chunk {
                let (client, url, retries) = (client.clone(), url.clone(), retries.clone());
                tasks.push(tokio::spawn(async move {
                    (i, send_until_answered(&client, &[url], i, &retries).await)
                }));
            }
            if first_half && tasks.len() >= total / 4 && !restarted {
                // Mid-run: SIGKILL and restart while requests are in flight.
                restarted = true;
                gateway.restart().await;
            }
        }
        for task in tasks {
            let (i, answer) = task.await.expect("client task");
            match answered_id(answer) {
                Some(id) => {
                    run.ids.insert(i, id);
                }
                None => run.lost += 1,
            }
        }
    }
    run.retries = retries.load(Ordering::Relaxed);
    run
}

/// Every client was answered, with a refund that exists, and there is one refund per
/// idempotency key; the refunds counted by status.
fn assert_one_refund_per_key(
    run: &ClientRun,
    refunds: &[Value],
    total: usize,
) -> BTreeMap<String, usize> {
    assert_eq!(run.lost, 0, "every client got a definite answer");
    assert_eq!(refunds.len(), total, "one refund per idempotency key");
    let ids = ids_where(refunds, |_| true);
    assert_eq!(ids.len(), total);
    for id in run.ids.values() {
        assert!(
            ids.contains(id.as_str()),
            "the id a client was given exists"
        );
    }
    let mut by_status: BTreeMap<String, usize> = BTreeMap::new();
    for r in refunds {
        *by_status
            .entry(r["status"].as_str().unwrap_or("?").to_owned())
            .or_default() += 1;
    }
    by_status
}

/// Nothing paid twice, one effect per succeeded refund, and no effect without a succeeded
/// (or still open) refund; the number of effects.
fn assert_effects_match_succeeded_or_open_refunds(sims: &Simulators, refunds: &[Value]) -> usize {
    let succeeded = ids_where(refunds, |r| r["status"] == "succeeded");
    let open: BTreeSet<&str> = ids_where(refunds, is_open);
    let effects = sims.effects();
    assert_each_succeeded_refund_paid_once(&effects, &succeeded);
    for reference in effects.keys() {
        assert!(
            succeeded.contains(reference.as_str()) || open.contains(reference.as_str()),
            "effect {reference} at a provider without a succeeded (or still open) refund"
        );
    }
    effects.len()
}
