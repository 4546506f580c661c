//! What a model must take and give ([`ModelContract`]), and the checks of
//! a model file and its sizes against it.

use ort::session::Session;
use ort::value::{TensorElementType, ValueType};

use crate::MlError;

/// Element types the sessions exchange.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Element {
    /// 32-bit float.
    F32,
    /// 64-bit integer (token and class ids).
    I64,
    /// Boolean (masks, flags).
    Bool,
}

/// A named tensor with an element type and a shape (`-1`: dynamic).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TensorSpec {
    /// The name in the graph.
    pub name: String,
    /// Element type.
    pub element: Element,
    /// Shape; `-1` for a dynamic dimension (the batch).
    pub shape: Vec<i64>,
}

impl TensorSpec {
    /// A spec.
    pub fn new(name: &str, element: Element, shape: &[i64]) -> Self {
        Self {
            name: name.to_string(),
            element,
            shape: shape.to_vec(),
        }
    }

    /// Elements per batch item (the product of the fixed dimensions).
    pub fn item_len(&self) -> usize {
        self.shape
            .iter()
            .filter(|&&d| d > 0)
            .product::<i64>()
            .max(1) as usize
    }

    /// Whether a dimension is dynamic (the batch, or another).
    pub fn is_batched(&self) -> bool {
        self.shape.iter().any(|&d| d < 0)
    }

    /// The shape for `batch`: dynamic dimensions take the batch; a tensor
    /// without one is the same for any batch.
    pub(super) fn concrete(&self, batch: usize) -> Vec<i64> {
        self.shape
            .iter()
            .map(|&d| if d < 0 { batch as i64 } else { d })
            .collect()
    }
}

/// The most elements one input or output may hold per call (2^28, 1 GiB
/// of f32): a model that declares more is refused when it is opened.
pub const MAX_TENSOR_ELEMENTS: usize = 1 << 28;

/// Elements a concrete shape holds (1 for a scalar), saturating instead of
/// overflowing on absurd shapes (a fuzzed model declared dims whose
/// product overflowed and panicked here).
pub(super) fn elements(shape: &[i64]) -> usize {
    shape
        .iter()
        .map(|&d| d.max(0) as usize)
        .fold(1usize, usize::saturating_mul)
}

/// Refuses a contract whose tensors could not be held.
pub(super) fn check_sizes(
    name: &str,
    contract: &ModelContract,
    max_batch: usize,
) -> Result<(), MlError> {
    for s in contract.inputs.iter().chain(&contract.outputs) {
        let n = elements(&s.concrete(max_batch));
        if n > MAX_TENSOR_ELEMENTS {
            return Err(MlError::Contract {
                model: name.to_string(),
                detail: format!(
                    "{} holds {n} elements per call at batch {max_batch} (shape {:?}); at most {MAX_TENSOR_ELEMENTS} are allowed",
                    s.name, s.shape
                ),
            });
        }
    }
    Ok(())
}

/// What a model must take and give.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelContract {
    /// Inputs, in the model's order.
    pub inputs: Vec<TensorSpec>,
    /// Outputs, in the model's order.
    pub outputs: Vec<TensorSpec>,
}

pub(super) fn element_of(ty: &ValueType) -> Option<(Element, Vec<i64>)> {
    match ty {
        ValueType::Tensor { ty, shape, .. } => {
            let e = match ty {
                TensorElementType::Float32 => Element::F32,
                TensorElementType::Int64 => Element::I64,
                TensorElementType::Bool => Element::Bool,
                _ => return None,
            };
            Some((e, shape.to_vec()))
        }
        _ => None,
    }
}

pub(super) fn describe(ty: &ValueType) -> String {
    match element_of(ty) {
        Some((e, s)) => format!("{e:?} {s:?}"),
        None => format!("{ty:?}"),
    }
}

pub(super) fn check_contract(
    name: &str,
    session: &Session,
    contract: &ModelContract,
) -> Result<(), MlError> {
    let fail = |detail: String| {
        Err(MlError::Contract {
            model: name.to_string(),
            detail,
        })
    };
    for (kind, declared, expected) in [
        ("input", session.inputs(), &contract.inputs),
        ("output", session.outputs(), &contract.outputs),
    ] {
        let names: Vec<&str> = declared.iter().map(|o| o.name()).collect();
        let want: Vec<&str> = expected.iter().map(|s| s.name.as_str()).collect();
        if names != want {
            return fail(format!("{kind}s are {names:?}; expected {want:?}"));
        }
        for (o, spec) in declared.iter().zip(expected) {
            let Some((element, shape)) = element_of(o.dtype()) else {
                return fail(format!(
                    "{kind} {} is {}; expected {:?} {:?}",
                    o.name(),
                    describe(o.dtype()),
                    spec.element,
                    spec.shape
                ));
            };
            let dims_ok = shape.len() == spec.shape.len()
                && shape
                    .iter()
                    .zip(&spec.shape)
                    .all(|(&m, &c)| m == c || m < 0);
            if element != spec.element || !dims_ok {
                return fail(format!(
                    "{kind} {} is {element:?} {shape:?}; expected {:?} {:?} (-1 = batch)",
                    o.name(),
                    spec.element,
                    spec.shape
                ));
            }
        }
    }
    Ok(())
}
