#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod clock;
pub mod connection;
pub mod engine;
pub mod error;
pub mod metrics;
pub mod model;
pub mod plan;
mod random;
pub mod replica;
pub mod rules;
#[cfg(feature = "http")]
#[cfg_attr(docsrs, doc(cfg(feature = "http")))]
pub mod server;
pub mod store;
#[cfg(any(test, feature = "testkit"))]
pub mod testkit;
pub mod tracker;
pub mod transport;
pub mod trigger;

pub use connection::Invitation;
pub use error::{Error, ErrorKind, ErrorScope, Result};
pub use tracker::{MemoryTracker, Tracker};
