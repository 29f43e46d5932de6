//! Pushed authorization requests (RFC 9126), stored under their `request_uri`.

use crate::error::Result;
use crate::model::PushedRequest;
use crate::query::Outcome;
use crate::tables::{OrgTx, Table};

use super::Applied;

pub(super) fn push_request(
    tx: &mut OrgTx,
    request_uri: &str,
    request: &PushedRequest,
) -> Result<Applied> {
    tx.put(Table::PushedRequest, request_uri.as_bytes(), request)?;
    Ok((Outcome::Done, Vec::new()))
}
