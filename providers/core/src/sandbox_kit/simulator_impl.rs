//! What every provider's `Sandbox` handle has, written once as
//! [`sandbox_handle!`](crate::sandbox_handle): its address, its faults and its
//! [`Simulator`](crate::Simulator). Each simulator keeps its server, faults and effects the
//! same way, so only its samples and its own inspection methods are its own.

/// Implements, for a provider's `Sandbox` with its `Faults` type and provider id, the
/// methods `base_url`, `set_faults` and `faults`, and [`Simulator`](crate::Simulator). The
/// `Sandbox` is a struct with the fields `running: Running` and `shared` (whose `faults` is
/// the sandbox's [`FaultCell`](crate::sandbox_kit::FaultCell)) and an inherent `effects()`
/// whose records carry the fields of [`AppliedEffect`](crate::AppliedEffect); beside it, in
/// the same module, are `sample_request(tag)` and `sample_merchant_body(tag)`. Add
/// `set_webhook_url` for a sandbox whose own `set_webhook_url` says where webhooks go.
#[macro_export]
macro_rules! sandbox_handle {
    ($sandbox:ty, $faults:ty, $provider:expr) => {
        $crate::sandbox_handle!(@impl $sandbox, $faults, $provider, {});
    };
    ($sandbox:ty, $faults:ty, $provider:expr, set_webhook_url) => {
        $crate::sandbox_handle!(@impl $sandbox, $faults, $provider, {
            fn set_webhook_url(&self, url: Option<String>) {
                <$sandbox>::set_webhook_url(self, url);
            }
        });
    };
    (@impl $sandbox:ty, $faults:ty, $provider:expr, { $($more:tt)* }) => {
        impl $sandbox {
            /// `http://127.0.0.1:PORT` (loopback when bound to an unspecified address).
            pub fn base_url(&self) -> String {
                self.running.base_url()
            }

            /// Replaces the faults in force (same as `POST /_sandbox/faults`).
            pub fn set_faults(&self, faults: $faults) {
                self.shared.faults.set(faults);
            }

            /// The faults in force, counters as they stand.
            pub fn faults(&self) -> $faults {
                self.shared.faults.get()
            }
        }

        impl $crate::Simulator for $sandbox {
            fn provider(&self) -> &'static str {
                $provider
            }

            fn base_url(&self) -> String {
                self.running.base_url()
            }

            fn set_faults(&self, counted: $crate::sandbox_kit::FaultCounters) {
                self.shared.faults.set_counters(counted);
            }

            fn faults(&self) -> $crate::sandbox_kit::FaultCounters {
                self.shared.faults.counters()
            }

            fn effects(&self) -> Vec<$crate::AppliedEffect> {
                <$sandbox>::effects(self)
                    .into_iter()
                    .map(|effect| $crate::AppliedEffect {
                        reference: effect.reference,
                        payment_id: effect.payment_id,
                        amount_minor: effect.amount_minor,
                        currency: effect.currency,
                        status: effect.status,
                    })
                    .collect()
            }

            fn sample_request(&self, tag: &str) -> $crate::ProviderRefundRequest {
                sample_request(tag)
            }

            fn sample_merchant_body(&self, tag: &str) -> serde_json::Value {
                sample_merchant_body(tag)
            }

            $($more)*

            fn as_any(&self) -> &dyn std::any::Any {
                self
            }
        }
    };
}
