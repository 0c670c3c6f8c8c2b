//! The RFC 6962 §4 v1 API under `/ct/v1/` over [`CtLog`].

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use sigstack_engine::EngineStore;

use crate::error::CtError;
use crate::log::CtLog;
use crate::model::AddChainRequest;

type Params = Query<HashMap<String, String>>;

/// The router of the v1 API for one log; other paths answer 404 JSON.
pub fn router<S: EngineStore>(log: Arc<CtLog<S>>) -> Router {
    routes(log).fallback(not_found)
}

/// [`router`] without its fallback, to merge next to other services' routes
/// (axum refuses to merge two routers that both have one).
pub fn routes<S: EngineStore>(log: Arc<CtLog<S>>) -> Router {
    let limit = log.body_limit();
    Router::new()
        .route("/ct/v1/add-chain", post(add_chain::<S>))
        .route("/ct/v1/add-pre-chain", post(add_pre_chain::<S>))
        .route("/ct/v1/get-sth", get(sth::<S>))
        .route("/ct/v1/get-sth-consistency", get(consistency::<S>))
        .route("/ct/v1/get-proof-by-hash", get(proof_by_hash::<S>))
        .route("/ct/v1/get-entries", get(entries::<S>))
        .route("/ct/v1/get-roots", get(roots::<S>))
        .layer(DefaultBodyLimit::max(limit))
        .with_state(log)
}

/// The 404 JSON answer of a path no route matches.
pub async fn not_found() -> Response {
    CtError::NotFound("no such endpoint".into()).into_response()
}

async fn add_chain<S: EngineStore>(
    State(log): State<Arc<CtLog<S>>>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, CtError> {
    add(&log, body, false).await
}

async fn add_pre_chain<S: EngineStore>(
    State(log): State<Arc<CtLog<S>>>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, CtError> {
    add(&log, body, true).await
}

async fn add<S: EngineStore>(
    log: &CtLog<S>,
    body: Result<Bytes, BytesRejection>,
    precert: bool,
) -> Result<Response, CtError> {
    let body = body.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            CtError::TooLarge(log.body_limit())
        } else {
            CtError::BadRequest(rejection.body_text())
        }
    })?;
    let request: AddChainRequest = serde_json::from_slice(&body)
        .map_err(|e| CtError::BadRequest(format!("malformed request body: {e}")))?;
    Ok(Json(log.add(&request.chain, precert).await?).into_response())
}

async fn sth<S: EngineStore>(State(log): State<Arc<CtLog<S>>>) -> Result<Response, CtError> {
    Ok(Json(log.signed_tree_head().await?).into_response())
}

async fn consistency<S: EngineStore>(
    State(log): State<Arc<CtLog<S>>>,
    Query(params): Params,
) -> Result<Response, CtError> {
    let first = number(&params, "first")?;
    let second = number(&params, "second")?;
    Ok(Json(log.consistency(first, second).await?).into_response())
}

async fn proof_by_hash<S: EngineStore>(
    State(log): State<Arc<CtLog<S>>>,
    Query(params): Params,
) -> Result<Response, CtError> {
    let hash = params
        .get("hash")
        .ok_or_else(|| CtError::BadRequest("missing parameter hash".into()))?;
    let size = number(&params, "tree_size")?;
    Ok(Json(log.proof_by_hash(hash, size).await?).into_response())
}

async fn entries<S: EngineStore>(
    State(log): State<Arc<CtLog<S>>>,
    Query(params): Params,
) -> Result<Response, CtError> {
    let start = number(&params, "start")?;
    let end = number(&params, "end")?;
    Ok(Json(log.entries(start, end).await?).into_response())
}

async fn roots<S: EngineStore>(State(log): State<Arc<CtLog<S>>>) -> Response {
    Json(log.roots()).into_response()
}

fn number(params: &HashMap<String, String>, name: &str) -> Result<u64, CtError> {
    params
        .get(name)
        .ok_or_else(|| CtError::BadRequest(format!("missing parameter {name}")))?
        .parse()
        .map_err(|_| CtError::BadRequest(format!("parameter {name} is not a non-negative integer")))
}
