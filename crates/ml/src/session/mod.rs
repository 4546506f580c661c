//! [`ModelSession`]: one ONNX model, its contract checked at load, its
//! input buffers allocated once, a warm-up run, and its load time.
//!
//! A [`ModelContract`] says what the model must take and give: names,
//! element types and shapes, with `-1` for the batch (or any dynamic)
//! dimension. Loading compares it with what the model file declares and
//! refuses a mismatch with the first difference and what was expected, so
//! a wrong or stale model fails at load, not at the first inference.
//!
//! Shapes at run time:
//!
//! * an input with a dynamic dimension takes [`set_batch`](ModelSession::set_batch)'s
//!   batch there, unless [`set_input_shape`](ModelSession::set_input_shape)
//!   gave it a whole shape (a sequence length, a state laid out
//!   `[2, batch, 128]`), which may change from run to run;
//! * an input with no dynamic dimension (a scalar sample rate, a fixed
//!   table) is the same for the whole batch: it is never multiplied by it;
//! * every output's shape after a run is [`output_shape`](ModelSession::output_shape),
//!   and float32, int64 and bool outputs can each be read.
//!
//! [`set_input_f32`](ModelSession::set_input_f32) and its siblings copy
//! data in after checking its length, so a wrong length is an error, never
//! a panic in the caller's `copy_from_slice`.
//!
//! Here: the session itself. The contract types and their checks are in
//! [`contract`], the settings and the ONNX Runtime session builder in
//! [`config`], the typed buffers in `buffers`.

use std::path::Path;
use std::time::{Duration, Instant};

use ort::session::Session;
use ort::value::TensorRef;

use crate::MlError;
use kmidi_dsp::Cause;

mod buffers;
pub mod config;
pub mod contract;

use buffers::{Buffer, Input, Output, TensorElement};
use config::build;
pub use config::{Optimization, SessionConfig};
pub use contract::{Element, MAX_TENSOR_ELEMENTS, ModelContract, TensorSpec};
use contract::{check_contract, check_sizes, describe, element_of, elements};

/// One model, ready to run; see the [module docs](self).
pub struct ModelSession {
    name: String,
    session: Session,
    contract: ModelContract,
    inputs: Vec<Input>,
    outputs: Vec<Output>,
    batch: usize,
    max_batch: usize,
    load_time: Duration,
}

impl ModelSession {
    /// Loads `path` and checks it against `contract`.
    ///
    /// # Errors
    /// [`MlError::LibraryMissing`] or [`MlError::LibraryLoad`] for ONNX
    /// Runtime itself; [`MlError::Model`] for a missing or corrupt file;
    /// [`MlError::Contract`] for a mismatch; [`MlError::OutOfRange`] for bad
    /// settings.
    pub fn from_file(
        path: impl AsRef<Path>,
        contract: ModelContract,
        config: SessionConfig,
    ) -> Result<Self, MlError> {
        let (name, bytes) = read_model(path.as_ref())?;
        Self::from_bytes(&name, &bytes, contract, config)
    }

    /// Loads a model from memory; `name` is used in messages.
    ///
    /// # Errors
    /// As [`from_file`](Self::from_file).
    pub fn from_bytes(
        name: &str,
        bytes: &[u8],
        contract: ModelContract,
        config: SessionConfig,
    ) -> Result<Self, MlError> {
        let start = Instant::now();
        let session = build(name, bytes, config)?;
        check_contract(name, &session, &contract)?;
        check_sizes(name, &contract, config.max_batch)?;
        let inputs = contract
            .inputs
            .iter()
            .map(|s| Input {
                buffer: Buffer::zeros(s.element, elements(&s.concrete(config.max_batch))),
                shape: None,
            })
            .collect();
        let outputs = contract
            .outputs
            .iter()
            .map(|s| Output {
                buffer: Buffer::with_capacity(s.element, elements(&s.concrete(config.max_batch))),
                shape: Vec::new(),
            })
            .collect();
        let mut me = Self {
            name: name.to_string(),
            session,
            contract,
            inputs,
            outputs,
            batch: 1,
            max_batch: config.max_batch,
            load_time: Duration::ZERO,
        };
        me.load_time = start.elapsed();
        Ok(me)
    }

    /// A session for any ONNX model: the contract is what the file
    /// declares (float and int64 tensors), with dynamic dimensions left
    /// dynamic. The lab uses this to benchmark arbitrary models.
    ///
    /// # Errors
    /// As [`from_file`](Self::from_file), and [`MlError::Contract`] for
    /// inputs or outputs of other element types.
    pub fn open_any(path: impl AsRef<Path>, config: SessionConfig) -> Result<Self, MlError> {
        let (name, bytes) = read_model(path.as_ref())?;
        Self::open_any_bytes(&name, &bytes, config)
    }

    /// As [`open_any`](Self::open_any), for a model in memory; `name` is
    /// used in messages.
    ///
    /// # Errors
    /// As [`open_any`](Self::open_any).
    pub fn open_any_bytes(
        name: &str,
        bytes: &[u8],
        config: SessionConfig,
    ) -> Result<Self, MlError> {
        let probe = build(name, bytes, config)?;
        let spec = |o: &ort::value::Outlet| {
            element_of(o.dtype())
                .map(|(e, s)| TensorSpec::new(o.name(), e, &s))
                .ok_or_else(|| MlError::Contract {
                    model: name.to_string(),
                    detail: format!(
                        "{} is {}; allowed float32, int64 or bool tensors",
                        o.name(),
                        describe(o.dtype())
                    ),
                })
        };
        let contract = ModelContract {
            inputs: probe.inputs().iter().map(spec).collect::<Result<_, _>>()?,
            outputs: probe.outputs().iter().map(spec).collect::<Result<_, _>>()?,
        };
        drop(probe);
        Self::from_bytes(name, bytes, contract, config)
    }

    /// As [`open_any`](Self::open_any), with the shapes of some inputs
    /// given (`-1` keeps a dimension as the batch): for models whose other
    /// dimensions (sequence length, image size) are dynamic too. Output
    /// shapes follow from the run.
    ///
    /// # Errors
    /// As [`open_any`](Self::open_any), and [`MlError::Input`] for a name
    /// the model does not have or a shape of the wrong rank.
    pub fn open_with_shapes(
        path: impl AsRef<Path>,
        shapes: &[(&str, &[i64])],
        config: SessionConfig,
    ) -> Result<Self, MlError> {
        let mut s = Self::open_any(path, config)?;
        for (name, shape) in shapes {
            let i = s.input_index(name)?;
            let spec = &mut s.contract.inputs[i];
            if spec.shape.len() != shape.len() {
                return Err(MlError::Input {
                    model: s.name.clone(),
                    detail: format!("{name} has rank {}; got shape {shape:?}", spec.shape.len()),
                });
            }
            spec.shape = shape.to_vec();
            let len = elements(&spec.concrete(s.max_batch));
            s.inputs[i] = Input {
                buffer: Buffer::zeros(spec.element, len),
                shape: None,
            };
        }
        Ok(s)
    }

    /// The contract.
    pub fn contract(&self) -> &ModelContract {
        &self.contract
    }

    /// The model's name (its path, or the name given).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// How long loading and checking took.
    pub fn load_time(&self) -> Duration {
        self.load_time
    }

    /// Sets the batch size for the next runs (1 to the configured maximum).
    ///
    /// # Errors
    /// [`MlError::OutOfRange`] outside that range.
    pub fn set_batch(&mut self, batch: usize) -> Result<(), MlError> {
        if batch == 0 || batch > self.max_batch {
            return Err(MlError::OutOfRange {
                what: "batch",
                value: batch.to_string(),
                allowed: "1 to SessionConfig::max_batch",
            });
        }
        self.batch = batch;
        Ok(())
    }

    fn input_index(&self, name: &str) -> Result<usize, MlError> {
        index_of(&self.contract.inputs, name, "input", &self.name)
    }

    /// The shape input `i` will be fed with.
    fn input_shape(&self, i: usize) -> Vec<i64> {
        match &self.inputs[i].shape {
            Some(shape) => shape.clone(),
            None => self.contract.inputs[i].concrete(self.batch),
        }
    }

    /// Feeds input `name` with this whole shape from now on (every
    /// dimension given; the model's fixed ones must match), for dynamic
    /// dimensions that are not the batch: a sequence length, a recurrent
    /// state laid out `[2, batch, 128]`. It may change from run to run; the
    /// buffer grows when it must and keeps its data otherwise.
    ///
    /// # Errors
    /// [`MlError::Input`] for an unknown name, a wrong rank, a negative
    /// dimension or a fixed dimension changed.
    pub fn set_input_shape(&mut self, name: &str, shape: &[i64]) -> Result<(), MlError> {
        let i = self.input_index(name)?;
        let spec = &self.contract.inputs[i];
        let bad = |detail: String| MlError::Input {
            model: self.name.clone(),
            detail,
        };
        if shape.len() != spec.shape.len() {
            return Err(bad(format!(
                "{name} has rank {} ({:?}); got shape {shape:?}",
                spec.shape.len(),
                spec.shape
            )));
        }
        if let Some((d, (&got, &want))) = shape
            .iter()
            .zip(&spec.shape)
            .enumerate()
            .find(|(_, (g, w))| **g < 0 || (**w >= 0 && **g != **w))
        {
            return Err(bad(format!(
                "{name} dimension {d} is {got}; allowed {} (the model's shape is {:?})",
                if want >= 0 {
                    want.to_string()
                } else {
                    "0 or more".to_string()
                },
                spec.shape
            )));
        }
        self.inputs[i].buffer.reserve_len(elements(shape));
        self.inputs[i].shape = Some(shape.to_vec());
        Ok(())
    }

    /// The float input `name` for the current batch (or shape), to fill in
    /// place.
    ///
    /// # Errors
    /// [`MlError::Input`] for an unknown name or an input of another type.
    pub fn input_f32(&mut self, name: &str) -> Result<&mut [f32], MlError> {
        self.typed_input(name)
    }

    /// The int64 input `name` for the current batch (or shape), to fill in
    /// place.
    ///
    /// # Errors
    /// [`MlError::Input`] for an unknown name or an input of another type.
    pub fn input_i64(&mut self, name: &str) -> Result<&mut [i64], MlError> {
        self.typed_input(name)
    }

    /// The bool input `name` for the current batch (or shape), to fill in
    /// place.
    ///
    /// # Errors
    /// [`MlError::Input`] for an unknown name or an input of another type.
    pub fn input_bool(&mut self, name: &str) -> Result<&mut [bool], MlError> {
        self.typed_input(name)
    }

    /// Copies `data` into the float input `name`, after checking that it
    /// is exactly as long as the input's current shape needs.
    ///
    /// # Errors
    /// [`MlError::Input`] for an unknown name, another type or a wrong
    /// length (naming both lengths and the shape).
    pub fn set_input_f32(&mut self, name: &str, data: &[f32]) -> Result<(), MlError> {
        self.set_typed_input(name, data)
    }

    /// As [`set_input_f32`](Self::set_input_f32), for an int64 input.
    ///
    /// # Errors
    /// As [`set_input_f32`](Self::set_input_f32).
    pub fn set_input_i64(&mut self, name: &str, data: &[i64]) -> Result<(), MlError> {
        self.set_typed_input(name, data)
    }

    /// As [`set_input_f32`](Self::set_input_f32), for a bool input.
    ///
    /// # Errors
    /// As [`set_input_f32`](Self::set_input_f32).
    pub fn set_input_bool(&mut self, name: &str, data: &[bool]) -> Result<(), MlError> {
        self.set_typed_input(name, data)
    }

    /// The input `name` as a slice of `T`, as long as its current shape.
    fn typed_input<T: TensorElement>(&mut self, name: &str) -> Result<&mut [T], MlError> {
        let (i, len) = self.input_slot(name)?;
        if T::slice_mut(&mut self.inputs[i].buffer).is_none() {
            return Err(self.wrong_type(name, &self.inputs[i].buffer, "input"));
        }
        match T::slice_mut(&mut self.inputs[i].buffer) {
            Some(v) => Ok(&mut v[..len]),
            None => Err(MlError::Input {
                model: self.name.clone(),
                detail: format!("{name}: its buffer changed type"),
            }),
        }
    }

    /// Copies `data` into the input `name` after checking its length.
    fn set_typed_input<T: TensorElement>(&mut self, name: &str, data: &[T]) -> Result<(), MlError> {
        self.check_len(name, data.len())?;
        self.typed_input(name)?.copy_from_slice(data);
        Ok(())
    }

    /// The output `name` of the last run as a slice of `T`.
    fn typed_output<T: TensorElement>(&self, name: &str) -> Result<&[T], MlError> {
        let buffer = &self.outputs[self.output_index(name)?].buffer;
        T::slice(buffer).ok_or_else(|| self.wrong_type(name, buffer, "output"))
    }

    fn input_slot(&self, name: &str) -> Result<(usize, usize), MlError> {
        let i = self.input_index(name)?;
        Ok((i, elements(&self.input_shape(i))))
    }

    fn check_len(&self, name: &str, len: usize) -> Result<(), MlError> {
        let (i, want) = self.input_slot(name)?;
        if len != want {
            return Err(MlError::Input {
                model: self.name.clone(),
                detail: format!(
                    "{name} takes {want} values (shape {:?}); got {len}",
                    self.input_shape(i)
                ),
            });
        }
        Ok(())
    }

    /// The error for reading or filling `name` as the wrong type: names
    /// the type it has and the accessor for it.
    fn wrong_type(&self, name: &str, actual: &Buffer, verb: &str) -> MlError {
        let (ty, suffix) = match actual {
            Buffer::F32(_) => ("float32", "f32"),
            Buffer::I64(_) => ("int64", "i64"),
            Buffer::Bool(_) => ("bool", "bool"),
        };
        let accessor = if verb == "output" && suffix == "f32" {
            "output".to_string()
        } else {
            format!("{verb}_{suffix}")
        };
        MlError::Input {
            model: self.name.clone(),
            detail: format!("{name} takes {ty}; use {accessor}"),
        }
    }

    /// Runs the model on the current inputs; the outputs are then in
    /// [`output`](Self::output) and its siblings, with their shapes in
    /// [`output_shape`](Self::output_shape).
    ///
    /// # Errors
    /// [`MlError::Run`] with ONNX Runtime's message.
    pub fn run(&mut self) -> Result<(), MlError> {
        let err = |e: ort::Error| MlError::Run {
            model: self.name.clone(),
            detail: e.to_string(),
            source: Some(Cause::new(e)),
        };
        let shapes: Vec<Vec<i64>> = (0..self.inputs.len())
            .map(|i| self.input_shape(i))
            .collect();
        let mut feed: Vec<(
            std::borrow::Cow<'_, str>,
            ort::session::SessionInputValue<'_>,
        )> = Vec::with_capacity(self.inputs.len());
        for ((spec, input), shape) in self.contract.inputs.iter().zip(&self.inputs).zip(shapes) {
            let len = elements(&shape);
            let value: ort::session::SessionInputValue<'_> = match &input.buffer {
                Buffer::F32(v) => TensorRef::from_array_view((shape, &v[..len]))
                    .map_err(err)?
                    .into(),
                Buffer::I64(v) => TensorRef::from_array_view((shape, &v[..len]))
                    .map_err(err)?
                    .into(),
                Buffer::Bool(v) => TensorRef::from_array_view((shape, &v[..len]))
                    .map_err(err)?
                    .into(),
            };
            feed.push((spec.name.as_str().into(), value));
        }
        let results = self.session.run(feed).map_err(|e| MlError::Run {
            model: self.name.clone(),
            detail: e.to_string(),
            source: Some(Cause::new(e)),
        })?;
        for (spec, out) in self.contract.outputs.iter().zip(self.outputs.iter_mut()) {
            let value = &results[spec.name.as_str()];
            let bad = |e: ort::Error| MlError::Run {
                model: self.name.clone(),
                detail: format!("output {}: {e}", spec.name),
                source: Some(Cause::new(e)),
            };
            out.shape.clear();
            match &mut out.buffer {
                Buffer::F32(v) => {
                    let (shape, data) = value.try_extract_tensor::<f32>().map_err(bad)?;
                    out.shape.extend_from_slice(shape);
                    v.clear();
                    v.extend_from_slice(data);
                }
                Buffer::I64(v) => {
                    let (shape, data) = value.try_extract_tensor::<i64>().map_err(bad)?;
                    out.shape.extend_from_slice(shape);
                    v.clear();
                    v.extend_from_slice(data);
                }
                Buffer::Bool(v) => {
                    let (shape, data) = value.try_extract_tensor::<bool>().map_err(bad)?;
                    out.shape.extend_from_slice(shape);
                    v.clear();
                    v.extend_from_slice(data);
                }
            }
        }
        Ok(())
    }

    fn output_index(&self, name: &str) -> Result<usize, MlError> {
        index_of(&self.contract.outputs, name, "output", &self.name)
    }

    /// The float output `name` of the last run (batch-major).
    ///
    /// # Errors
    /// [`MlError::Input`] for an unknown name or an output of another type.
    pub fn output(&self, name: &str) -> Result<&[f32], MlError> {
        self.typed_output(name)
    }

    /// The int64 output `name` of the last run.
    ///
    /// # Errors
    /// [`MlError::Input`] for an unknown name or an output of another type.
    pub fn output_i64(&self, name: &str) -> Result<&[i64], MlError> {
        self.typed_output(name)
    }

    /// The bool output `name` of the last run.
    ///
    /// # Errors
    /// [`MlError::Input`] for an unknown name or an output of another type.
    pub fn output_bool(&self, name: &str) -> Result<&[bool], MlError> {
        self.typed_output(name)
    }

    /// The shape of output `name` in the last run (empty before the first).
    ///
    /// # Errors
    /// [`MlError::Input`] for an unknown name.
    pub fn output_shape(&self, name: &str) -> Result<&[i64], MlError> {
        Ok(&self.outputs[self.output_index(name)?].shape)
    }

    /// Runs `runs` times on the current inputs, so that ONNX Runtime has
    /// made its allocations and chosen its kernels before timing starts.
    ///
    /// # Errors
    /// As [`run`](Self::run).
    pub fn warm_up(&mut self, runs: usize) -> Result<(), MlError> {
        for _ in 0..runs {
            self.run()?;
        }
        Ok(())
    }
}

/// A model file's bytes, with the name its errors use (its path).
fn read_model(path: &Path) -> Result<(String, Vec<u8>), MlError> {
    let name = path.display().to_string();
    match std::fs::read(path) {
        Ok(bytes) => Ok((name, bytes)),
        Err(e) => Err(MlError::Model {
            model: name,
            detail: e.to_string(),
            source: Some(Cause::new(e)),
        }),
    }
}

/// The position of tensor `name` among `specs`, or an error listing the
/// names there are (`what`: "input" or "output").
fn index_of(specs: &[TensorSpec], name: &str, what: &str, model: &str) -> Result<usize, MlError> {
    specs
        .iter()
        .position(|s| s.name == name)
        .ok_or_else(|| MlError::Input {
            model: model.to_string(),
            detail: format!(
                "no {what} named {name:?}; the {what}s are {:?}",
                specs.iter().map(|s| s.name.as_str()).collect::<Vec<_>>()
            ),
        })
}

#[cfg(test)]
mod tests {
    use super::contract::{check_sizes, elements};
    use super::*;

    #[test]
    fn absurd_shapes_are_refused_not_overflowed() {
        // The shape a fuzzed model declared: its product overflows usize.
        let huge = [i64::MAX, i64::MAX, 7];
        assert_eq!(elements(&huge), usize::MAX);
        assert_eq!(elements(&[]), 1);
        assert_eq!(elements(&[2, 3, -1]), 0);
        let contract = ModelContract {
            inputs: vec![TensorSpec::new("x", Element::F32, &[-1, 4])],
            outputs: vec![TensorSpec::new("y", Element::F32, &huge)],
        };
        let e = check_sizes("m.onnx", &contract, 8).unwrap_err().to_string();
        assert!(
            e.contains("m.onnx") && e.contains("y holds") && e.contains("at most"),
            "{e}"
        );
        let fits = ModelContract {
            inputs: vec![TensorSpec::new("x", Element::F32, &[-1, 4])],
            outputs: vec![TensorSpec::new("y", Element::F32, &[-1, 1 << 20])],
        };
        assert!(check_sizes("m.onnx", &fits, 8).is_ok());
    }
}
