//! Latency percentiles per model: load time, first inference, then p50,
//! p99 and max over many steady-state runs (one intra-op thread, batch 1),
//! fp32 and int8, as a table.
//!
//!   scripts/fetch_onnxruntime.sh && cargo run --release -p kmidi-ml --example latency [runs]

use std::time::Instant;

use kmidi_ml::models::{Model, Precision};
use kmidi_ml::session::{Element, SessionConfig};

fn main() -> Result<(), kmidi_ml::MlError> {
    let runs: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(2000);
    println!("| model | precision | load | first run | p50 | p99 | max |");
    println!("|---|---|---|---|---|---|---|");
    for model in Model::ALL {
        for (label, precision) in [("fp32", Precision::Fp32), ("int8", Precision::Int8)] {
            let start = Instant::now();
            let mut s = model.load(precision, SessionConfig::default())?;
            let load = start.elapsed();
            for spec in model.contract().inputs {
                match spec.element {
                    Element::F32 => s
                        .input_f32(&spec.name)?
                        .iter_mut()
                        .enumerate()
                        .for_each(|(i, x)| *x = (i % 97) as f32 / 97.0),
                    Element::I64 => s
                        .input_i64(&spec.name)?
                        .iter_mut()
                        .enumerate()
                        .for_each(|(i, x)| *x = (i % 24) as i64),
                    Element::Bool => s
                        .input_bool(&spec.name)?
                        .iter_mut()
                        .enumerate()
                        .for_each(|(i, x)| *x = i % 2 == 0),
                }
            }
            let t = Instant::now();
            s.run()?;
            let first = t.elapsed();
            let mut times: Vec<f64> = (0..runs)
                .map(|_| {
                    let t = Instant::now();
                    s.run().map(|_| t.elapsed().as_secs_f64() * 1e6)
                })
                .collect::<Result<_, _>>()?;
            times.sort_by(f64::total_cmp);
            let pct = |p: f64| times[((times.len() as f64 * p) as usize).min(times.len() - 1)];
            println!(
                "| {} | {label} | {:.2} ms | {:.1} µs | {:.1} µs | {:.1} µs | {:.1} µs |",
                model.stem(),
                load.as_secs_f64() * 1e3,
                first.as_secs_f64() * 1e6,
                pct(0.5),
                pct(0.99),
                times[times.len() - 1]
            );
        }
    }
    Ok(())
}
