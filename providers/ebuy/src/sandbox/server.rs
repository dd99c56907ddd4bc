//! The sandbox's HTTP side: routes, the envelope checks the real e-Buy would make (appId,
//! signature, required fields and their types, amounts in whole fen), fault injection and
//! signed answers.
//!
//! Answers are `200` with `success: false` and an `errorCode` for every refusal of a well
//! formed request (`PARAM_ERROR`, `APP_NOT_FOUND`, `SIGN_ERROR`, `DUPLICATE_UUID`, and the
//! business codes of [`super::state`]); a body that is not JSON is `400`, a wrong
//! Content-Type `415`. Answers to a caller that has not proved its identity (`APP_NOT_FOUND`,
//! `SIGN_ERROR`, unparseable requests) carry no `sign`: the sandbox cannot sign for a
//! caller it does not trust, and the caller could not verify it anyway.

use std::sync::Arc;
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use refund_provider::sandbox_kit::lock;
use serde_json::{json, Map, Value};
use time::OffsetDateTime;

use super::config::{Faults, APP_ID, APP_SECRET};
use super::magic;
use super::shared::Shared;
use super::state::{Refusal, Requested};
use crate::options::AssetType;
use crate::reference::{china_date, parse_yyyymmdd};
use crate::sign;
use crate::wire::{QueryContent, RefundContent, ACTION_REFUND, ACTION_REFUND_QUERY};

/// The fields of a request envelope; anything else is refused.
const ENVELOPE_FIELDS: [&str; 8] = [
    "uuid",
    "appId",
    "action",
    "timestamp",
    "signType",
    "sign",
    "lang",
    "content",
];

pub(super) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/api/refund", post(refund))
        .route("/api/refund/query", post(refund_query))
        .route("/_sandbox/faults", post(set_faults).get(get_faults))
        .route("/_sandbox/effects", get(effects))
        .route("/_sandbox/statement", get(super::statement::statement))
        .with_state(shared)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Call {
    Refund,
    Query,
}

impl Call {
    fn action(self) -> &'static str {
        match self {
            Self::Refund => ACTION_REFUND,
            Self::Query => ACTION_REFUND_QUERY,
        }
    }
}

/// How an answer is signed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Signing {
    Signed,
    Unsigned,
    /// Signed with the wrong secret (magic `BADSIGN…`).
    Forged,
}

#[derive(Debug)]
struct Reply {
    http: StatusCode,
    envelope: Map<String, Value>,
    signing: Signing,
}

impl Reply {
    fn new(call: Call, uuid: &str, result: Result<Value, Refusal>, signing: Signing) -> Self {
        let now_ms = OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000;
        let (success, code, message, content) = match result {
            Ok(content) => (true, "", String::new(), content),
            Err(refusal) => (false, refusal.code, refusal.message, Value::Null),
        };
        let mut envelope = Map::new();
        envelope.insert("uuid".into(), json!(uuid));
        envelope.insert("success".into(), json!(success));
        envelope.insert("action".into(), json!(call.action()));
        envelope.insert(
            "timestamp".into(),
            json!(i64::try_from(now_ms).unwrap_or(0)),
        );
        envelope.insert("errorCode".into(), json!(code));
        envelope.insert("errorMessage".into(), json!(message));
        envelope.insert("content".into(), content);
        Self {
            http: StatusCode::OK,
            envelope,
            signing,
        }
    }

    /// A refusal to a caller that has not proved who it is: unsigned.
    fn untrusted(
        call: Call,
        uuid: &str,
        http: StatusCode,
        code: &'static str,
        message: &str,
    ) -> Self {
        let mut reply = Self::new(
            call,
            uuid,
            Err(Refusal::new(code, message)),
            Signing::Unsigned,
        );
        reply.http = http;
        reply
    }

    fn into_response(self) -> Response {
        let mut envelope = self.envelope;
        match self.signing {
            Signing::Unsigned => {}
            Signing::Signed | Signing::Forged => {
                envelope.insert("signType".into(), json!(sign::SIGN_TYPE));
                let secret = if self.signing == Signing::Signed {
                    APP_SECRET
                } else {
                    "not-the-sandbox-secret"
                };
                sign::sign_in_place(&mut envelope, secret);
            }
        }
        (self.http, Json(Value::Object(envelope))).into_response()
    }
}

async fn refund(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    handle(shared, Call::Refund, headers, body).await
}

async fn refund_query(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    handle(shared, Call::Query, headers, body).await
}

async fn handle(shared: Arc<Shared>, call: Call, headers: HeaderMap, body: Bytes) -> Response {
    let draw = shared.faults.draw(shared.config.latency_ms);
    if draw.before_apply(&shared.hang).await.is_err() {
        return unavailable();
    }
    let response = process(&shared, call, &headers, &body).into_response();
    draw.finish(response, &shared.hang).await
}

fn unavailable() -> Response {
    (
        StatusCode::SERVICE_UNAVAILABLE,
        Json(json!({"success": false, "errorCode": "SERVICE_UNAVAILABLE", "errorMessage": "服务暂不可用"})),
    )
        .into_response()
}

fn param_error(message: impl Into<String>) -> Refusal {
    Refusal::new("PARAM_ERROR", message)
}

/// Checks and applies one request; everything a real e-Buy would refuse is refused here.
fn process(shared: &Shared, call: Call, headers: &HeaderMap, body: &[u8]) -> Reply {
    let json_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.trim()
                .to_ascii_lowercase()
                .starts_with("application/json")
        });
    if !json_type {
        return Reply::untrusted(
            call,
            "",
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "PARAM_ERROR",
            "Content-Type 必须为 application/json",
        );
    }
    let Ok(Value::Object(envelope)) = serde_json::from_slice::<Value>(body) else {
        return Reply::untrusted(
            call,
            "",
            StatusCode::BAD_REQUEST,
            "PARAM_ERROR",
            "请求报文不是合法的 JSON 对象",
        );
    };
    let uuid = envelope
        .get("uuid")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned();
    // Who is calling: appId, then the signature. Until both hold, answers are unsigned.
    match envelope.get("appId") {
        Some(Value::String(app)) if app == APP_ID => {}
        Some(Value::String(_)) => {
            return Reply::untrusted(call, &uuid, StatusCode::OK, "APP_NOT_FOUND", "应用不存在")
        }
        _ => {
            return Reply::untrusted(
                call,
                &uuid,
                StatusCode::OK,
                "PARAM_ERROR",
                "appId 缺失或不是字符串",
            )
        }
    }
    if envelope.get("signType").and_then(Value::as_str) != Some(sign::SIGN_TYPE) {
        return Reply::untrusted(
            call,
            &uuid,
            StatusCode::OK,
            "PARAM_ERROR",
            "signType 必须为 sha256",
        );
    }
    let envelope_value = Value::Object(envelope);
    if sign::verify(&envelope_value, APP_SECRET).is_err() {
        return Reply::untrusted(call, &uuid, StatusCode::OK, "SIGN_ERROR", "签名错误");
    }
    let Value::Object(envelope) = envelope_value else {
        return Reply::untrusted(
            call,
            &uuid,
            StatusCode::BAD_REQUEST,
            "PARAM_ERROR",
            "请求报文不是 JSON 对象",
        );
    };
    let result = check_envelope(shared, call, &envelope).and_then(|content| match call {
        Call::Refund => apply_refund(shared, content),
        Call::Query => apply_query(shared, content),
    });
    let out_trade_no = envelope
        .get("content")
        .and_then(|c| c.get("outTradeNo"))
        .and_then(Value::as_str)
        .unwrap_or("");
    let signing = if call == Call::Refund
        && result.is_ok()
        && out_trade_no.starts_with(magic::BAD_SIGNATURE_PREFIX)
    {
        Signing::Forged
    } else {
        Signing::Signed
    };
    Reply::new(call, &uuid, result, signing)
}

/// The envelope's own fields: all present, of the right type and shape; returns `content`.
fn check_envelope<'a>(
    shared: &Shared,
    call: Call,
    envelope: &'a Map<String, Value>,
) -> Result<&'a Value, Refusal> {
    if let Some(unknown) = envelope
        .keys()
        .find(|k| !ENVELOPE_FIELDS.contains(&k.as_str()))
    {
        return Err(param_error(format!("未知字段 {unknown}")));
    }
    let uuid = envelope.get("uuid").and_then(Value::as_str).unwrap_or("");
    let uuid_ok = uuid.len() == 41
        && uuid.get(..8).and_then(parse_yyyymmdd).is_some()
        && uuid.as_bytes().get(8) == Some(&b'-')
        && uuid.get(9..).is_some_and(|tail| {
            tail.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        });
    if !uuid_ok {
        return Err(param_error("uuid 格式应为 yyyyMMdd-32位小写字母数字"));
    }
    if envelope.get("action").and_then(Value::as_str) != Some(call.action()) {
        return Err(param_error(format!("action 必须为 {}", call.action())));
    }
    match envelope.get("timestamp").and_then(Value::as_u64) {
        Some(ms) if ms >= 1_000_000_000_000 => {}
        _ => return Err(param_error("timestamp 必须为毫秒时间戳数字")),
    }
    match envelope.get("lang").and_then(Value::as_str) {
        Some(lang) if !lang.is_empty() && lang.chars().count() <= 50 => {}
        _ => return Err(param_error("lang 缺失")),
    }
    let content = match envelope.get("content") {
        Some(content @ Value::Object(_)) => content,
        _ => return Err(param_error("content 必须为对象")),
    };
    let fresh = lock(&shared.uuids).insert(uuid.to_owned());
    if !fresh {
        return Err(Refusal::new("DUPLICATE_UUID", "请求序列号重复"));
    }
    Ok(content)
}

fn chars_between(value: &str, min: usize, max: usize) -> bool {
    let n = value.chars().count();
    (min..=max).contains(&n)
}

fn check_trade_numbers(out_trade_no: &str, refund_trade_no: &str) -> Result<(), Refusal> {
    if !chars_between(out_trade_no, 1, 32) {
        return Err(param_error("outTradeNo 长度应为 1-32"));
    }
    let dated = refund_trade_no.len() > 8
        && refund_trade_no.len() <= 32
        && refund_trade_no.bytes().all(|b| b.is_ascii_digit())
        && parse_yyyymmdd(&refund_trade_no[..8]).is_some();
    if !dated {
        return Err(param_error(
            "refundTradeNo 格式应为 YYYYMMDD+数字, 最长 32 位",
        ));
    }
    Ok(())
}

fn apply_refund(shared: &Shared, content: &Value) -> Result<Value, Refusal> {
    let content: RefundContent = serde_json::from_value(content.clone())
        .map_err(|e| param_error(format!("content 不合法: {e}")))?;
    check_trade_numbers(&content.out_trade_no, &content.refund_trade_no)?;
    let wall = shared.clock.now();
    if let Some(trade_time) = &content.trade_time {
        match parse_yyyymmdd(trade_time) {
            None => return Err(param_error("tradeTime 格式应为 YYYYMMDD")),
            // e-Buy's calendar is China's: a trade dated after today there cannot exist.
            Some(date) if date > china_date(wall) => {
                return Err(param_error("tradeTime 不能晚于当天"))
            }
            Some(_) => {}
        }
    }
    if let Some(goods) = &content.goods_detail {
        if !chars_between(&goods.goods_id, 1, 32)
            || goods
                .goods_name
                .as_deref()
                .is_some_and(|n| !chars_between(n, 0, 50))
            || goods
                .goods_code
                .as_deref()
                .is_some_and(|c| !chars_between(c, 0, 32))
            || goods.goods_num < 1
        {
            return Err(param_error("goodsDetail 不合法"));
        }
    }
    let requested = match content.refund_method.as_deref() {
        None => Requested::WholeOrder,
        Some([method]) => {
            let asset = AssetType::parse(&method.asset_type)
                .ok_or_else(|| param_error(format!("不支持的资产类型 {}", method.asset_type)))?;
            if method.refund_amount.is_some_and(|a| a < 1) {
                return Err(param_error("refundAmount 必须为正整数(分)"));
            }
            Requested::Asset(asset, method.refund_amount)
        }
        Some(_) => return Err(param_error("refundMethod 长度只能为 1")),
    };
    shared.book().refund(
        &content.out_trade_no,
        &content.refund_trade_no,
        requested,
        content.trade_time.as_deref(),
        Instant::now(),
        wall,
    )
}

fn apply_query(shared: &Shared, content: &Value) -> Result<Value, Refusal> {
    let content: QueryContent = serde_json::from_value(content.clone())
        .map_err(|e| param_error(format!("content 不合法: {e}")))?;
    check_trade_numbers(&content.out_trade_no, &content.refund_trade_no)?;
    shared.book().query(
        &content.out_trade_no,
        &content.refund_trade_no,
        Instant::now(),
    )
}

async fn set_faults(State(shared): State<Arc<Shared>>, Json(faults): Json<Faults>) -> Json<Faults> {
    shared.faults.set(faults.clone());
    Json(faults)
}

async fn get_faults(State(shared): State<Arc<Shared>>) -> Json<Faults> {
    Json(shared.faults.get())
}

async fn effects(State(shared): State<Arc<Shared>>) -> Json<Vec<super::effect::Effect>> {
    Json(shared.book().effects(Instant::now()))
}
