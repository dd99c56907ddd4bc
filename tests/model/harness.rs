//! Runs one history: an empty store (a new SQLite temp file, or the search's PostgreSQL
//! database emptied) on a clock the test moves, the real engine with the two model
//! providers, the merchants' webhook endpoint; each step, then every invariant.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};
use sqlx::Row as _;
use time::macros::datetime;

use refund_gateway::config::Config;
use refund_gateway::domain::{IdempotencyKey, RefundStatus};
use refund_gateway::engine::queue::Drain;
use refund_gateway::engine::{CreateCommand, Engine, EngineError, ResolveCommand};
use refund_gateway::faults::Faults;
use refund_gateway::metrics::Metrics;
use refund_gateway::providers::ProviderRegistry;
use refund_gateway::store::Store;
use refund_provider::clock::FixedClock;
use refund_provider::{Currency, PaymentId, ProviderId, RefundId};

use crate::invariants::{self, Model, Row};
use crate::provider::{lock, money, Made, ModelProvider, RefundMode, SharedWorld, StatusMode};
use crate::receiver::Receiver;
use crate::steps::{Create, Step};

thread_local! {
    /// What the histories run on this thread exercised (a search runs on one thread).
    pub static STATS: std::cell::RefCell<BTreeMap<String, i64>> =
        const { std::cell::RefCell::new(BTreeMap::new()) };
}

fn count(key: &str) {
    STATS.with(|stats| *stats.borrow_mut().entry(key.to_owned()).or_default() += 1);
}

thread_local! {
    /// The PostgreSQL database of this thread's search and its store: made once, emptied
    /// before each history (far cheaper than a database per history), dropped at the end.
    static POSTGRES_DATABASE: std::cell::RefCell<Option<(String, Store)>> =
        const { std::cell::RefCell::new(None) };
}

/// This thread's PostgreSQL database and store, emptied.
async fn postgres_store() -> Result<(String, Store), String> {
    let known = POSTGRES_DATABASE.with(|db| db.borrow().clone());
    let (url, store) = match known {
        Some(known) => known,
        None => {
            let url = refund_test_support::fresh_postgres_database()
                .await
                .ok_or("no PostgreSQL")?;
            let store = Store::connect(&url, 4)
                .await
                .map_err(|e| format!("store: {e}"))?;
            POSTGRES_DATABASE.with(|db| *db.borrow_mut() = Some((url.clone(), store.clone())));
            (url, store)
        }
    };
    empty_postgres(&store).await?;
    Ok((url, store))
}

/// Empties every table but the migrations' (the schema stays, made once): small tables,
/// so row deletes (the refunds last: others refer to them) beat a TRUNCATE's file work.
async fn empty_postgres(store: &Store) -> Result<(), String> {
    let tables: Vec<String> = sqlx::query(
        "SELECT tablename::text AS name FROM pg_tables \
         WHERE schemaname = current_schema() AND tablename <> '_sqlx_migrations'",
    )
    .fetch_all(store.pool())
    .await
    .map_err(|e| format!("list tables: {e}"))?
    .iter()
    .map(|row| row.try_get("name"))
    .collect::<Result<_, _>>()
    .map_err(|e| format!("list tables: {e}"))?;
    let (refunds, others): (Vec<String>, Vec<String>) =
        tables.into_iter().partition(|t| t == "refunds");
    for table in others.iter().chain(&refunds) {
        sqlx::query(&format!("DELETE FROM {table}"))
            .execute(store.pool())
            .await
            .map_err(|e| format!("empty {table}: {e}"))?;
    }
    Ok(())
}

/// Drops this thread's PostgreSQL database, if it made one.
pub async fn drop_postgres_database() {
    let (Some((url, store)), Some(base)) = (
        POSTGRES_DATABASE.with(|db| db.borrow_mut().take()),
        refund_test_support::postgres_url(),
    ) else {
        return;
    };
    store.close().await;
    let Some((_, name)) = url.rsplit_once('/') else {
        return;
    };
    if let Ok(pool) = sqlx::AnyPool::connect(&base).await {
        let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .execute(&pool)
            .await;
        pool.close().await;
    }
}

/// Which store a history runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Db {
    Sqlite,
    Postgres,
}

/// `[sync] give_up_after_hours` in the model's config.
pub const GIVE_UP_MS: i64 = 3_600_000;
/// `[sync] max_retry_ms`.
const MAX_RETRY_MS: i64 = 60_000;

fn config_toml(url: &str, receiver: &str) -> String {
    let provider = |name: &str| {
        format!(
            "[providers.{name}]\nbase_url = \"http://127.0.0.1:9\"\ntimeout_ms = 100\n\
             [providers.{name}.breaker]\nfailures = 1\nopen_ms = 1000\nmax_open_ms = 4000\n"
        )
    };
    format!(
        "[server]\nlisten = \"127.0.0.1:0\"\npublic_base_url = \"http://127.0.0.1:9\"\n\
         request_timeout_ms = 2000\n\n\
         [database]\nurl = \"{url}\"\nmax_connections = 4\n\n\
         [[merchants]]\nid = \"acme\"\napi_key = \"sk_test_acme\"\n\
         webhook_url = \"{receiver}/acme\"\nwebhook_secret = \"whsec_acme\"\n\n\
         [[merchants]]\nid = \"globex\"\napi_key = \"sk_test_globex\"\n\
         webhook_url = \"{receiver}/globex\"\nwebhook_secret = \"whsec_globex\"\n\n\
         [idempotency]\nretention_hours = 1\n\n\
         [sync]\npoll_interval_ms = 1000\nfirst_retry_ms = 1000\nmax_retry_ms = {MAX_RETRY_MS}\n\
         give_up_after_hours = 1\nnot_found_grace_ms = 5000\n\n\
         {}\n{}\n[[routes]]\nprovider = \"plain\"\ncurrency = [\"EUR\"]\n",
        provider("plain"),
        provider("dedup"),
    )
}

/// Everything one history runs on.
struct Harness {
    config: Config,
    clock: Arc<FixedClock>,
    world: SharedWorld,
    store: Store,
    engine: Engine,
    drain: Drain,
    client: reqwest::Client,
    receiver: Receiver,
    model: Model,
    /// Requests made with a key, for retries.
    keyed: Vec<Create>,
    _dir: Option<refund_test_support::TempDir>,
}

/// Runs `history` on a fresh `db` with `plant`'s bugs; `Err` says which invariant broke
/// after which step, and how many steps ran.
pub async fn run_history(
    db: Db,
    history: &[Step],
    plant: fn(&Faults),
) -> Result<(), (usize, String)> {
    let slow = std::env::var_os("MODEL_SLOW").is_some();
    let started = std::time::Instant::now();
    let mut harness = Harness::new(db, plant).await.map_err(|e| (0, e))?;
    let set_up = started.elapsed();
    let result = harness.run(history).await;
    let ran = started.elapsed();
    if db == Db::Sqlite {
        harness.store.close().await;
    }
    if slow {
        println!(
            "history of {} steps: set up {:?}, ran {:?}, closed {:?}",
            history.len(),
            set_up,
            ran - set_up,
            started.elapsed() - ran
        );
    }
    result
}

impl Harness {
    async fn new(db: Db, plant: fn(&Faults)) -> Result<Self, String> {
        let (url, dir, shared) = match db {
            Db::Sqlite => {
                let dir = refund_test_support::TempDir::new("refund-gateway-model-");
                (refund_test_support::sqlite_url(dir.path()), Some(dir), None)
            }
            Db::Postgres => {
                let (url, store) = postgres_store().await?;
                (url, None, Some(store))
            }
        };
        let receiver = Receiver::start().await;
        let config = Config::from_toml(&config_toml(&url, &receiver.base_url))
            .map_err(|e| format!("model config: {e}"))?;
        let clock = FixedClock::at(datetime!(2026-03-16 10:00 UTC));
        let store = match shared {
            None => Store::connect(&url, 4)
                .await
                .map_err(|e| format!("store: {e}"))?,
            Some(mut store) => {
                // This history's own switches, whatever an earlier one planted.
                store.faults = Arc::default();
                store
            }
        }
        .with_clock(clock.clone());
        plant(&store.faults);
        let world = SharedWorld::default();
        let engine = engine(&store, &config, &world);
        Ok(Self {
            config,
            clock,
            world,
            store,
            engine,
            drain: Drain::default(),
            client: reqwest::Client::new(),
            receiver,
            model: Model::default(),
            keyed: Vec::new(),
            _dir: dir,
        })
    }

    async fn run(&mut self, history: &[Step]) -> Result<(), (usize, String)> {
        for (i, step) in history.iter().enumerate() {
            let failed = |e: String| (i + 1, format!("after step {i} ({step:?}): {e}"));
            let started = std::time::Instant::now();
            let result = self.step(step).await;
            if std::env::var_os("MODEL_SLOW").is_some() && started.elapsed().as_millis() > 300 {
                println!("slow step ({} ms): {step:?}", started.elapsed().as_millis());
            }
            if self.store.faults.has_crashed() {
                // The process died at a write in this step: whatever the step reported, a
                // new process takes over the store.
                self.store.faults.recover();
                count("crashes at a store write");
                self.crash();
            } else {
                result.map_err(failed)?;
            }
            let rows = self.rows().await.map_err(failed)?;
            let ledger = self.ledger().await.map_err(failed)?;
            invariants::check(&mut self.model, &rows, &self.world, &ledger).map_err(failed)?;
            self.check_outbox(false).await.map_err(failed)?;
        }
        // The end: every merchant event is delivered, at least once and in order.
        let end = |e: String| (history.len(), format!("at the end: {e}"));
        self.store.faults.recover();
        self.quiesce().await.map_err(end)?;
        self.check_outbox(true).await.map_err(end)?;
        self.tally().await.map_err(end)
    }

    /// Adds what this history exercised to this thread's [`STATS`].
    async fn tally(&self) -> Result<(), String> {
        let mut counts: Vec<(String, i64)> = Vec::new();
        for (sql, prefix) in [
            (
                "SELECT status AS k, COUNT(*) AS n FROM refunds GROUP BY status",
                "refunds ",
            ),
            (
                "SELECT kind AS k, COUNT(*) AS n FROM refund_events GROUP BY kind",
                "events ",
            ),
        ] {
            let rows = sqlx::query(sql)
                .fetch_all(self.store.pool())
                .await
                .map_err(|e| format!("tally: {e}"))?;
            for row in rows {
                let key: String = row.try_get("k").map_err(|e| e.to_string())?;
                let n: i64 = row.try_get("n").map_err(|e| e.to_string())?;
                counts.push((format!("{prefix}{key}"), n));
            }
        }
        let flagged = self.rows().await?.iter().filter(|r| r.attention).count();
        counts.push(("refunds flagged requires_attention".into(), flagged as i64));
        counts.push(("histories".into(), 1));
        STATS.with(|stats| {
            let mut stats = stats.borrow_mut();
            for (key, n) in counts {
                *stats.entry(key).or_default() += n;
            }
        });
        Ok(())
    }

    /// Drops the engine (its breakers, its drain's state) and builds a new one on the same
    /// store, as a restarted process would.
    fn crash(&mut self) {
        count("crashes (engine rebuilt)");
        lock(&self.world).crashed = false;
        self.engine = engine(&self.store, &self.config, &self.world);
        self.drain = Drain::default();
    }

    fn set_modes(&self, refund: RefundMode, status: StatusMode) {
        let mut world = lock(&self.world);
        world.refund_mode = refund;
        world.status_mode = status;
    }

    /// Whether the step's provider call asked for a crash (and clears it).
    fn crashed(&self) -> bool {
        lock(&self.world).crashed
    }

    async fn step(&mut self, step: &Step) -> Result<(), String> {
        match step {
            Step::Create { create, mode } => {
                if create.key.is_some() {
                    self.keyed.push(create.clone());
                }
                self.create(create, *mode).await
            }
            Step::Together {
                first,
                second,
                mode,
            } => {
                self.keyed.extend(
                    [first, second]
                        .into_iter()
                        .filter(|c| c.key.is_some())
                        .cloned(),
                );
                self.create_all(&[first.clone(), second.clone()], *mode)
                    .await
            }
            Step::Retry { nth, mode } => {
                if self.keyed.is_empty() {
                    return Ok(());
                }
                let create = self.keyed[nth % self.keyed.len()].clone();
                self.create(&create, *mode).await
            }
            Step::Sync { refund, status } => {
                self.set_modes(*refund, *status);
                let engine = self.engine.clone();
                let result = tokio::spawn(async move { engine.sync_pass().await }).await;
                self.after(result.map(|r| r.map(|_| ())))
            }
            Step::Advance { ms } => {
                self.clock.advance(time::Duration::milliseconds(*ms));
                Ok(())
            }
            Step::Webhook { nth, keep } => self.webhook(*nth, *keep).await,
            Step::ProviderSettles { nth, fail } => {
                lock(&self.world).settle(*nth, *fail);
                Ok(())
            }
            Step::Outbox { down } => {
                self.receiver.set_down(*down);
                self.engine
                    .outbox_pass(&self.client)
                    .await
                    .map(|_| ())
                    .map_err(|e| format!("outbox pass: {e}"))
            }
            Step::Drain { mode } => self.drain(*mode).await,
            Step::Outage { on } => {
                lock(&self.world).outage = *on;
                Ok(())
            }
            Step::Resolve { nth } => self.resolve(*nth).await,
            Step::Cancel { nth } => self.cancel(*nth).await,
            Step::Settle { nth } => self.settle(*nth).await,
            Step::Crash => {
                self.crash();
                Ok(())
            }
            Step::CrashAfterWrites { writes } => {
                self.store.faults.crash_after(i64::from(*writes));
                Ok(())
            }
            Step::GiveUp => self.give_up().await,
        }
    }

    /// The outcome of an engine call run in a task of its own: a panic (the model's crash)
    /// rebuilds the engine; an error is a failure unless the step crashed.
    fn after(
        &mut self,
        result: Result<Result<(), EngineError>, tokio::task::JoinError>,
    ) -> Result<(), String> {
        match result {
            Err(_) => {
                self.crash();
                Ok(())
            }
            Ok(Err(_)) if self.crashed() => {
                self.crash();
                Ok(())
            }
            // The process died at a store write: `run` restarts it after the step.
            Ok(Err(_)) if self.store.faults.has_crashed() => Ok(()),
            Ok(Err(e)) => Err(format!("engine error: {e}")),
            Ok(Ok(())) => Ok(()),
        }
    }

    async fn create(&mut self, create: &Create, mode: RefundMode) -> Result<(), String> {
        self.create_all(std::slice::from_ref(create), mode).await
    }

    /// Sends `creates` at once (each in a task of its own), the provider treating every
    /// call as `mode` says.
    async fn create_all(&mut self, creates: &[Create], mode: RefundMode) -> Result<(), String> {
        self.set_modes(mode, StatusMode::Truthful);
        let before: BTreeSet<(String, String)> = self.model.payments.keys().cloned().collect();
        let tasks: Vec<_> = creates
            .iter()
            .map(|create| {
                let merchant = self.config.merchants[usize::from(create.merchant)].clone();
                let command = command(create);
                let engine = self.engine.clone();
                tokio::spawn(async move { engine.create_refund(&merchant, command).await })
            })
            .collect();
        let mut results = Vec::new();
        for task in tasks {
            results.push(task.await);
        }
        // A crash in one request's call is the whole process's: every request then in
        // flight dies with it.
        let died = results.iter().any(Result::is_err) || self.crashed();
        let mut failure = None;
        for result in results {
            match result {
                Ok(Ok(_))
                | Ok(Err(
                    EngineError::PaymentNotFound
                    | EngineError::AmountExceedsRefundable { .. }
                    | EngineError::PaymentAmountMismatch { .. }
                    | EngineError::IdempotencyInProgress
                    | EngineError::IdempotencyKeyReused
                    | EngineError::InvalidRequest { .. },
                ))
                | Err(_) => {}
                Ok(Err(_)) if died || self.store.faults.has_crashed() => {}
                Ok(Err(e)) => {
                    failure.get_or_insert(format!("engine error: {e}"));
                }
            }
        }
        if died {
            self.crash();
        }
        // The first refund of a payment decides whether its captured amount was known from
        // the start (only then must the refundable hold for every refund of it); of requests
        // sent at once, only if each of them gave it.
        let known = creates.iter().all(|c| c.payment_amount);
        let rows = self.rows().await?;
        for row in &rows {
            let key = (row.provider.clone(), row.payment_id.clone());
            if !before.contains(&key) {
                self.model
                    .payments
                    .entry(key)
                    .or_insert((row.merchant_id.clone(), known));
            }
        }
        failure.map_or(Ok(()), Err)
    }

    async fn webhook(&mut self, nth: usize, keep: bool) -> Result<(), String> {
        let webhook = {
            let mut world = lock(&self.world);
            if world.webhooks.is_empty() {
                return Ok(());
            }
            let at = nth % world.webhooks.len();
            if keep {
                world.webhooks[at].clone()
            } else {
                world.webhooks.remove(at)
            }
        };
        let (provider, webhook) = webhook;
        count("provider webhooks delivered");
        self.engine
            .apply_webhook(
                &ProviderId::from_static(provider),
                "default".to_owned(),
                webhook,
            )
            .await
            .map(|_| ())
            .map_err(|e| format!("webhook: {e}"))
    }

    async fn drain(&mut self, mode: RefundMode) -> Result<(), String> {
        self.set_modes(mode, StatusMode::Truthful);
        self.engine
            .drain_pass(&mut self.drain, Duration::from_secs(1))
            .await
            .map_err(|e| format!("drain pass: {e}"))?;
        if self.drain.settle().await > 0 || self.crashed() {
            self.crash();
        }
        Ok(())
    }

    /// An operator looks the refund up at the provider and resolves it as it stands there
    /// (a processing one is left alone).
    async fn resolve(&mut self, nth: usize) -> Result<(), String> {
        let open: Vec<Row> = self
            .rows()
            .await?
            .into_iter()
            .filter(|r| !r.status.is_final())
            .collect();
        if open.is_empty() {
            return Ok(());
        }
        let refund = &open[nth % open.len()];
        let made = lock(&self.world)
            .applied
            .get(&(refund.provider.clone(), refund.reference.clone()))
            .cloned();
        let command = match made {
            Some(made) if made.status == Made::Processing => return Ok(()),
            Some(made) if made.status == Made::Succeeded => ResolveCommand::new(
                RefundStatus::Succeeded,
                "the provider's dashboard shows it paid".into(),
                Some(made.provider_refund_id.clone()),
                refund
                    .amount_minor
                    .is_none()
                    .then(|| money(made.amount_minor)),
            ),
            _ => ResolveCommand::new(
                RefundStatus::Failed,
                "the provider has no such refund".into(),
                None,
                None,
            ),
        };
        let id = RefundId::parse(&refund.id).map_err(|e| e.to_string())?;
        match self.engine.resolve(&id, "finance", &command).await {
            Ok(_) | Err(EngineError::RefundFinal { .. } | EngineError::InvalidRequest { .. }) => {
                Ok(())
            }
            Err(e) => Err(format!("resolve: {e}")),
        }
    }

    async fn settle(&mut self, nth: usize) -> Result<(), String> {
        let rows = self.rows().await?;
        let listed: Vec<String> = {
            let world = lock(&self.world);
            rows.into_iter()
                .filter(|r| {
                    r.status == RefundStatus::Succeeded
                        && world
                            .applied
                            .get(&(r.provider.clone(), r.reference.clone()))
                            .is_some_and(|m| m.status == Made::Succeeded)
                })
                .map(|r| r.id)
                .collect()
        };
        if listed.is_empty() {
            return Ok(());
        }
        count("settlements");
        let id = listed[nth % listed.len()].clone();
        self.store
            .settle(&[id], self.store.now())
            .await
            .map(|_| ())
            .map_err(|e| format!("settle: {e}"))
    }

    async fn cancel(&mut self, nth: usize) -> Result<(), String> {
        let queued: Vec<Row> = self
            .rows()
            .await?
            .into_iter()
            .filter(|r| r.queued)
            .collect();
        if queued.is_empty() {
            return Ok(());
        }
        let refund = &queued[nth % queued.len()];
        let id = RefundId::parse(&refund.id).map_err(|e| e.to_string())?;
        match self.engine.cancel(&id, &refund.merchant_id).await {
            Ok(_) | Err(EngineError::RefundFinal { .. } | EngineError::RefundSent) => Ok(()),
            Err(e) => Err(format!("cancel: {e}")),
        }
    }

    /// Past the give-up, with healthy providers: a few rounds of drain and sync, then every
    /// refund older than the give-up is final or flagged.
    async fn give_up(&mut self) -> Result<(), String> {
        if self.store.faults.has_crashed() {
            self.crash();
        }
        self.store.faults.recover();
        lock(&self.world).outage = false;
        self.clock
            .advance(time::Duration::milliseconds(GIVE_UP_MS + 1_000));
        for _ in 0..4 {
            self.clock
                .advance(time::Duration::milliseconds(MAX_RETRY_MS + 5_000));
            self.drain(RefundMode::Succeed).await?;
            self.set_modes(RefundMode::Succeed, StatusMode::Truthful);
            let engine = self.engine.clone();
            let result = tokio::spawn(async move { engine.sync_pass().await }).await;
            self.after(result.map(|r| r.map(|_| ())))?;
        }
        let now = self.store.now();
        count("give-up checks");
        for row in self.rows().await? {
            if now - row.created_at > GIVE_UP_MS && !row.status.is_final() && !row.attention {
                return Err(format!(
                    "refund {} is still {} and not flagged {} ms after it was made (give-up {GIVE_UP_MS} ms)",
                    row.id,
                    row.status,
                    now - row.created_at
                ));
            }
        }
        Ok(())
    }

    /// Until every merchant event is delivered: endpoint up, clock on, outbox passes.
    async fn quiesce(&mut self) -> Result<(), String> {
        self.receiver.set_down(false);
        for _ in 0..12 {
            self.clock.advance(time::Duration::hours(2));
            self.engine
                .outbox_pass(&self.client)
                .await
                .map_err(|e| format!("outbox pass: {e}"))?;
        }
        Ok(())
    }

    async fn rows(&self) -> Result<Vec<Row>, String> {
        invariants::rows(&self.store).await
    }

    async fn ledger(&self) -> Result<Vec<(Option<String>, String, i64)>, String> {
        invariants::ledger(&self.store).await
    }

    /// Merchant events: each refund's events arrive in the order they were written, each at
    /// least once; at the end (`all`), every event was delivered and every final refund's
    /// event was written.
    async fn check_outbox(&self, all: bool) -> Result<(), String> {
        let outbox = invariants::outbox(&self.store).await?;
        let received = self.receiver.received();
        let mut firsts: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let mut seen = BTreeSet::new();
        for body in &received {
            let event = body["id"].as_str().unwrap_or_default().to_owned();
            let refund = body["data"]["id"].as_str().unwrap_or_default().to_owned();
            if seen.insert(event.clone()) {
                firsts.entry(refund).or_default().push(event);
            }
        }
        let mut written: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (event, refund, _, _) in &outbox {
            written
                .entry(refund.clone())
                .or_default()
                .push(event.clone());
        }
        for (refund, delivered) in &firsts {
            let expected = written.get(refund).map(Vec::as_slice).unwrap_or_default();
            if !expected.starts_with(delivered) {
                return Err(format!(
                    "merchant events of refund {refund} arrived as {delivered:?}, written as {expected:?}"
                ));
            }
        }
        if all {
            for (event, refund, kind, _) in &outbox {
                if !seen.contains(event) {
                    return Err(format!(
                        "merchant event {event} ({kind}) of refund {refund} was never delivered"
                    ));
                }
            }
            for row in self.rows().await? {
                if row.status.is_final() {
                    let kind = format!("refund.{}", row.status);
                    if !outbox.iter().any(|(_, r, k, _)| *r == row.id && *k == kind) {
                        return Err(format!(
                            "refund {} is {} but no {kind} event was written",
                            row.id, row.status
                        ));
                    }
                }
            }
        }
        Ok(())
    }
}

/// The engine's command for a model request.
fn command(create: &Create) -> CreateCommand {
    CreateCommand {
        payment_id: PaymentId::parse(&format!("pay_{}", create.payment)).expect("payment id"),
        amount: create.amount.map(money),
        payment_amount: create
            .payment_amount
            .then(|| money(crate::provider::CAPTURED)),
        currency: Currency::parse("EUR").expect("EUR"),
        reason: None,
        reference: None,
        customer_id: None,
        metadata: json!({}),
        provider: Some(create.provider.name().to_owned()),
        provider_options: Value::Null,
        idempotency_key: create
            .key
            .and_then(|k| IdempotencyKey::parse(&format!("key-{k}"))),
        fingerprint: format!(
            "{}/{}/{:?}/{}/{:?}",
            create.merchant, create.payment, create.amount, create.payment_amount, create.provider
        ),
    }
}

fn engine(store: &Store, config: &Config, world: &SharedWorld) -> Engine {
    let mut registry = ProviderRegistry::default();
    registry.insert(ModelProvider::plain(world.clone()));
    registry.insert(ModelProvider::dedup(world.clone()));
    Engine::from_parts(
        store.clone(),
        Arc::new(Metrics::default()),
        config.clone(),
        registry,
    )
}
