//! The session's contract with the caller: every output type can be read
//! with its shape, a fixed or scalar input is never multiplied by the
//! batch, a dynamic dimension can change from run to run, wrong lengths are
//! errors, and a broken ONNX Runtime library is refused before it can kill
//! the process.

use std::process::Command;

use kmidi_ml::MlError;
use kmidi_ml::runtime::{check_library, library_path};
use kmidi_ml::session::{Element, ModelSession, SessionConfig};

fn typed_model() -> ModelSession {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/typed_outputs.onnx");
    ModelSession::open_any(
        path,
        SessionConfig {
            max_batch: 3,
            ..SessionConfig::default()
        },
    )
    .unwrap()
}

#[test]
fn int64_and_bool_outputs_are_read_with_their_shapes() {
    let mut s = typed_model();
    let outputs: Vec<Element> = s.contract().outputs.iter().map(|o| o.element).collect();
    assert_eq!(outputs, [Element::I64, Element::Bool]);
    s.set_batch(3).unwrap();
    s.set_input_f32(
        "x",
        &[0.1, 0.9, 0.2, 0.3, 0.5, 0.1, 0.0, 0.7, 0.2, 0.2, 0.8, 0.1],
    )
    .unwrap();
    // The threshold is a scalar: one value for the whole batch.
    s.set_input_f32("threshold", &[0.25]).unwrap();
    s.run().unwrap();
    assert_eq!(s.output_i64("loudest").unwrap(), [1, 3, 2]);
    assert_eq!(s.output_shape("loudest").unwrap(), [3]);
    assert_eq!(
        s.output_bool("over").unwrap(),
        [
            false, true, false, true, true, false, false, true, false, false, true, false
        ]
    );
    assert_eq!(s.output_shape("over").unwrap(), [3, 4]);
    // Reading one as another type says which accessor to use.
    let e = s.output("loudest").unwrap_err().to_string();
    assert!(e.contains("loudest takes int64; use output_i64"), "{e}");
}

#[test]
fn wrong_lengths_and_shapes_are_errors_not_panics() {
    let mut s = typed_model();
    s.set_batch(2).unwrap();
    let e = s.set_input_f32("x", &[0.0; 7]).unwrap_err();
    assert!(matches!(e, MlError::Input { .. }));
    assert!(
        e.to_string()
            .contains("x takes 8 values (shape [2, 4]); got 7"),
        "{e}"
    );
    assert!(s.set_input_f32("threshold", &[0.1, 0.2]).is_err());
    assert!(s.set_input_i64("x", &[0; 8]).is_err());
    // A dynamic dimension may change from run to run; fixed ones may not.
    s.set_input_shape("x", &[1, 4]).unwrap();
    s.set_input_f32("x", &[1.0, 2.0, 3.0, 0.0]).unwrap();
    s.set_input_f32("threshold", &[2.5]).unwrap();
    s.run().unwrap();
    assert_eq!(s.output_i64("loudest").unwrap(), [2]);
    s.set_input_shape("x", &[3, 4]).unwrap();
    s.set_input_f32("x", &[0.0; 12]).unwrap();
    s.run().unwrap();
    assert_eq!(s.output_shape("over").unwrap(), [3, 4]);
    let e = s.set_input_shape("x", &[2, 5]).unwrap_err().to_string();
    assert!(e.contains("dimension 1 is 5; allowed 4"), "{e}");
    assert!(s.set_input_shape("x", &[2]).is_err());
    assert!(s.set_input_shape("x", &[-1, 4]).is_err());
}

#[test]
fn a_truncated_or_foreign_library_is_refused_before_loading() {
    let real = library_path();
    check_library(&real).expect("the fetched library is whole");
    let dir = tempfile::tempdir().unwrap();
    let bytes = std::fs::read(&real).unwrap();
    let half = dir.path().join("libonnxruntime.so.1.32.0");
    std::fs::write(&half, &bytes[..bytes.len() / 2]).unwrap();
    let e = check_library(&half).unwrap_err().to_string();
    assert!(
        e.contains("truncated") && e.contains("fetch_onnxruntime.sh"),
        "{e}"
    );
    let text = dir.path().join("notes.txt");
    std::fs::write(&text, b"not a library at all").unwrap();
    assert!(
        check_library(&text)
            .unwrap_err()
            .to_string()
            .contains("not an ELF library")
    );
}

/// In a fresh process (ONNX Runtime is loaded once per process), pointing
/// ORT_DYLIB_PATH at a truncated library gives an error and an exit code,
/// not SIGBUS.
#[test]
fn a_process_given_a_truncated_library_exits_cleanly() {
    if let Ok(path) = std::env::var("KMIDI_TRUNCATED_ORT") {
        // The child: load through the normal path.
        let Err(e) = kmidi_ml::runtime::environment_at(std::path::Path::new(&path)) else {
            panic!("a truncated library must not load");
        };
        println!("child error: {e}");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let bytes = std::fs::read(library_path()).unwrap();
    let cut = dir.path().join("libonnxruntime.so.1.32.0");
    std::fs::write(&cut, &bytes[..bytes.len() * 3 / 4]).unwrap();
    let out = Command::new(std::env::current_exe().unwrap())
        // The name as a filter (unique in this binary), whatever module
        // path the test has.
        .args([
            "a_process_given_a_truncated_library_exits_cleanly",
            "--nocapture",
        ])
        .env("KMIDI_TRUNCATED_ORT", &cut)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "the child died: {:?}\n{stdout}",
        out.status
    );
    assert!(
        stdout.contains("child error:") && stdout.contains("truncated"),
        "{stdout}"
    );
}

/// The fuzzer's find (fuzz/regressions/onnx_model): a valid graph whose
/// declared output shape multiplies past usize. Opening it panicked with
/// "attempt to multiply with overflow"; it is now refused with the tensor
/// named.
#[test]
fn a_model_declaring_an_absurd_shape_is_refused_not_a_panic() {
    let bytes = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../fuzz/regressions/onnx_model/shape-product-overflows"
    ))
    .unwrap();
    match ModelSession::open_any_bytes("fuzzed.onnx", &bytes, SessionConfig::default()) {
        Err(MlError::Contract { model, detail }) => {
            assert_eq!(model, "fuzzed.onnx");
            assert!(
                detail.contains("elements") && detail.contains("at most"),
                "{detail}"
            );
        }
        Err(e) => panic!("refused, but not for its size: {e}"),
        Ok(_) => panic!("a model declaring an overflowing shape opened"),
    }
}
