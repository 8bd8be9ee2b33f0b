//! floatip: an OCF 1.1 resource agent that moves a floating IPv4/IPv6 address and announces it
//! with gratuitous ARP and unsolicited Neighbor Advertisements.
//!
//! The pure parts (parameters, OCF codes, frames, schedules, decisions) live in this library so
//! they are unit-tested without root; only `host` touches the kernel.

pub mod agent;
pub mod cli;
pub mod clients;
pub mod connections;
pub mod domain;
pub mod error;
pub mod host;
pub mod observe;
pub mod ocf;
pub mod packet;
pub mod params;
pub mod resident;
pub mod resolve;
pub mod schedule;
