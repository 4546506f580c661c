//! A missing or bogus ONNX Runtime library is a clear error that names the
//! path (and, when missing, the command that fetches it); nothing panics.
//! Its own test binary, because the runtime is loaded once per process.

use kmidi_ml::MlError;
use kmidi_ml::runtime::environment_at;

#[test]
fn a_missing_or_bogus_library_is_a_clear_error() {
    let err = environment_at(std::path::Path::new(
        "/nonexistent/libonnxruntime.so.1.32.0",
    ))
    .err()
    .unwrap();
    assert!(matches!(err, MlError::LibraryMissing { .. }), "{err}");
    let text = err.to_string();
    assert!(
        text.contains("/nonexistent/libonnxruntime.so.1.32.0"),
        "{text}"
    );
    assert!(text.contains("scripts/fetch_onnxruntime.sh"), "{text}");
    // A file that is not a shared library is a load error, not a panic.
    let bogus = std::env::temp_dir().join(format!("kmidi-not-a-library-{}.so", std::process::id()));
    std::fs::write(&bogus, b"not an ELF file").unwrap();
    let err = environment_at(&bogus).err().unwrap();
    std::fs::remove_file(&bogus).unwrap();
    assert!(matches!(err, MlError::LibraryLoad { .. }), "{err}");
    assert!(err.to_string().contains("kmidi-not-a-library"), "{err}");
}
