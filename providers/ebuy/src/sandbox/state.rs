//! The sandbox's books: orders with a remaining amount per asset, the refunds applied to
//! them (keyed by `refundTradeNo`, so a repeated refund gets its original answer), the
//! magic values, and the effects list tests read. Pure logic, no HTTP.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::{Duration, Instant};

use refund_provider::sandbox_kit::Retention;

use serde_json::{json, Value};
use time::OffsetDateTime;

use super::config::OrderAssets;
use super::effect::{Effect, EffectLine};
use super::magic;
use crate::options::AssetType;
use crate::reference::{china_date, yyyymmdd, CHINA};

/// A `success: false` answer: e-Buy's `errorCode` and `errorMessage`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub code: &'static str,
    pub message: String,
}

impl Refusal {
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }
}

/// What a refund request asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Requested {
    /// No `refundMethod`: everything that remains of every asset.
    WholeOrder,
    /// One `refundMethod` entry; no amount means all that remains of that asset.
    Asset(AssetType, Option<i64>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LineStatus {
    Success,
    Processing,
    Fail,
}

impl LineStatus {
    fn word(self) -> &'static str {
        match self {
            Self::Success => "SUCCESS",
            Self::Processing => "PROCESSING",
            Self::Fail => "FAIL",
        }
    }

    fn gateway_word(self) -> &'static str {
        match self {
            Self::Success => "succeeded",
            Self::Processing => "processing",
            Self::Fail => "failed",
        }
    }
}

#[derive(Debug, Clone)]
struct Line {
    asset: AssetType,
    amount: i64,
    status: LineStatus,
}

#[derive(Debug, Clone)]
struct RefundRecord {
    out_trade_no: String,
    refund_trade_no: String,
    lines: Vec<Line>,
    /// When a `PROCESSING` refund turns `SUCCESS`.
    settles_at: Option<Instant>,
    refund_time: String,
    /// `tradeTime` as sent, or the China date of the request when it was left out.
    trade_time: String,
    created_at: String,
}

impl RefundRecord {
    /// Nothing more will happen to it as of `now`: it may be evicted beyond the cap.
    fn settled(&self, now: Instant) -> bool {
        self.settles_at.is_none_or(|at| now >= at)
    }

    /// Moves a processing refund to success once its time has come.
    fn settle(&mut self, now: Instant) {
        if self.settles_at.is_some_and(|at| now >= at) {
            for line in &mut self.lines {
                if line.status == LineStatus::Processing {
                    line.status = LineStatus::Success;
                }
            }
            self.settles_at = None;
        }
    }

    fn overall(&self) -> LineStatus {
        if self
            .lines
            .iter()
            .any(|l| l.status == LineStatus::Processing)
        {
            LineStatus::Processing
        } else if self.lines.iter().all(|l| l.status == LineStatus::Fail) {
            LineStatus::Fail
        } else {
            LineStatus::Success
        }
    }

    /// Money that moved (or is moving): every line that did not fail.
    fn moved(&self) -> i64 {
        self.lines
            .iter()
            .filter(|l| l.status != LineStatus::Fail)
            .map(|l| l.amount)
            .sum()
    }

    /// The answer's `content`, in the documented shape (all four breakdown objects).
    fn content(&self) -> Value {
        let overall = self.overall().word();
        let line = |asset: AssetType| {
            let (amount, status) = self
                .lines
                .iter()
                .find(|l| l.asset == asset)
                .map(|l| (l.amount, l.status.word()))
                .unwrap_or((0, overall));
            (amount.to_string(), status)
        };
        let with_use_list = |asset| {
            let (amount, status) = line(asset);
            json!({"refundAmount": amount, "refundStatus": status, "useList": []})
        };
        let (cash_amount, cash_status) = line(AssetType::Cash);
        json!({
            "outTradeNo": self.out_trade_no,
            "refundTime": self.refund_time,
            "refundAmount": self.moved().to_string(),
            "cardRefund": with_use_list(AssetType::Cashcard),
            "couponRefund": with_use_list(AssetType::Coupon),
            "pointsRefund": with_use_list(AssetType::Points),
            "cashRefund": {"refundAmount": cash_amount, "refundStatus": cash_status},
        })
    }

    fn effect(&self) -> Effect {
        let status = match (
            self.overall(),
            self.lines.iter().any(|l| l.status == LineStatus::Fail),
        ) {
            (LineStatus::Success, true) => "partial".to_owned(),
            (overall, _) => overall.gateway_word().to_owned(),
        };
        Effect {
            reference: self.refund_trade_no.clone(),
            payment_id: self.out_trade_no.clone(),
            amount_minor: self.moved(),
            currency: "CNY".into(),
            status,
            trade_time: self.trade_time.clone(),
            assets: self
                .lines
                .iter()
                .map(|l| EffectLine {
                    asset_type: l.asset.as_str().to_owned(),
                    amount_minor: l.amount,
                    status: l.status.gateway_word().to_owned(),
                })
                .collect(),
            created_at: self.created_at.clone(),
        }
    }
}

/// Orders, refunds and effects.
#[derive(Debug)]
pub struct Book {
    default_order: OrderAssets,
    settle_after: Duration,
    orders: HashMap<String, BTreeMap<AssetType, i64>>,
    /// Orders known from the config: kept when their refunds are evicted.
    configured: HashSet<String>,
    /// Retained refunds per order; an unseen order is forgotten with its last refund.
    refunds_per_order: HashMap<String, usize>,
    refunds: HashMap<String, RefundRecord>,
    /// `refundTradeNo`s in the order they were applied; at most `max_refunds`, the oldest
    /// settled go first.
    applied: Retention<String>,
}

fn assets_of(order: &OrderAssets) -> BTreeMap<AssetType, i64> {
    BTreeMap::from([
        (AssetType::Cash, order.cash),
        (AssetType::Coupon, order.coupon),
        (AssetType::Cashcard, order.cashcard),
        (AssetType::Points, order.points),
    ])
}

impl Book {
    pub fn new(
        default_order: OrderAssets,
        orders: &BTreeMap<String, OrderAssets>,
        settle_after: Duration,
        max_refunds: usize,
    ) -> Self {
        Self {
            default_order,
            settle_after,
            orders: orders
                .iter()
                .map(|(id, assets)| (id.clone(), assets_of(assets)))
                .collect(),
            configured: orders.keys().cloned().collect(),
            refunds_per_order: HashMap::new(),
            refunds: HashMap::new(),
            applied: Retention::new(max_refunds),
        }
    }

    /// How many refunds are retained.
    pub fn retained(&self) -> usize {
        self.refunds.len()
    }

    /// Forgets the oldest settled refunds beyond the cap, with their order when it has no
    /// refund left (unless configured): a later refund of it starts from the default order.
    fn evict(&mut self, now: Instant) {
        let refunds = &self.refunds;
        let evicted = self
            .applied
            .evict(|reference| refunds.get(reference).is_none_or(|r| r.settled(now)));
        for reference in evicted {
            let Some(record) = self.refunds.remove(&reference) else {
                continue;
            };
            let order = record.out_trade_no;
            let left = self.refunds_per_order.get_mut(&order).map(|count| {
                *count = count.saturating_sub(1);
                *count
            });
            if left == Some(0) {
                self.refunds_per_order.remove(&order);
                if !self.configured.contains(&order) {
                    self.orders.remove(&order);
                }
            }
        }
    }

    /// What remains refundable of an order, if the sandbox has seen it.
    pub fn remaining(&self, out_trade_no: &str) -> Option<OrderAssets> {
        self.orders.get(out_trade_no).map(|a| OrderAssets {
            cash: a[&AssetType::Cash],
            coupon: a[&AssetType::Coupon],
            cashcard: a[&AssetType::Cashcard],
            points: a[&AssetType::Points],
        })
    }

    /// Applies a refund, or answers the original result of an earlier one with the same
    /// `refundTradeNo`. Returns the answer's `content`. `trade_time` is the request's
    /// `tradeTime`; absent, e-Buy takes today, in China (UTC+8).
    pub fn refund(
        &mut self,
        out_trade_no: &str,
        refund_trade_no: &str,
        requested: Requested,
        trade_time: Option<&str>,
        now: Instant,
        wall: OffsetDateTime,
    ) -> Result<Value, Refusal> {
        if let Some(existing) = self.refunds.get_mut(refund_trade_no) {
            if existing.out_trade_no != out_trade_no {
                return Err(Refusal::new(
                    "REFUND_TRADE_NO_CONFLICT",
                    "退款交易编号已用于其他订单",
                ));
            }
            existing.settle(now);
            return Ok(existing.content());
        }
        if out_trade_no.starts_with(magic::ORDER_NOT_FOUND_PREFIX) {
            return Err(Refusal::new("ORDER_NOT_FOUND", "订单不存在"));
        }
        if let Requested::Asset(_, Some(amount)) = requested {
            if amount == magic::DECLINED_AMOUNT_FEN {
                return Err(Refusal::new("REFUND_DECLINED", "退款被拒绝"));
            }
        }
        let default_order = assets_of(&self.default_order);
        let remaining = self
            .orders
            .entry(out_trade_no.to_owned())
            .or_insert(default_order);

        let wanted = wanted_lines(remaining, requested)?;
        let magic_status = magic_status(out_trade_no);
        let lines = line_statuses(out_trade_no, magic_status, wanted);
        for line in lines.iter().filter(|l| l.status != LineStatus::Fail) {
            if let Some(left) = remaining.get_mut(&line.asset) {
                *left -= line.amount;
            }
        }
        let record = RefundRecord {
            out_trade_no: out_trade_no.to_owned(),
            refund_trade_no: refund_trade_no.to_owned(),
            settles_at: (magic_status == Some(LineStatus::Processing))
                .then(|| now + self.settle_after),
            lines,
            refund_time: china_time(wall),
            trade_time: trade_time
                .map(str::to_owned)
                .unwrap_or_else(|| yyyymmdd(china_date(wall))),
            created_at: wall
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_default(),
        };
        let content = record.content();
        self.applied.push(refund_trade_no.to_owned());
        self.refunds.insert(refund_trade_no.to_owned(), record);
        *self
            .refunds_per_order
            .entry(out_trade_no.to_owned())
            .or_default() += 1;
        self.evict(now);
        Ok(content)
    }

    /// The refund's current state (`refundQuery`).
    pub fn query(
        &mut self,
        out_trade_no: &str,
        refund_trade_no: &str,
        now: Instant,
    ) -> Result<Value, Refusal> {
        match self.refunds.get_mut(refund_trade_no) {
            Some(record) if record.out_trade_no == out_trade_no => {
                record.settle(now);
                Ok(record.content())
            }
            _ => Err(Refusal::new("REFUND_NOT_FOUND", "退款记录不存在")),
        }
    }

    /// Every refund applied, oldest first, with its status as of `now`.
    pub fn effects(&mut self, now: Instant) -> Vec<Effect> {
        let mut effects = Vec::with_capacity(self.applied.len());
        for reference in self.applied.iter() {
            if let Some(record) = self.refunds.get_mut(reference) {
                record.settle(now);
                effects.push(record.effect());
            }
        }
        effects
    }
}

fn line_rank(asset: AssetType) -> u8 {
    match asset {
        AssetType::Cash => 0,
        AssetType::Cashcard => 1,
        AssetType::Coupon => 2,
        AssetType::Points => 3,
    }
}

/// `refundTime`: `YYYY-MM-DD HH:MM:SS` in China Standard Time (UTC+8), 19 characters.
fn china_time(wall: OffsetDateTime) -> String {
    let t = wall.to_offset(CHINA);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// The lines a refund asks for, in the documented order (cash, cashcard, coupon, points):
/// every asset left for a whole-order refund, else the one asset asked (all of it left, or
/// the amount asked, which may not exceed it; a coupon is never refunded in part).
fn wanted_lines(
    remaining: &BTreeMap<AssetType, i64>,
    requested: Requested,
) -> Result<Vec<(AssetType, i64)>, Refusal> {
    let mut wanted: Vec<(AssetType, i64)> = match requested {
        Requested::WholeOrder => remaining
            .iter()
            .filter(|(_, left)| **left > 0)
            .map(|(asset, left)| (*asset, *left))
            .collect(),
        Requested::Asset(AssetType::Coupon, Some(_)) => {
            return Err(Refusal::new(
                "COUPON_PARTIAL_REFUND",
                "优惠券不支持部分退款",
            ));
        }
        Requested::Asset(asset, None) => {
            let left = remaining.get(&asset).copied().unwrap_or(0);
            vec![(asset, left)]
        }
        Requested::Asset(asset, Some(amount)) => {
            let left = remaining.get(&asset).copied().unwrap_or(0);
            if amount > left {
                return Err(Refusal::new(
                    "REFUND_AMOUNT_EXCEEDED",
                    format!("退款金额超过可退金额 (可退 {left})"),
                ));
            }
            vec![(asset, amount)]
        }
    };
    wanted.retain(|(_, amount)| *amount > 0);
    if wanted.is_empty() {
        return Err(Refusal::new("ORDER_FULLY_REFUNDED", "订单已全额退款"));
    }
    // Keep a stable, documented order of lines: cash, cashcard, coupon, points.
    wanted.sort_by_key(|(asset, _)| line_rank(*asset));
    Ok(wanted)
}

/// The status every line of a magic order takes: `FAIL…` fails, `PROCESSING…` processes.
fn magic_status(out_trade_no: &str) -> Option<LineStatus> {
    if out_trade_no.starts_with(magic::FAIL_PREFIX) {
        Some(LineStatus::Fail)
    } else if out_trade_no.starts_with(magic::PROCESSING_PREFIX) {
        Some(LineStatus::Processing)
    } else {
        None
    }
}

/// Each wanted line with its status: the magic order's, else a success, except the coupon
/// line of a `PARTIAL…` order of several lines, which fails.
fn line_statuses(
    out_trade_no: &str,
    magic_status: Option<LineStatus>,
    wanted: Vec<(AssetType, i64)>,
) -> Vec<Line> {
    let partial = out_trade_no.starts_with(magic::PARTIAL_PREFIX) && wanted.len() > 1;
    wanted
        .into_iter()
        .map(|(asset, amount)| {
            let status = match magic_status {
                Some(status) => status,
                None if partial && asset == AssetType::Coupon => LineStatus::Fail,
                None => LineStatus::Success,
            };
            Line {
                asset,
                amount,
                status,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn book() -> Book {
        Book::new(
            OrderAssets::default(),
            &BTreeMap::new(),
            Duration::from_millis(50),
            100,
        )
    }

    fn refund(
        book: &mut Book,
        order: &str,
        reference: &str,
        requested: Requested,
    ) -> Result<Value, Refusal> {
        book.refund(
            order,
            reference,
            requested,
            None,
            Instant::now(),
            OffsetDateTime::now_utc(),
        )
    }

    #[test]
    fn beyond_the_cap_the_oldest_settled_refunds_go_and_a_processing_one_stays() {
        let mut book = Book::new(
            OrderAssets::default(),
            &BTreeMap::new(),
            Duration::from_secs(60),
            2,
        );
        let cash = |amount| Requested::Asset(AssetType::Cash, Some(amount));
        refund(&mut book, "PROC1", "R0", cash(100)).expect("processing");
        for n in 1..=4 {
            refund(&mut book, &format!("O{n}"), &format!("R{n}"), cash(100)).expect("refund");
        }
        assert_eq!(book.retained(), 2);
        let kept: Vec<String> = book
            .effects(Instant::now())
            .into_iter()
            .map(|e| e.reference)
            .collect();
        assert_eq!(kept, ["R0", "R4"]);
        assert!(book.remaining("O1").is_none(), "its order went with it");
        assert!(book.query("O1", "R1", Instant::now()).is_err());
        assert!(book.query("PROC1", "R0", Instant::now()).is_ok());
    }

    #[test]
    fn an_unseen_order_gets_the_default_breakdown_and_a_whole_order_refund_takes_it_all() {
        let mut book = book();
        let content = refund(&mut book, "O1", "R1", Requested::WholeOrder).expect("refund");
        assert_eq!(content["refundAmount"], "111500");
        assert_eq!(content["cashRefund"]["refundAmount"], "100000");
        assert_eq!(content["couponRefund"]["refundAmount"], "500");
        assert_eq!(content["cardRefund"]["refundAmount"], "10000");
        assert_eq!(content["pointsRefund"]["refundAmount"], "1000");
        assert_eq!(
            book.remaining("O1"),
            Some(OrderAssets {
                cash: 0,
                coupon: 0,
                cashcard: 0,
                points: 0
            })
        );
        assert_eq!(
            refund(&mut book, "O1", "R2", Requested::WholeOrder).map_err(|r| r.code),
            Err("ORDER_FULLY_REFUNDED")
        );
    }

    #[test]
    fn an_asset_never_refunds_more_than_remains() {
        let mut book = book();
        refund(
            &mut book,
            "O1",
            "R1",
            Requested::Asset(AssetType::Cash, Some(60_000)),
        )
        .expect("first");
        assert_eq!(
            refund(
                &mut book,
                "O1",
                "R2",
                Requested::Asset(AssetType::Cash, Some(40_001))
            )
            .map_err(|r| r.code),
            Err("REFUND_AMOUNT_EXCEEDED")
        );
        refund(
            &mut book,
            "O1",
            "R3",
            Requested::Asset(AssetType::Cash, Some(40_000)),
        )
        .expect("rest");
        assert_eq!(book.remaining("O1").map(|o| o.cash), Some(0));
    }

    #[test]
    fn a_repeated_refund_trade_no_gets_the_original_answer_and_moves_no_more_money() {
        let mut book = book();
        let first = refund(
            &mut book,
            "O1",
            "R1",
            Requested::Asset(AssetType::Points, Some(10)),
        )
        .expect("first");
        let again = refund(
            &mut book,
            "O1",
            "R1",
            Requested::Asset(AssetType::Points, Some(10)),
        )
        .expect("again");
        assert_eq!(first, again);
        assert_eq!(book.remaining("O1").map(|o| o.points), Some(990));
        assert_eq!(book.effects(Instant::now()).len(), 1);
        assert_eq!(
            refund(&mut book, "O2", "R1", Requested::WholeOrder).map_err(|r| r.code),
            Err("REFUND_TRADE_NO_CONFLICT")
        );
    }

    #[test]
    fn a_missing_trade_time_defaults_to_the_china_date_of_the_request() {
        let mut book = book();
        let late = time::macros::datetime!(2025-03-16 23:30 UTC);
        let now = Instant::now();
        book.refund("O1", "R1", Requested::WholeOrder, None, now, late)
            .expect("refund");
        book.refund(
            "O2",
            "R2",
            Requested::WholeOrder,
            Some("20250301"),
            now,
            late,
        )
        .expect("refund");
        let dates: Vec<String> = book
            .effects(now)
            .into_iter()
            .map(|e| e.trade_time)
            .collect();
        assert_eq!(dates, vec!["20250317".to_owned(), "20250301".to_owned()]);
    }

    #[test]
    fn a_single_asset_without_an_amount_takes_all_that_remains_of_it_and_nothing_else() {
        let mut book = book();
        let content = refund(
            &mut book,
            "O1",
            "R1",
            Requested::Asset(AssetType::Points, None),
        )
        .expect("refund");
        assert_eq!(content["pointsRefund"]["refundAmount"], "1000");
        assert_eq!(content["cashRefund"]["refundAmount"], "0");
        let left = book.remaining("O1").expect("order");
        assert_eq!((left.points, left.cash, left.coupon), (0, 100_000, 500));
        let coupon = refund(
            &mut book,
            "O1",
            "R2",
            Requested::Asset(AssetType::Coupon, None),
        )
        .expect("a whole coupon");
        assert_eq!(coupon["couponRefund"]["refundAmount"], "500");
    }

    #[test]
    fn coupons_refund_only_whole() {
        let mut book = book();
        assert_eq!(
            refund(
                &mut book,
                "O1",
                "R1",
                Requested::Asset(AssetType::Coupon, Some(100))
            )
            .map_err(|r| r.code),
            Err("COUPON_PARTIAL_REFUND")
        );
        let content = refund(
            &mut book,
            "O1",
            "R2",
            Requested::Asset(AssetType::Coupon, None),
        )
        .expect("whole coupon");
        assert_eq!(content["couponRefund"]["refundAmount"], "500");
    }

    #[test]
    fn magic_orders_fail_process_then_settle_or_half_succeed() {
        let mut book = book();
        let failed = refund(
            &mut book,
            "FAIL-1",
            "R1",
            Requested::Asset(AssetType::Cash, Some(100)),
        )
        .expect("fail");
        assert_eq!(failed["cashRefund"]["refundStatus"], "FAIL");
        assert_eq!(failed["refundAmount"], "0");
        assert_eq!(book.remaining("FAIL-1").map(|o| o.cash), Some(100_000));

        let start = Instant::now();
        book.refund(
            "PROC-1",
            "R2",
            Requested::Asset(AssetType::Cash, Some(100)),
            None,
            start,
            OffsetDateTime::now_utc(),
        )
        .expect("proc");
        let early = book.query("PROC-1", "R2", start).expect("query");
        assert_eq!(early["cashRefund"]["refundStatus"], "PROCESSING");
        let late = book
            .query("PROC-1", "R2", start + Duration::from_millis(60))
            .expect("query");
        assert_eq!(late["cashRefund"]["refundStatus"], "SUCCESS");

        let partial = refund(&mut book, "PART-1", "R3", Requested::WholeOrder).expect("part");
        assert_eq!(partial["cashRefund"]["refundStatus"], "SUCCESS");
        assert_eq!(partial["couponRefund"]["refundStatus"], "FAIL");
        assert_eq!(book.remaining("PART-1").map(|o| o.coupon), Some(500));
        let effects = book.effects(start + Duration::from_millis(60));
        let statuses: Vec<&str> = effects.iter().map(|e| e.status.as_str()).collect();
        assert_eq!(statuses, vec!["failed", "succeeded", "partial"]);
    }

    #[test]
    fn declined_amounts_and_unknown_orders_are_refused_without_effect() {
        let mut book = book();
        assert_eq!(
            refund(
                &mut book,
                "O1",
                "R1",
                Requested::Asset(AssetType::Cash, Some(magic::DECLINED_AMOUNT_FEN))
            )
            .map_err(|r| r.code),
            Err("REFUND_DECLINED")
        );
        assert_eq!(
            refund(&mut book, "NOTFOUND-1", "R2", Requested::WholeOrder).map_err(|r| r.code),
            Err("ORDER_NOT_FOUND")
        );
        assert!(book.effects(Instant::now()).is_empty());
        assert_eq!(
            book.query("O1", "R1", Instant::now()).map_err(|r| r.code),
            Err("REFUND_NOT_FOUND")
        );
    }

    #[test]
    fn refund_time_is_nineteen_characters_of_china_time() {
        let wall = OffsetDateTime::from_unix_timestamp(1_742_226_986).expect("time");
        assert_eq!(china_time(wall), "2025-03-17 23:56:26");
    }
}
