//! Bulk refunds (DESIGN §19): a merchant's file of refunds, validated whole before anything
//! is created (`parse`), then turned into refunds in the background at a bounded rate
//! through the same engine path as `POST /v1/refunds` (`worker`).

pub mod parse;
pub mod worker;
