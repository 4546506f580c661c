//! With feature `tract`: tract and ONNX Runtime give the same outputs on all
//! five models (within 1e-4 relative), on the golden inputs.
#![cfg(feature = "tract")]

use kmidi_ml::models::{Model, Precision, models_dir};
use kmidi_ml::session::{Element, SessionConfig};
use kmidi_ml::tract_backend::TractModel;
use serde_json::Value;

#[test]
fn tract_and_onnx_runtime_agree() {
    for model in Model::ALL {
        let text =
            std::fs::read_to_string(models_dir().join(format!("{}.golden.json", model.stem())))
                .unwrap();
        let golden: Value = serde_json::from_str(&text).unwrap();
        let batch = golden["inputs"]
            .as_object()
            .unwrap()
            .values()
            .next()
            .unwrap()["shape"][0]
            .as_u64()
            .unwrap() as usize;
        let mut ort = model
            .load(
                Precision::Fp32,
                SessionConfig {
                    max_batch: batch,
                    ..SessionConfig::default()
                },
            )
            .unwrap();
        ort.set_batch(batch).unwrap();
        let mut tract = TractModel::load(model, batch).unwrap();
        for (i, spec) in model.contract().inputs.iter().enumerate() {
            let data: Vec<f64> = golden["inputs"][&spec.name]["data"]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_f64().unwrap())
                .collect();
            match spec.element {
                Element::F32 => {
                    let v: Vec<f32> = data.iter().map(|&x| x as f32).collect();
                    ort.input_f32(&spec.name).unwrap().copy_from_slice(&v);
                    tract.set_f32(i, &v).unwrap();
                }
                Element::I64 => {
                    let v: Vec<i64> = data.iter().map(|&x| x as i64).collect();
                    ort.input_i64(&spec.name).unwrap().copy_from_slice(&v);
                    tract.set_i64(i, &v).unwrap();
                }
                Element::Bool => panic!(
                    "{model:?} input {}: the bundled models take no bool inputs",
                    spec.name
                ),
            }
        }
        ort.run().unwrap();
        tract.run().unwrap();
        for (i, spec) in model.contract().outputs.iter().enumerate() {
            let a = ort.output(&spec.name).unwrap();
            let b = tract.output(i);
            assert_eq!(a.len(), b.len(), "{model:?} {}", spec.name);
            for (x, y) in a.iter().zip(b) {
                assert!(
                    (x - y).abs() <= 1e-4 + 1e-4 * x.abs(),
                    "{model:?} {}: ort {x}, tract {y}",
                    spec.name
                );
            }
        }
    }
}
