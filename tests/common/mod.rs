//! Helpers shared by the integration tests.
#![allow(dead_code)]

pub mod compare;
pub mod model_refs;
pub mod tiny;
