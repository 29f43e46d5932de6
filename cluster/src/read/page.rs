//! Pagination, search and filter helpers shared by the lists.

use std::collections::BTreeMap;

use crate::error::{ClusterError, Result};
use crate::query::{Page, PageParams};

/// Cuts one page out of `items`.
pub fn paginate<T>(items: Vec<T>, page: PageParams) -> Page<T> {
    Page::of(items, page)
}

/// The ids of one page, to load only those.
pub fn page_of<T: Clone>(ids: &[T], page: PageParams) -> (Vec<T>, u64) {
    let start = usize::try_from(page.offset())
        .unwrap_or(usize::MAX)
        .min(ids.len());
    let end = start
        .saturating_add(usize::try_from(page.limit).unwrap_or(usize::MAX))
        .min(ids.len());
    (ids[start..end].to_vec(), ids.len() as u64)
}

/// True when `search` is absent or found (case-insensitively) in one of `fields`.
pub fn matches(search: &Option<String>, fields: &[Option<&str>]) -> bool {
    let Some(needle) = search.as_deref().map(str::trim).filter(|s| !s.is_empty()) else {
        return true;
    };
    let needle = needle.to_lowercase();
    fields
        .iter()
        .flatten()
        .any(|field| field.to_lowercase().contains(&needle))
}

/// A boolean filter (`true`/`false`), if present.
pub fn bool_filter(filters: &BTreeMap<String, String>, key: &str) -> Result<Option<bool>> {
    match filters.get(key).map(String::as_str) {
        None => Ok(None),
        Some("true") | Some("1") => Ok(Some(true)),
        Some("false") | Some("0") => Ok(Some(false)),
        Some(_) => Err(ClusterError::InvalidQuery {
            message: format!("{key} must be true or false"),
        }),
    }
}

/// Checks `sort_by` against the list's sortable fields, returning the chosen one.
pub fn sort_field<'a>(
    sort_by: &'a Option<String>,
    allowed: &[&'a str],
    default: &'a str,
) -> Result<&'a str> {
    match sort_by.as_deref() {
        None => Ok(default),
        Some(field) if allowed.contains(&field) => Ok(field),
        Some(_) => Err(ClusterError::InvalidQuery {
            message: format!("sortBy must be one of {}", allowed.join(", ")),
        }),
    }
}
