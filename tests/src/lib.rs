//! Whole-system tests live in `api/`; this crate has no library code.
#![forbid(unsafe_code)]
