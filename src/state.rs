//! What every handler can reach: the engine (store, providers, config, metrics).

use crate::engine::Engine;

#[derive(Debug, Clone)]
pub struct AppState {
    pub engine: Engine,
}
