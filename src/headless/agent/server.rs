//! The agent's HTTP side: `/metrics`, `/healthz` and `/readyz`.

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::analysis::{AnalysisConfig, ViewModel};
use crate::model::time::{EpochMs, SECOND, now_ms};
use crate::store::{Store, TimeMode};

use super::metrics::{Caps, Format, collect};

/// How long an analysis is reused by scrapes and readiness checks when the store has moved
/// on; scrapes of an unchanged store always reuse it.
pub const ANALYSIS_MAX_AGE_MS: EpochMs = 5 * SECOND;

/// What the handlers share with the agent's tasks.
#[derive(Debug)]
pub struct AgentState {
    pub store: Arc<Mutex<Store>>,
    analysis: Mutex<AnalysisConfig>,
    pub caps: Caps,
    /// The latest analysis: the store generation and wall time it was made at.
    latest: Mutex<Option<(u64, EpochMs, Arc<ViewModel>)>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl AgentState {
    pub fn new(store: Arc<Mutex<Store>>, analysis: AnalysisConfig, caps: Caps) -> AgentState {
        AgentState {
            store,
            analysis: Mutex::new(analysis),
            caps,
            latest: Mutex::new(None),
        }
    }

    /// The analysis of `store` as it is now, reused when nothing changed or when it is
    /// younger than [`ANALYSIS_MAX_AGE_MS`].
    fn analysis_of(&self, store: &Store, wall: EpochMs) -> Arc<ViewModel> {
        let mut latest = lock(&self.latest);
        if let Some((generation, at, vm)) = latest.as_ref()
            && (*generation == store.generation() || wall - at < ANALYSIS_MAX_AGE_MS)
        {
            return vm.clone();
        }
        let cfg = lock(&self.analysis).clone();
        let vm = Arc::new(crate::analysis::snapshot_with(store, wall, &cfg));
        *latest = Some((store.generation(), wall, vm.clone()));
        vm
    }

    /// Moves the live clock and refreshes the analysis once no source is still loading.
    /// Returns whether it is ready, and why not.
    pub fn refresh(&self) -> Result<(), String> {
        let wall = now_ms();
        let mut store = lock(&self.store);
        if store.mode() == TimeMode::Live {
            store.tick(wall);
        }
        if let Some(reason) = not_ready(&store) {
            return Err(reason);
        }
        self.analysis_of(&store, wall);
        Ok(())
    }

    /// Takes new analysis settings (a reloaded configuration); the next scrape uses them.
    pub fn set_analysis(&self, cfg: AnalysisConfig) {
        *lock(&self.analysis) = cfg;
        *lock(&self.latest) = None;
    }

    /// The `/metrics` text.
    pub fn metrics(&self, format: Format) -> String {
        let wall = now_ms();
        let snapshot = {
            let mut store = lock(&self.store);
            if store.mode() == TimeMode::Live {
                store.tick(wall);
            }
            let vm = self.analysis_of(&store, wall);
            collect(&store, &vm, self.caps, wall)
        };
        snapshot.encode(format)
    }

    /// `/readyz`: ready once every source has started and read its history, and an analysis
    /// of what they read exists.
    pub fn readiness(&self) -> (bool, serde_json::Value) {
        let store = lock(&self.store);
        let mut reason = not_ready(&store);
        if reason.is_none() && lock(&self.latest).is_none() {
            reason = Some("the first analysis is not done yet".into());
        }
        let body = serde_json::json!({
            "ready": reason.is_none(),
            "reason": reason,
            "sources": sources_json(&store),
            "probes": store.probe_latest().len(),
        });
        (reason.is_none(), body)
    }

    /// `/healthz`: the process serves; the sources' state for whoever looks.
    pub fn health(&self) -> serde_json::Value {
        let store = lock(&self.store);
        serde_json::json!({ "status": "serving", "sources": sources_json(&store) })
    }
}

/// Why the agent is not ready yet: a source that has not started or is reading its history.
pub fn not_ready(store: &Store) -> Option<String> {
    let waiting: Vec<String> = store
        .sources()
        .iter()
        .filter(|s| {
            s.state == "starting" || s.state.starts_with(crate::store::history::READING_HISTORY)
        })
        .map(|s| format!("{}: {}", s.label, s.state))
        .collect();
    (!waiting.is_empty()).then(|| format!("sources not read yet: {}", waiting.join(", ")))
}

fn sources_json(store: &Store) -> serde_json::Value {
    store
        .sources()
        .iter()
        .map(|s| {
            serde_json::json!({
                "source": s.label,
                "state": s.state,
                "format": s.format,
                "lines": s.lines,
                "parse_errors": s.parse_errors,
                "problem": s.problem,
            })
        })
        .collect()
}

async fn metrics(State(state): State<Arc<AgentState>>, headers: HeaderMap) -> Response {
    let accept = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let format = Format::negotiate(accept.as_deref());
    tracing::debug!(?format, "scrape");
    let body = tokio::task::spawn_blocking(move || state.metrics(format))
        .await
        .unwrap_or_default();
    ([(header::CONTENT_TYPE, format.content_type())], body).into_response()
}

fn json(code: StatusCode, body: &serde_json::Value) -> Response {
    (
        code,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

async fn healthz(State(state): State<Arc<AgentState>>) -> Response {
    json(StatusCode::OK, &state.health())
}

async fn readyz(State(state): State<Arc<AgentState>>) -> Response {
    let (ready, body) = state.readiness();
    let code = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    json(code, &body)
}

/// The agent's routes.
pub fn router(state: Arc<AgentState>) -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .with_state(state)
}
