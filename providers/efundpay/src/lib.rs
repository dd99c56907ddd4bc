//! Adapter for efundpay.
