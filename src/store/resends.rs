//! What the sync's "no record" rule (DESIGN §16) needs from the store: the one re-send a
//! refund may ever get, claimed under a primary key so that no two processes (and no retry
//! after a crash) send it twice, and whether the refund was already flagged for having no
//! record at its provider.

use sqlx::Row;

use refund_provider::RefundId;

use super::{Bind, Store, StoreError};
use crate::domain::AttentionReason;

impl Store {
    /// Claims refund `id`'s one re-send at `now`: `true` when this caller may send it again;
    /// `false` when a re-send was claimed before (by anyone, ever).
    pub(crate) async fn claim_resend(&self, id: &RefundId, now: i64) -> Result<bool, StoreError> {
        let inserted = self
            .write_statement(
                "INSERT INTO refund_resends (refund_id, resent_at) VALUES ($1, $2) \
                 ON CONFLICT (refund_id) DO NOTHING"
                    .to_owned(),
                vec![Bind::Text(Some(id.to_string())), Bind::Int(Some(now))],
            )
            .await?;
        Ok(inserted == 1)
    }

    /// When refund `id`'s one re-send was claimed, if it was.
    pub(crate) async fn resent_at(&self, id: &RefundId) -> Result<Option<i64>, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT resent_at FROM refund_resends WHERE refund_id = $1")
                .bind(id.to_string())
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    /// Whether refund `id`'s history has a `requires_attention` line for `reason`.
    pub(crate) async fn was_flagged_for(
        &self,
        id: &RefundId,
        reason: AttentionReason,
    ) -> Result<bool, StoreError> {
        let rows = sqlx::query(
            "SELECT detail FROM refund_events WHERE refund_id = $1 AND kind = 'requires_attention'",
        )
        .bind(id.to_string())
        .fetch_all(&self.pool)
        .await?;
        for row in rows {
            let detail: String = row.try_get("detail")?;
            let detail: serde_json::Value = serde_json::from_str(&detail)
                .map_err(|e| StoreError::Corrupt(format!("event detail: {e}")))?;
            if detail["reason"] == reason.as_str() {
                return Ok(true);
            }
        }
        Ok(false)
    }
}
