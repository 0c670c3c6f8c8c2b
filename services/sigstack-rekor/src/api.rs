//! The Rekor v1 REST API (`spec/log.md` §1) over [`RekorLog`]. Every path is
//! also served with a trailing slash (sigstore-python posts to
//! `/api/v1/log/entries/retrieve/`).

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, OriginalUri, Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get, post};
use sigstack_engine::EngineStore;

use crate::error::{RekorError, validation};
use crate::log::{Operation, RekorLog};
use crate::model::{LogEntry, json_line};
use crate::search::{SearchIndex, SearchLogQuery, parse_body};

/// The router of the v1 API for one log. `body_limit` bounds every request
/// body (413 with a JSON message above it).
pub fn router<S: EngineStore>(log: Arc<RekorLog<S>>, body_limit: usize) -> Router {
    let timeout = log.request_timeout();
    let mut router = Router::new();
    let routes: Vec<(&str, MethodRouter<Arc<RekorLog<S>>>)> = vec![
        ("/api/v1/log", get(log_info::<S>)),
        ("/api/v1/log/publicKey", get(public_key::<S>)),
        ("/api/v1/log/proof", get(consistency::<S>)),
        (
            "/api/v1/log/entries",
            post(create::<S>).get(entry_by_index::<S>),
        ),
        ("/api/v1/log/entries/retrieve", post(retrieve::<S>)),
        ("/api/v1/log/entries/{entry_uuid}", get(entry_by_uuid::<S>)),
        ("/api/v1/index/retrieve", post(search_index::<S>)),
    ];
    for (path, handler) in routes {
        router = router
            .route(path, handler.clone())
            .route(&format!("{path}/"), handler);
    }
    router
        // Rekor's liveness answer.
        .route("/ping", get(|| async { "pong" }))
        .fallback(|| async { RekorError::NotFound("no such endpoint".into()) })
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(axum::middleware::from_fn_with_state(timeout, time_limit))
        .with_state(log)
}

/// Answers 504 for a request that outlives `limit`. A create cut off here
/// may still be committed; the client's retry then hears 409 naming it.
async fn time_limit(
    State(limit): State<std::time::Duration>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => RekorError::Timeout.into_response(),
    }
}

/// A JSON answer with Rekor's content type.
fn json(status: StatusCode, body: Vec<u8>) -> Response {
    let mut response = (status, body).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// The request body, or the 413 of `spec/log.md` §1.1 when it is over the limit.
fn body_or_limit(body: Result<Bytes, BytesRejection>, limit: usize) -> Result<Bytes, RekorError> {
    match body {
        Ok(bytes) => Ok(bytes),
        Err(rejection) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            Err(RekorError::TooLarge(limit))
        }
        Err(rejection) => Err(RekorError::BadRequest(rejection.body_text())),
    }
}

async fn log_info<S: EngineStore>(
    State(log): State<Arc<RekorLog<S>>>,
) -> Result<Response, RekorError> {
    log.check_enabled(Operation::GetLogInfo)?;
    Ok(json(StatusCode::OK, json_line(&log.log_info().await?)))
}

async fn public_key<S: EngineStore>(
    State(log): State<Arc<RekorLog<S>>>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Response, RekorError> {
    log.check_enabled(Operation::GetPublicKey)?;
    let tree = optional_tree_id(&query)?;
    let pem = log.public_key_pem(tree)?;
    let mut response = (StatusCode::OK, pem.to_owned()).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/x-pem-file"),
    );
    Ok(response)
}

async fn consistency<S: EngineStore>(
    State(log): State<Arc<RekorLog<S>>>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Response, RekorError> {
    log.check_enabled(Operation::GetLogProof)?;
    let first = match query.get("firstSize") {
        None => 1,
        Some(v) => positive_int(v, "firstSize", "query")?,
    };
    let last = match query.get("lastSize") {
        None => {
            return Err(RekorError::unprocessable(
                validation::REQUIRED,
                "lastSize in query is required",
            ));
        }
        Some(v) => positive_int(v, "lastSize", "query")?,
    };
    let tree = optional_tree_id(&query)?;
    Ok(json(
        StatusCode::OK,
        json_line(&log.consistency(first, last, tree).await?),
    ))
}

async fn create<S: EngineStore>(
    State(log): State<Arc<RekorLog<S>>>,
    OriginalUri(uri): OriginalUri,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, RekorError> {
    log.check_enabled(Operation::CreateLogEntry)?;
    let body = body_or_limit(body, log.body_limit())?;
    if body.is_empty() {
        return Err(RekorError::unprocessable(
            validation::REQUIRED,
            "proposedEntry in body is required",
        ));
    }
    let path = uri.path().trim_end_matches('/');
    let entry = log.create(&body, path).await?;
    let mut response = json(StatusCode::CREATED, entry.to_response_bytes());
    let headers = response.headers_mut();
    if let Ok(etag) = HeaderValue::from_str(&entry.entry_id) {
        headers.insert(header::ETAG, etag);
    }
    if let Ok(location) = HeaderValue::from_str(&format!("{path}/{}", entry.entry_id)) {
        headers.insert(header::LOCATION, location);
    }
    Ok(response)
}

async fn entry_by_index<S: EngineStore>(
    State(log): State<Arc<RekorLog<S>>>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Response, RekorError> {
    log.check_enabled(Operation::GetLogEntryByIndex)?;
    let index = match query.get("logIndex") {
        None => {
            return Err(RekorError::unprocessable(
                validation::REQUIRED,
                "logIndex in query is required",
            ));
        }
        Some(v) => non_negative_int(v, "logIndex", "query")?,
    };
    let entry = log.entry_at(index).await?;
    Ok(json(StatusCode::OK, entry.to_response_bytes()))
}

async fn entry_by_uuid<S: EngineStore>(
    State(log): State<Arc<RekorLog<S>>>,
    Path(id): Path<String>,
) -> Result<Response, RekorError> {
    log.check_enabled(Operation::GetLogEntryByUuid)?;
    let entry = log.entry_by_id(&id).await?;
    Ok(json(StatusCode::OK, entry.to_response_bytes()))
}

async fn retrieve<S: EngineStore>(
    State(log): State<Arc<RekorLog<S>>>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, RekorError> {
    log.check_enabled(Operation::SearchLogQuery)?;
    let body = body_or_limit(body, log.body_limit())?;
    let query: SearchLogQuery = parse_body(&body, "entry")?;
    let entries = log.retrieve(query).await?;
    let array: Vec<serde_json::Value> = entries.iter().map(LogEntry::to_json_value).collect();
    Ok(json(StatusCode::OK, json_line(&array)))
}

async fn search_index<S: EngineStore>(
    State(log): State<Arc<RekorLog<S>>>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, RekorError> {
    log.check_enabled(Operation::SearchIndex)?;
    let body = body_or_limit(body, log.body_limit())?;
    let query: SearchIndex = parse_body(&body, "query")?;
    Ok(json(
        StatusCode::OK,
        json_line(&log.search_index(query).await?),
    ))
}

fn non_negative_int(value: &str, name: &str, place: &str) -> Result<u64, RekorError> {
    match value.parse::<i64>() {
        Ok(n) if n >= 0 => Ok(n.unsigned_abs()),
        Ok(_) => Err(RekorError::unprocessable(
            validation::MINIMUM,
            format!("{name} in {place} should be greater than or equal to 0"),
        )),
        Err(_) => Err(RekorError::unprocessable(
            validation::INVALID_TYPE,
            format!("{name} in {place} must be of type int64: \"{value}\""),
        )),
    }
}

fn positive_int(value: &str, name: &str, place: &str) -> Result<u64, RekorError> {
    match non_negative_int(value, name, place)? {
        0 => Err(RekorError::unprocessable(
            validation::MINIMUM,
            format!("{name} in {place} should be greater than or equal to 1"),
        )),
        n => Ok(n),
    }
}

fn optional_tree_id(query: &HashMap<String, String>) -> Result<Option<i64>, RekorError> {
    match query.get("treeID").map(String::as_str) {
        None | Some("") => Ok(None),
        Some(v) if v.bytes().all(|b| b.is_ascii_digit()) => v
            .parse::<i64>()
            .map(Some)
            .map_err(|_| RekorError::BadRequest(format!("no log range found for tree ID {v}"))),
        Some(_) => Err(RekorError::unprocessable(
            validation::PATTERN,
            "treeID in query should match '^[0-9]+$'",
        )),
    }
}
