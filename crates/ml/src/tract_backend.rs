//! The same models on tract, a pure-Rust ONNX runtime (feature `tract`),
//! for comparison with ONNX Runtime in the benches. Shapes are fixed at
//! load (tract optimizes for them), so a [`TractModel`] has one batch size.

use tract_onnx::prelude::*;

use crate::MlError;
use crate::models::{Model, Precision};
use crate::session::Element;

type Plan = SimplePlan<TypedFact, Box<dyn TypedOp>, Graph<TypedFact, Box<dyn TypedOp>>>;

/// A model optimized by tract for one batch size.
pub struct TractModel {
    plan: Plan,
    inputs: TVec<TValue>,
    outputs: Vec<Vec<f32>>,
    model: Model,
}

impl TractModel {
    /// Loads `model` (fp32) for `batch`.
    ///
    /// # Errors
    /// [`MlError::Model`] with tract's message.
    pub fn load(model: Model, batch: usize) -> Result<Self, MlError> {
        let err = |e: TractError| MlError::Model {
            model: format!("{} (tract)", model.stem()),
            detail: format!("{e:#}"),
            source: None,
        };
        let mut graph = tract_onnx::onnx()
            .model_for_path(model.path(Precision::Fp32))
            .map_err(err)?;
        let contract = model.contract();
        let mut inputs = TVec::new();
        for (i, spec) in contract.inputs.iter().enumerate() {
            let shape: Vec<usize> = spec
                .shape
                .iter()
                .map(|&d| if d < 0 { batch } else { d as usize })
                .collect();
            let n: usize = shape.iter().product();
            let (dt, tensor) = match spec.element {
                Element::F32 => (
                    f32::datum_type(),
                    Tensor::from_shape(&shape, &vec![0f32; n]),
                ),
                Element::I64 => (
                    i64::datum_type(),
                    Tensor::from_shape(&shape, &vec![0i64; n]),
                ),
                Element::Bool => (
                    bool::datum_type(),
                    Tensor::from_shape(&shape, &vec![false; n]),
                ),
            };
            graph
                .set_input_fact(i, InferenceFact::dt_shape(dt, shape.clone()))
                .map_err(err)?;
            inputs.push(tensor.map_err(err)?.into());
        }
        let plan = graph
            .into_optimized()
            .map_err(err)?
            .into_runnable()
            .map_err(err)?;
        Ok(Self {
            plan,
            inputs,
            outputs: vec![Vec::new(); contract.outputs.len()],
            model,
        })
    }

    /// Sets float input `index` from `data` (batch-major, the full batch).
    ///
    /// # Errors
    /// [`MlError::Input`] on a size or type mismatch.
    pub fn set_f32(&mut self, index: usize, data: &[f32]) -> Result<(), MlError> {
        self.set(index, data)
    }

    /// Sets int64 input `index` from `data`.
    ///
    /// # Errors
    /// [`MlError::Input`] on a size or type mismatch.
    pub fn set_i64(&mut self, index: usize, data: &[i64]) -> Result<(), MlError> {
        self.set(index, data)
    }

    fn set<T: Datum + Copy>(&mut self, index: usize, data: &[T]) -> Result<(), MlError> {
        let bad = |detail: String| MlError::Input {
            model: format!("{} (tract)", self.model.stem()),
            detail,
        };
        let current = self
            .inputs
            .get(index)
            .ok_or_else(|| bad(format!("no input {index}")))?;
        let shape = current.shape().to_vec();
        if current.datum_type() != T::datum_type() || current.len() != data.len() {
            return Err(bad(format!(
                "input {index} takes {:?} {:?}, got {} values",
                current.datum_type(),
                shape,
                data.len()
            )));
        }
        self.inputs[index] = Tensor::from_shape(&shape, data)
            .map_err(|e| bad(e.to_string()))?
            .into();
        Ok(())
    }

    /// Runs once; outputs are then in [`output`](Self::output).
    ///
    /// # Errors
    /// [`MlError::Run`] with tract's message.
    pub fn run(&mut self) -> Result<(), MlError> {
        let result = self
            .plan
            .run(self.inputs.clone())
            .map_err(|e| MlError::Run {
                model: format!("{} (tract)", self.model.stem()),
                detail: format!("{e:#}"),
                source: None,
            })?;
        for (out, value) in self.outputs.iter_mut().zip(result.iter()) {
            let view = value.as_slice::<f32>().map_err(|e| MlError::Run {
                model: format!("{} (tract)", self.model.stem()),
                detail: e.to_string(),
                source: None,
            })?;
            out.clear();
            out.extend_from_slice(view);
        }
        Ok(())
    }

    /// Output `index` of the last run.
    pub fn output(&self, index: usize) -> &[f32] {
        self.outputs.get(index).map_or(&[], |v| v.as_slice())
    }
}
