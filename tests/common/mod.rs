//! Shared support for integration tests. Each test binary includes this with `mod common;`
//! and uses only part of it, hence the allows.
#![allow(dead_code, unused_imports)]

pub mod agent;
pub mod lab;
pub mod listen;
pub mod soak;

pub use agent::*;
pub use lab::*;
pub use listen::*;
