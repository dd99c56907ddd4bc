//! Adapter for authms.
