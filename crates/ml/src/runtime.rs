//! The process-wide ONNX Runtime environment, loaded once from
//! `ORT_DYLIB_PATH`.
//!
//! The path comes from the environment at run time, or else from the value
//! `.cargo/config.toml` gave at build time (`target/onnxruntime/...`). The
//! file is checked before ort sees it, because ort panics on a bad path.

use std::path::PathBuf;
use std::sync::{Mutex, OnceLock};

use ort::environment::Environment;

use crate::MlError;

static ENVIRONMENT: OnceLock<Environment> = OnceLock::new();
static INIT: Mutex<()> = Mutex::new(());

/// Where the ONNX Runtime library is expected.
pub fn library_path() -> PathBuf {
    std::env::var_os("ORT_DYLIB_PATH")
        .map(PathBuf::from)
        .or_else(|| option_env!("ORT_DYLIB_PATH").map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from("target/onnxruntime/libonnxruntime.so.1.32.0"))
}

/// The environment, created on first use.
///
/// # Errors
/// [`MlError::LibraryMissing`] with the fetch command if the library file
/// is not there; [`MlError::LibraryLoad`] if it cannot be loaded.
pub fn environment() -> Result<&'static Environment, MlError> {
    if let Some(env) = ENVIRONMENT.get() {
        return Ok(env);
    }
    environment_at(&library_path())
}

/// The environment, loading the library from `path` if no environment
/// exists yet (once one exists, `path` is ignored: ONNX Runtime is loaded
/// once per process).
///
/// # Errors
/// As [`environment`].
pub fn environment_at(path: &std::path::Path) -> Result<&'static Environment, MlError> {
    let _guard = INIT.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(env) = ENVIRONMENT.get() {
        return Ok(env);
    }
    let path = path.to_path_buf();
    if !path.is_file() {
        return Err(MlError::LibraryMissing {
            path: path.display().to_string(),
        });
    }
    let shown = path.display().to_string();
    let load = std::panic::catch_unwind(|| -> Result<Environment, MlError> {
        let builder = ort::init_from(&path).map_err(|e| MlError::LibraryLoad {
            path: shown.clone(),
            detail: e.to_string(),
        })?;
        builder
            .with_name("kmidi")
            .build()
            .map_err(|e| MlError::LibraryLoad {
                path: shown.clone(),
                detail: e.to_string(),
            })
    })
    .map_err(|_| MlError::LibraryLoad {
        path: path.display().to_string(),
        detail: "ONNX Runtime panicked while loading; is this libonnxruntime.so 1.32?".into(),
    })??;
    Ok(ENVIRONMENT.get_or_init(|| load))
}
