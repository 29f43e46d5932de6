//! Request extractors: the org call context, strict JSON bodies, list queries.

pub mod body;
pub(crate) mod ctx;
mod list;

pub use body::{Body, JsonBody, OptionalJsonBody};
pub use ctx::{Ctx, in_family};
pub use list::ListQuery;
