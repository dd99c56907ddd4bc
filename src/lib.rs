//! refund-gateway: one refund API in front of several payment providers.
