//! List query parameters: `page`, `limit`, `search`, `sortBy`, `sortDir` and filters.

use std::collections::BTreeMap;

use axum::extract::{FromRequestParts, RawQuery};
use axum::http::request::Parts;
use lumo_cluster::clock::Timestamp;
use lumo_cluster::query::{ListParams, PageParams};

use crate::error::{ApiError, ApiResult};

/// Parsed query string of a list endpoint.
pub struct ListQuery {
    pairs: Vec<(String, String)>,
}

impl<S: Send + Sync> FromRequestParts<S> for ListQuery {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> ApiResult<ListQuery> {
        let RawQuery(raw) = RawQuery::from_request_parts(parts, state)
            .await
            .map_err(|e| ApiError::BadRequest(e.to_string()))?;
        let raw = raw.unwrap_or_default();
        if raw.len() > 8192 {
            return Err(ApiError::BadRequest("query string too long".into()));
        }
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(&raw)
            .map_err(|e| ApiError::BadRequest(format!("malformed query string: {e}")))?;
        Ok(ListQuery { pairs })
    }
}

fn positive(name: &str, value: &str, max: u64) -> ApiResult<u64> {
    match value.trim().parse::<u64>() {
        Ok(n) if n >= 1 && n <= max => Ok(n),
        _ => Err(ApiError::BadRequest(format!(
            "{name} must be an integer between 1 and {max}"
        ))),
    }
}

impl ListQuery {
    /// The value of `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// `page` (from 1) and `limit` (1-100; larger values are capped at 100).
    pub fn page(&self) -> ApiResult<PageParams> {
        let page = match self.get("page") {
            Some(v) => positive("page", v, 1_000_000_000)?,
            None => 1,
        };
        let limit = match self.get("limit").or_else(|| self.get("per_page")) {
            Some(v) => positive("limit", v, u64::from(u32::MAX))?.min(PageParams::MAX_LIMIT),
            None => PageParams::DEFAULT_LIMIT,
        };
        Ok(PageParams { page, limit })
    }

    /// Page, search, sort and the filters named in `filters`.
    pub fn list(&self, filters: &[&str]) -> ApiResult<ListParams> {
        let sort_desc = match self.get("sortDir").or_else(|| self.get("sortOrder")) {
            None => None,
            Some(v) if v.eq_ignore_ascii_case("desc") || v.eq_ignore_ascii_case("descending") => {
                Some(true)
            }
            Some(v) if v.eq_ignore_ascii_case("asc") || v.eq_ignore_ascii_case("ascending") => {
                Some(false)
            }
            Some(_) => return Err(ApiError::BadRequest("sortDir must be ASC or DESC".into())),
        };
        let mut map = BTreeMap::new();
        for name in filters {
            if let Some(value) = self.get(name) {
                map.insert(name.to_string(), value.to_string());
            }
        }
        Ok(ListParams {
            page: self.page()?,
            search: self
                .get("search")
                .or_else(|| self.get("q"))
                .map(|s| s.chars().take(200).collect()),
            sort_by: self.get("sortBy").map(str::to_string),
            sort_desc,
            filters: map,
        })
    }

    /// A date/time parameter (RFC 3339 or `YYYY-MM-DD`).
    pub fn time(&self, names: &[&str]) -> ApiResult<Option<Timestamp>> {
        for name in names {
            if let Some(value) = self.get(name) {
                return Timestamp::parse(value).map(Some).ok_or_else(|| {
                    ApiError::BadRequest(format!("{name} must be an ISO-8601 date or date-time"))
                });
            }
        }
        Ok(None)
    }

    /// An integer parameter within `[min, max]`.
    pub fn int(&self, name: &str, min: u32, max: u32) -> ApiResult<Option<u32>> {
        match self.get(name) {
            None => Ok(None),
            Some(v) => match v.trim().parse::<u32>() {
                Ok(n) if n >= min && n <= max => Ok(Some(n)),
                _ => Err(ApiError::BadRequest(format!(
                    "{name} must be an integer between {min} and {max}"
                ))),
            },
        }
    }
}
