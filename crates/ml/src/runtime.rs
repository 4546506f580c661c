//! The process-wide ONNX Runtime environment, loaded once from
//! `ORT_DYLIB_PATH`.
//!
//! The path comes from the environment at run time, or else from the value
//! `.cargo/config.toml` gave at build time (`target/onnxruntime/...`). The
//! file is checked before ort sees it ([`check_library`]): ort panics on a
//! bad path, and the dynamic loader maps a truncated library and dies with
//! SIGBUS the first time it touches a page past the end of the file, which
//! no Rust code can catch.

use std::path::PathBuf;
use std::sync::{Mutex, OnceLock};

use ort::environment::Environment;

use crate::MlError;
use kmidi_dsp::Cause;

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
    check_library(&path)?;
    let shown = path.display().to_string();
    let load = std::panic::catch_unwind(|| -> Result<Environment, MlError> {
        let builder = ort::init_from(&path).map_err(|e| MlError::LibraryLoad {
            path: shown.clone(),
            detail: e.to_string(),
            source: Some(Cause::new(e)),
        })?;
        builder
            .with_name("kmidi")
            .build()
            .map_err(|e| MlError::LibraryLoad {
                path: shown.clone(),
                detail: e.to_string(),
                source: Some(Cause::new(e)),
            })
    })
    .map_err(|_| MlError::LibraryLoad {
        path: path.display().to_string(),
        detail: "ONNX Runtime panicked while loading; is this libonnxruntime.so 1.32?".into(),
        source: None,
    })??;
    Ok(ENVIRONMENT.get_or_init(|| load))
}

/// The ELF machine this build runs on.
#[cfg(target_arch = "x86_64")]
const ELF_MACHINE: u16 = 62;
#[cfg(target_arch = "aarch64")]
const ELF_MACHINE: u16 = 183;
#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
const ELF_MACHINE: u16 = 0;

/// Checks that `path` is a whole 64-bit little-endian ELF shared object for
/// this machine before the dynamic loader maps it: its section headers and
/// every loadable segment must lie inside the file. A truncated copy (an
/// interrupted download) otherwise kills the process with SIGBUS.
///
/// # Errors
/// [`MlError::LibraryLoad`] saying what is wrong and to fetch it again.
pub fn check_library(path: &std::path::Path) -> Result<(), MlError> {
    let fail = |detail: String| MlError::LibraryLoad {
        path: path.display().to_string(),
        detail: format!("{detail}; run scripts/fetch_onnxruntime.sh to fetch it again"),
        source: None,
    };
    let bytes = std::fs::read(path).map_err(|e| fail(format!("cannot read it: {e}")))?;
    let size = bytes.len() as u64;
    let u16_at = |o: usize| {
        bytes
            .get(o..o + 2)
            .map(|b| u16::from_le_bytes([b[0], b[1]]))
    };
    let u32_at = |o: usize| {
        bytes
            .get(o..o + 4)
            .map(|b| u32::from_le_bytes(b.try_into().unwrap_or([0; 4])))
    };
    let u64_at = |o: usize| {
        bytes
            .get(o..o + 8)
            .map(|b| u64::from_le_bytes(b.try_into().unwrap_or([0; 8])))
    };
    if bytes.len() < 64 || &bytes[..4] != b"\x7fELF" {
        return Err(fail(format!("not an ELF library ({size} bytes)")));
    }
    if bytes[4] != 2 || bytes[5] != 1 {
        return Err(fail("not a 64-bit little-endian ELF library".into()));
    }
    let machine = u16_at(0x12).unwrap_or(0);
    if machine != ELF_MACHINE {
        return Err(fail(format!(
            "built for ELF machine {machine}, this is {ELF_MACHINE}"
        )));
    }
    let truncated = |need: u64| fail(format!("truncated: it needs {need} bytes and has {size}"));
    let (shoff, shentsize, shnum) = (
        u64_at(0x28).unwrap_or(0),
        u16_at(0x3A).unwrap_or(0) as u64,
        u16_at(0x3C).unwrap_or(0) as u64,
    );
    let sh_end = shoff.saturating_add(shentsize.saturating_mul(shnum));
    if shnum > 0 && sh_end > size {
        return Err(truncated(sh_end));
    }
    let (phoff, phentsize, phnum) = (
        u64_at(0x20).unwrap_or(0) as usize,
        u16_at(0x36).unwrap_or(0) as usize,
        u16_at(0x38).unwrap_or(0) as usize,
    );
    for i in 0..phnum {
        let h = phoff.saturating_add(i.saturating_mul(phentsize));
        let (Some(kind), Some(offset), Some(filesz)) = (u32_at(h), u64_at(h + 8), u64_at(h + 32))
        else {
            return Err(truncated((h + 40) as u64));
        };
        const PT_LOAD: u32 = 1;
        let end = offset.saturating_add(filesz);
        if kind == PT_LOAD && end > size {
            return Err(truncated(end));
        }
    }
    Ok(())
}
