//! The texts of PostgreSQL's create statements, built for each step's shape (idempotency
//! key or not, payment claim or not, merchant event or not).

use super::CreateStep;
use crate::store::refunds::REFUND_COLUMNS;

/// The text PostgreSQL reports when the single statement undid itself (see
/// [`single_statement_sql`]).
pub(super) const ROLLED_BACK: &str = "refund not inserted: the statement is rolled back";

/// The column types of `REFUND_COLUMNS`, in order, for the casts of the fast path's
/// parameters (PostgreSQL cannot infer a parameter's type inside `INSERT … SELECT`).
const REFUND_COLUMN_TYPES: [&str; 28] = [
    "text", "text", "text", "text", "text", "text", "text", "text", "bigint", "text", "text",
    "text", "text", "text", "text", "text", "text", "text", "text", "bigint", "text", "bigint",
    "bigint", "bigint", "bigint", "bigint", "text", "bigint",
];

/// The refund's columns as typed parameters (`$1::text`, …, in `REFUND_COLUMN_TYPES`'
/// order, as `bind_refund` binds them), and the numbering of the parameters after them:
/// counted from the list, so a column added later cannot make the next parameters read the
/// refund's last columns (as `$27` once did).
fn refund_parameters() -> (Vec<String>, impl FnMut() -> String) {
    let values = REFUND_COLUMN_TYPES
        .iter()
        .enumerate()
        .map(|(i, kind)| format!("${}::{kind}", i + 1))
        .collect();
    let mut next = REFUND_COLUMN_TYPES.len() + 1;
    let param = move || {
        let n = next;
        next += 1;
        format!("${n}")
    };
    (values, param)
}

/// The fast path's statement for this step's shape (idempotency key or not, payment claim
/// or not, merchant event or not). Parameters: `$1`-`$28` the refund's columns, then the
/// key's `idem_key, fingerprint, expires_at`, the `payment_amount`, the creation event's
/// detail, and the merchant event's `event_id, payload`.
pub(super) fn fast_create_sql(step: &CreateStep) -> String {
    let (values, mut param) = refund_parameters();
    let mut ctes = Vec::new();
    let mut conditions = Vec::new();
    // Parameters are numbered in binding order (key, then payment amount); the statements
    // run payment first, then key, as the one-statement path does: two creates of one
    // payment with one key would otherwise take the two locks in opposite orders and
    // deadlock (found by the model test, two requests at once).
    let key_params = step.claim.is_some().then(|| (param(), param(), param()));
    let payment_select = if step.payment.is_some() {
        let amount = param();
        ctes.push(format!(
            "pay AS (INSERT INTO payments (provider, account, payment_id, merchant_id, currency, amount_minor, created_at, updated_at) \
             VALUES ($3, $4, $7, $2, $10, {amount}::bigint, $23, $23) \
             ON CONFLICT (provider, account, payment_id) DO UPDATE SET \
               amount_minor = COALESCE(payments.amount_minor, excluded.amount_minor), \
               updated_at = excluded.updated_at \
             RETURNING merchant_id, currency, amount_minor)"
        ));
        conditions.push(
            "EXISTS (SELECT 1 FROM pay WHERE pay.merchant_id = $2 AND pay.currency = $10 \
             AND pay.amount_minor IS NULL)"
                .to_owned(),
        );
        "(SELECT merchant_id FROM pay) AS owner, (SELECT currency FROM pay) AS payment_currency, \
         (SELECT amount_minor FROM pay) AS captured"
    } else {
        "NULL AS owner, NULL AS payment_currency, NULL AS captured"
    };
    if let Some((key, fingerprint, expires)) = key_params {
        // The upsert always returns the payment row: gating the key on it changes nothing
        // but the order.
        let after_payment = if step.payment.is_some() {
            " WHERE EXISTS (SELECT 1 FROM pay)"
        } else {
            ""
        };
        ctes.push(format!(
            "claim AS (INSERT INTO idempotency_keys (merchant_id, idem_key, fingerprint, refund_id, created_at, expires_at) \
             SELECT $2, {key}, {fingerprint}, $1, $23, {expires}{after_payment} \
             ON CONFLICT (merchant_id, idem_key) DO UPDATE SET \
               fingerprint = excluded.fingerprint, refund_id = excluded.refund_id, \
               response_status = NULL, response_body = NULL, \
               created_at = excluded.created_at, expires_at = excluded.expires_at \
             WHERE idempotency_keys.expires_at <= excluded.created_at RETURNING 1 AS one)"
        ));
        conditions.insert(0, "EXISTS (SELECT 1 FROM claim)".to_owned());
    }
    let condition = if conditions.is_empty() {
        String::new()
    } else {
        format!(" WHERE {}", conditions.join(" AND "))
    };
    ctes.push(format!(
        "ins AS (INSERT INTO refunds ({REFUND_COLUMNS}) SELECT {}{condition} \
         ON CONFLICT DO NOTHING RETURNING id)",
        values.join(", ")
    ));
    let detail = param();
    ctes.push(format!(
        "created AS (INSERT INTO refund_events (refund_id, kind, status, previous_status, source, detail, created_at) \
         SELECT id, 'created', 'pending', NULL, 'api', {detail}::text, $23::bigint FROM ins)"
    ));
    if step.emit_created {
        let (event_id, payload) = (param(), param());
        ctes.push(format!(
            "announced AS (INSERT INTO outbox (event_id, merchant_id, refund_id, event_type, payload, created_at, next_attempt_at) \
             SELECT {event_id}::text, $2::text, id, 'refund.created', {payload}::text, $23::bigint, $23::bigint FROM ins)"
        ));
    }
    let claimed = if step.claim.is_some() {
        "(SELECT COUNT(*) FROM claim)"
    } else {
        "1"
    };
    format!(
        "WITH {} SELECT {claimed} AS claimed, (SELECT COUNT(*) FROM ins) AS inserted, {payment_select}",
        ctes.join(", ")
    )
}

/// The create step as ONE statement run outside any transaction block (PostgreSQL commits
/// it on its own: one round trip and one commit, against three round trips for BEGIN, the
/// statement and COMMIT). Every write in it is conditional, so it writes all or nothing:
///
/// - `live`: whether the idempotency key is taken and unexpired in the statement's snapshot
///   (a replay: nothing below runs, `key_live` says so);
/// - `pay`: creates the payment row (this merchant's, this currency, captured amount
///   unknown) or, for an existing one that is this merchant's in this currency with no
///   captured amount (nothing to count), touches it, which also takes its row lock; any other
///   payment writes nothing and the caller goes the transactional way;
/// - `claim`, `ins`, `created`, `announced`: the key, the refund, its creation event and its
///   merchant event, each only if the one before it wrote;
/// - if a write happened and the refund was still not inserted (another request took the
///   key or the merchant's reference between the snapshot and the write), the final SELECT
///   fails on purpose with [`ROLLED_BACK`], which undoes the whole statement: nothing
///   written, the caller goes the transactional way and reports what it finds.
///
/// Parameters: `$1`-`$28` the refund's columns (`REFUND_COLUMN_TYPES`, as `bind_refund`
/// binds them), then the key's `idem_key, fingerprint, expires_at`, the creation event's
/// detail, and the merchant event's `event_id, payload`.
pub(super) fn single_statement_sql(step: &CreateStep) -> String {
    let (values, mut param) = refund_parameters();
    let mut ctes = Vec::new();
    // The condition for the next write: the writes happen in chain order.
    let mut gate = "TRUE".to_owned();
    let mut first_write = None;
    let mut key_params = None;
    if step.claim.is_some() {
        let (key, fingerprint, expires) = (param(), param(), param());
        ctes.push(format!(
            "live AS (SELECT 1 AS one FROM idempotency_keys              WHERE merchant_id = $2 AND idem_key = {key} AND expires_at > $23::bigint)"
        ));
        gate = "NOT EXISTS (SELECT 1 FROM live)".to_owned();
        key_params = Some((key, fingerprint, expires));
    }
    if step.payment.is_some() {
        ctes.push(format!(
            "pay AS (INSERT INTO payments (provider, account, payment_id, merchant_id, currency, amount_minor, created_at, updated_at)              SELECT $3, $4, $7, $2, $10, NULL, $23, $23 WHERE {gate}              ON CONFLICT (provider, account, payment_id) DO UPDATE SET updated_at = excluded.updated_at              WHERE payments.merchant_id = excluded.merchant_id AND payments.currency = excluded.currency                AND payments.amount_minor IS NULL              RETURNING 1 AS one)"
        ));
        gate = "EXISTS (SELECT 1 FROM pay)".to_owned();
        first_write.get_or_insert("pay");
    }
    if let Some((key, fingerprint, expires)) = &key_params {
        ctes.push(format!(
            "claim AS (INSERT INTO idempotency_keys (merchant_id, idem_key, fingerprint, refund_id, created_at, expires_at)              SELECT $2, {key}, {fingerprint}, $1, $23, {expires} WHERE {gate}              ON CONFLICT (merchant_id, idem_key) DO UPDATE SET                fingerprint = excluded.fingerprint, refund_id = excluded.refund_id,                response_status = NULL, response_body = NULL,                created_at = excluded.created_at, expires_at = excluded.expires_at              WHERE idempotency_keys.expires_at <= excluded.created_at RETURNING 1 AS one)"
        ));
        gate = "EXISTS (SELECT 1 FROM claim)".to_owned();
        first_write.get_or_insert("claim");
    }
    ctes.push(format!(
        "ins AS (INSERT INTO refunds ({REFUND_COLUMNS}) SELECT {} WHERE {gate}          ON CONFLICT DO NOTHING RETURNING id)",
        values.join(", ")
    ));
    let detail = param();
    ctes.push(format!(
        "created AS (INSERT INTO refund_events (refund_id, kind, status, previous_status, source, detail, created_at)          SELECT id, 'created', 'pending', NULL, 'api', {detail}::text, $23::bigint FROM ins)"
    ));
    if step.emit_created {
        let (event_id, payload) = (param(), param());
        ctes.push(format!(
            "announced AS (INSERT INTO outbox (event_id, merchant_id, refund_id, event_type, payload, created_at, next_attempt_at)              SELECT {event_id}::text, $2::text, id, 'refund.created', {payload}::text, $23::bigint, $23::bigint FROM ins)"
        ));
    }
    let key_live = if key_params.is_some() {
        "(SELECT COUNT(*) FROM live)"
    } else {
        "0"
    };
    // A scalar subquery, so the cast runs (and fails) only when the case is taken, never
    // while planning.
    let undo = match first_write {
        Some(writer) => format!(
            "CASE WHEN EXISTS (SELECT 1 FROM {writer}) AND NOT EXISTS (SELECT 1 FROM ins)              THEN CAST((SELECT '{ROLLED_BACK}'::text) AS bigint) ELSE 0 END"
        ),
        None => "0".to_owned(),
    };
    format!(
        "WITH {} SELECT {key_live} AS key_live, (SELECT COUNT(*) FROM ins) AS inserted, {undo} AS undone",
        ctes.join(", ")
    )
}
