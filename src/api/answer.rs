//! What several endpoints answer alike: a JSON body, marked `Idempotent-Replayed: true` when
//! it replays an earlier answer, and the `{"object": "list", "data", "has_more"}` page of the
//! cursor-paged lists.

use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use serde_json::{json, Value};

/// `body` (JSON text) answered with `status`; a `replayed` answer says so in its headers.
pub(crate) fn json_response(status: StatusCode, body: String, replayed: bool) -> Response {
    let mut response = (status, [(CONTENT_TYPE, "application/json")], body).into_response();
    if replayed {
        response
            .headers_mut()
            .insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    response
}

/// A page of a cursor-paged list, from `rows` read with one more than `limit`: that extra row
/// is not listed, it only tells that there is more (`has_more`).
pub(crate) fn list_page<T, U: Serialize>(
    mut rows: Vec<T>,
    limit: u32,
    render: impl FnMut(&T) -> U,
) -> Json<Value> {
    let has_more = rows.len() > limit as usize;
    rows.truncate(limit as usize);
    let data: Vec<U> = rows.iter().map(render).collect();
    Json(json!({"object": "list", "data": data, "has_more": has_more}))
}
