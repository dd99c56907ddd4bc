//! `refund-provider`: the contract between the gateway and each payment provider — the
//! `RefundProvider` trait, the provider descriptor (`ProviderPlugin`), money and id types,
//! request/outcome/error/webhook types, the shared webhook signature scheme, HTTP helpers,
//! (feature `testkit`) the conformance kit and test kit, and (feature `sandbox-kit`) the
//! `Simulator` abstraction and what the provider simulators share. The integrator's guide is
//! `providers/README.md`.

pub mod clock;
pub mod error;
pub mod http;
pub mod ids;
pub mod money;
pub mod options;
pub mod outcome;
pub mod plugin;
pub mod proof;
pub mod provider;
pub mod request;
pub mod settings;
pub mod signature;
pub mod webhook;

#[cfg(feature = "testkit")]
pub mod conformance;
#[cfg(feature = "sandbox-kit")]
pub mod sandbox_kit;
#[cfg(feature = "sandbox-kit")]
pub mod simulator;
#[cfg(feature = "testkit")]
pub mod testkit;

pub use clock::{Clock, SharedClock};
pub use error::{FailureCode, ProviderError};
pub use ids::{
    is_dot_segment, is_path_safe_id, is_printable_ascii, IdError, PaymentId, ProviderId, RefundId,
};
pub use money::{Currency, MinorUnits, Money, MoneyError};
pub use options::parse_options;
pub use outcome::{BreakdownLine, Failure, ProviderRefund, ProviderRefundStatus};
pub use plugin::ProviderPlugin;
pub use proof::{Proofs, Trust};
pub use provider::{validate_against_capabilities, Capabilities, RefundProvider, RestRefund};
pub use request::{InvalidCode, ProviderRefundRequest, RequestInvalid};
pub use secrecy::{ExposeSecret, SecretString};
pub use settings::{BuildContext, ConfigProblem, Problems};
pub use webhook::ProviderWebhook;

#[cfg(feature = "sandbox-kit")]
pub use simulator::{merchant_body, sample_refund, AppliedEffect, Simulator, SimulatorOptions};

pub use async_trait::async_trait;
