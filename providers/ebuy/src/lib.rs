//! Adapter for ebuy.
