//! `refund-provider`: the contract between the gateway and each payment provider — the
//! `RefundProvider` trait, money and id types, request/outcome/error/webhook types, the
//! shared webhook signature scheme, HTTP helpers, (feature `testkit`) the conformance kit and
//! (feature `sandbox-kit`) what the provider simulators share.

pub mod error;
pub mod http;
pub mod ids;
pub mod money;
pub mod options;
pub mod outcome;
pub mod provider;
pub mod request;
pub mod settings;
pub mod signature;
pub mod webhook;

#[cfg(feature = "testkit")]
pub mod conformance;
#[cfg(feature = "sandbox-kit")]
pub mod sandbox_kit;

pub use error::{FailureCode, ProviderError};
pub use ids::{is_printable_ascii, IdError, PaymentId, ProviderId, RefundId};
pub use money::{Currency, MinorUnits, Money, MoneyError};
pub use options::parse_options;
pub use outcome::{BreakdownLine, Failure, ProviderRefund, ProviderRefundStatus};
pub use provider::{validate_against_capabilities, Capabilities, RefundProvider, RestRefund};
pub use request::{ProviderRefundRequest, RequestInvalid};
pub use secrecy::{ExposeSecret, SecretString};
pub use settings::{BuildContext, ConfigProblem, Problems};
pub use webhook::ProviderWebhook;

pub use async_trait::async_trait;
