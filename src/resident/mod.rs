//! The resident process: one background process per resource while it has work (announcement
//! rounds still owed, refreshes, standby adapters to watch, link watching). Its instructions
//! are a typed [`Plan`]; its decisions are a pure state machine (`machine`), run by the event
//! loop in `host::resident`.

pub mod machine;
pub mod plan;

pub use plan::{AddressTemplate, Plan};
