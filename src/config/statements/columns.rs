//! `[statements.<provider>.columns]`: which header names the file's columns carry. Naming
//! any of the six standard columns describes the file's own layout: a column not named there
//! is absent, never assumed under the gateway's name.

use refund_provider::{BuildContext, ConfigProblem};
use serde::Deserialize;

use super::StatementFormat;

/// `[statements.<provider>.columns]`: the header names of the file's columns.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawColumns {
    /// The provider's id of the refund.
    pub(crate) provider_refund_id: Option<String>,
    /// The reference the gateway sent (its own key for the refund).
    pub(crate) provider_reference: Option<String>,
    /// The refund's amount (a batch's total on a batch line).
    pub(crate) amount: Option<String>,
    /// The currency code; may be left out when `currency` names the file's one currency.
    pub(crate) currency: Option<String>,
    /// The status word; without it every line is a settled (`succeeded`) refund.
    pub(crate) status: Option<String>,
    /// When the provider settled the line.
    pub(crate) settled_at: Option<String>,
    /// The settlement batch a line belongs to.
    pub(crate) batch: Option<String>,
    /// The provider's fee for the line (or for the batch, on its total line).
    pub(crate) fee: Option<String>,
}

/// The file's header names per field; `None` where the file has no such column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Columns {
    /// The header of the provider's refund id.
    pub(crate) provider_refund_id: Option<String>,
    /// The header of the reference the gateway sent.
    pub(crate) provider_reference: Option<String>,
    /// The header of the amount (always present).
    pub(crate) amount: String,
    /// The header of the currency code.
    pub(crate) currency: Option<String>,
    /// The header of the status word; absent: every line is settled.
    pub(crate) status: Option<String>,
    /// The header of the settlement time.
    pub(crate) settled_at: Option<String>,
    /// The header of the settlement batch.
    pub batch: Option<String>,
    /// The header of the provider's fee.
    pub fee: Option<String>,
}

impl RawColumns {
    /// The columns as named (the gateway's own names when none of the six is), every
    /// problem pushed with its key path. `has_currency` says the format gives the file's one
    /// `currency`, so a currency column is not needed.
    pub(super) fn validate(
        self,
        ctx: &BuildContext,
        has_currency: bool,
        problems: &mut Vec<ConfigProblem>,
    ) -> Columns {
        let defaults = StatementFormat::default().columns;
        let named = self.provider_refund_id.is_some()
            || self.provider_reference.is_some()
            || self.amount.is_some()
            || self.currency.is_some()
            || self.status.is_some()
            || self.settled_at.is_some();
        let or_default = |value: Option<String>, default: Option<String>| {
            if named {
                value
            } else {
                value.or(default)
            }
        };
        let mut column = |name: &str, value: Option<String>| {
            let value = value?;
            if value.trim().is_empty() {
                problems.push(ConfigProblem::new(
                    ctx.key(&format!("columns.{name}")),
                    "must not be empty",
                ));
                return None;
            }
            Some(value)
        };
        let columns = Columns {
            provider_refund_id: column(
                "provider_refund_id",
                or_default(self.provider_refund_id, defaults.provider_refund_id),
            ),
            provider_reference: column(
                "provider_reference",
                or_default(self.provider_reference, defaults.provider_reference),
            ),
            amount: column("amount", or_default(self.amount, Some(defaults.amount)))
                .unwrap_or_default(),
            currency: column("currency", or_default(self.currency, defaults.currency)),
            status: column("status", or_default(self.status, defaults.status)),
            settled_at: column(
                "settled_at",
                or_default(self.settled_at, defaults.settled_at),
            ),
            batch: column("batch", self.batch),
            fee: column("fee", self.fee),
        };
        columns.check(ctx, has_currency, problems);
        columns
    }
}

impl Columns {
    /// What the columns together must give: an amount, a key to match lines by, a currency
    /// (unless the format gives the file's one), and a different header for each field.
    fn check(&self, ctx: &BuildContext, has_currency: bool, problems: &mut Vec<ConfigProblem>) {
        let amount_key = ctx.key("columns.amount");
        if self.amount.is_empty() && !problems.iter().any(|p| p.key == amount_key) {
            problems.push(ConfigProblem::new(
                amount_key,
                "missing: the column holding the refund's amount",
            ));
        }
        if self.provider_refund_id.is_none() && self.provider_reference.is_none() {
            problems.push(ConfigProblem::new(
                ctx.key("columns"),
                "name provider_refund_id or provider_reference: lines are matched by one of them",
            ));
        }
        if self.currency.is_none() && !has_currency {
            problems.push(ConfigProblem::new(
                ctx.key("columns.currency"),
                "missing: name the currency column, or give the file's one `currency`",
            ));
        }
        let mut names: Vec<(&str, &String)> = [
            ("provider_refund_id", self.provider_refund_id.as_ref()),
            ("provider_reference", self.provider_reference.as_ref()),
            ("amount", Some(&self.amount)),
            ("currency", self.currency.as_ref()),
            ("status", self.status.as_ref()),
            ("settled_at", self.settled_at.as_ref()),
            ("batch", self.batch.as_ref()),
            ("fee", self.fee.as_ref()),
        ]
        .into_iter()
        .filter_map(|(field, name)| name.map(|n| (field, n)))
        .collect();
        names.sort_by(|a, b| a.1.cmp(b.1));
        for pair in names.windows(2) {
            if pair[0].1 == pair[1].1 && !pair[0].1.is_empty() {
                problems.push(ConfigProblem::new(
                    ctx.key(&format!("columns.{}", pair[1].0)),
                    format!("column `{}` is already the {} column", pair[1].1, pair[0].0),
                ));
            }
        }
    }
}
