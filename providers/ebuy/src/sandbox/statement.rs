//! `GET /_sandbox/statement?from=&to=`: e-Buy's refund reconciliation file (退款对账单) of the
//! refunds the simulator applied in that period (by creation time), as a Chinese provider
//! writes it: GBK-encoded CSV, two title rows before the header, Chinese column names,
//! amounts and fees in fen, Chinese status words, times in China's zone (UTC+8) without an
//! offset, and a `#` summary line at the end. CNY only, so there is no currency column.
//!
//! Columns: `商户订单号` (outTradeNo), `退款单号` (refundTradeNo, the gateway's reference),
//! `退款金额(分)`, `手续费(分)` (0.6 % of a successful refund, rounded down), `退款状态`
//! (退款成功 / 部分退款成功 / 退款处理中 / 退款失败), `退款时间`.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use axum::extract::{Query, State};
use axum::response::Response;
use refund_provider::sandbox_kit::statement::{
    csv_row, statement_refused, statement_response, StatementPeriod,
};
use time::format_description::well_known::Rfc3339;
use time::{OffsetDateTime, UtcOffset};

use super::effect::Effect;
use super::shared::Shared;

/// The header row (after the two title rows).
pub const HEADER: [&str; 6] = [
    "商户订单号",
    "退款单号",
    "退款金额(分)",
    "手续费(分)",
    "退款状态",
    "退款时间",
];

/// e-Buy's fee on a successful refund, in thousandths (0.6 %), rounded down to the fen.
pub const FEE_PER_MILLE: i64 = 6;

fn word(status: &str) -> &'static str {
    match status {
        "succeeded" => "退款成功",
        "partial" => "部分退款成功",
        "failed" => "退款失败",
        _ => "退款处理中",
    }
}

/// The file's text (before GBK encoding) for `effects` created in `period`.
pub fn render(effects: &[Effect], period: StatementPeriod) -> String {
    let china = UtcOffset::from_hms(8, 0, 0).unwrap_or(UtcOffset::UTC);
    let local = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
    let day = time::macros::format_description!("[year]-[month]-[day]");
    let show = |at: Option<OffsetDateTime>| {
        at.and_then(|t| t.to_offset(china).format(&day).ok())
            .unwrap_or_else(|| "-".to_owned())
    };
    let mut out = String::from("e-Buy 退款对账单\n");
    out.push_str(&format!(
        "商户号：sandbox-app  起始日期：{}  终止日期：{}\n",
        show(period.from),
        show(period.to)
    ));
    out.push_str(&csv_row(&HEADER, ','));
    let (mut count, mut total, mut fees) = (0u64, 0i64, 0i64);
    for effect in effects {
        let Ok(created) = OffsetDateTime::parse(&effect.created_at, &Rfc3339) else {
            continue;
        };
        if !period.contains(created) {
            continue;
        }
        let fee = if matches!(effect.status.as_str(), "succeeded" | "partial") {
            effect.amount_minor.saturating_mul(FEE_PER_MILLE) / 1000
        } else {
            0
        };
        let at = created.to_offset(china).format(&local).unwrap_or_default();
        out.push_str(&csv_row(
            &[
                &effect.payment_id,
                &effect.reference,
                &effect.amount_minor.to_string(),
                &fee.to_string(),
                word(&effect.status),
                &at,
            ],
            ',',
        ));
        count += 1;
        total = total.saturating_add(effect.amount_minor);
        fees = fees.saturating_add(fee);
    }
    out.push_str(&format!(
        "# 合计：退款 {count} 笔，退款金额 {total} 分，手续费 {fees} 分\n"
    ));
    out
}

/// The route's handler: the file in GBK.
pub(super) async fn statement(
    State(shared): State<Arc<Shared>>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    match StatementPeriod::parse(&query) {
        Ok(period) => {
            let effects = shared.book().effects(Instant::now());
            let text = render(&effects, period);
            let (bytes, _, _) = encoding_rs::GBK.encode(&text);
            statement_response(bytes.into_owned(), "GBK", "ebuy-refunds.csv")
        }
        Err(message) => statement_refused(message),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn effect(reference: &str, amount: i64, status: &str) -> Effect {
        Effect {
            reference: reference.into(),
            payment_id: "ORDER1".into(),
            amount_minor: amount,
            currency: "CNY".into(),
            status: status.into(),
            trade_time: "20261123".into(),
            assets: Vec::new(),
            created_at: "2026-11-23T18:30:00Z".into(),
        }
    }

    #[test]
    fn the_file_has_title_rows_chinese_words_fen_and_china_time() {
        let text = render(
            &[
                effect("2026112400000001", 800, "succeeded"),
                effect("2026112400000002", 999, "failed"),
            ],
            StatementPeriod::default(),
        );
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[2], HEADER.join(","));
        assert_eq!(
            lines[3],
            "ORDER1,2026112400000001,800,4,退款成功,2026-11-24 02:30:00"
        );
        assert_eq!(
            lines[4],
            "ORDER1,2026112400000002,999,0,退款失败,2026-11-24 02:30:00"
        );
        assert!(lines[5].starts_with("# 合计：退款 2 笔"));
        let (bytes, _, unmappable) = encoding_rs::GBK.encode(&text);
        assert!(!unmappable, "every character has a GBK form");
        assert!(
            std::str::from_utf8(&bytes).is_err(),
            "the body is GBK, not UTF-8"
        );
    }
}
