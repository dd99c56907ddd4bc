//! What every provider's `Sandbox` handle is and has, written once as
//! [`sandbox_handle!`](crate::sandbox_handle): its server and shared state, its address,
//! its faults and its [`Simulator`](crate::Simulator). Each simulator keeps its server,
//! faults and effects the same way, so only its samples and its own inspection methods are
//! its own.

/// Declares a provider's `Sandbox(Shared)` with its `Faults` type and provider id: the
/// struct, holding the server ([`Running`](crate::sandbox_kit::Running)) and the state its
/// handlers share (`Arc<Shared>`, whose `faults` is the sandbox's
/// [`FaultCell`](crate::sandbox_kit::FaultCell)); its methods `base_url`, `set_faults` and
/// `faults`; and its [`Simulator`](crate::Simulator). The provider writes `start` and an
/// inherent `effects()` whose records carry the fields of
/// [`AppliedEffect`](crate::AppliedEffect), and beside them, in the same module,
/// `sample_request(tag)`. After a `;`, a block of more `Simulator` methods of its own
/// (Stripe's `set_webhook_url`).
#[macro_export]
macro_rules! sandbox_handle {
    ($(#[$doc:meta])* $sandbox:ident($shared:ty), $faults:ty, $provider:expr) => {
        $crate::sandbox_handle!(@impl [$(#[$doc])*] $sandbox, $shared, $faults, $provider, {});
    };
    ($(#[$doc:meta])* $sandbox:ident($shared:ty), $faults:ty, $provider:expr; { $($more:tt)* }) => {
        $crate::sandbox_handle!(@impl [$(#[$doc])*] $sandbox, $shared, $faults, $provider, { $($more)* });
    };
    (@impl [$(#[$doc:meta])*] $sandbox:ident, $shared:ty, $faults:ty, $provider:expr, { $($more:tt)* }) => {
        $(#[$doc])*
        #[derive(Debug)]
        pub struct $sandbox {
            running: $crate::sandbox_kit::Running,
            shared: std::sync::Arc<$shared>,
        }

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
                $sandbox::effects(self)
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

            $($more)*

            fn as_any(&self) -> &dyn std::any::Any {
                self
            }
        }
    };
}
