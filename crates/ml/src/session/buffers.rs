//! The session's typed tensor buffers, allocated at load.

use super::contract::Element;

pub(super) enum Buffer {
    F32(Vec<f32>),
    I64(Vec<i64>),
    Bool(Vec<bool>),
}

/// An element type a tensor buffer can hold: the one place that maps a
/// Rust type to its [`Buffer`] variant.
pub(super) trait TensorElement: Copy {
    fn slice(buffer: &Buffer) -> Option<&[Self]>;
    fn slice_mut(buffer: &mut Buffer) -> Option<&mut [Self]>;
}

macro_rules! tensor_element {
    ($t:ty, $variant:ident) => {
        impl TensorElement for $t {
            fn slice(buffer: &Buffer) -> Option<&[Self]> {
                match buffer {
                    Buffer::$variant(v) => Some(v),
                    _ => None,
                }
            }
            fn slice_mut(buffer: &mut Buffer) -> Option<&mut [Self]> {
                match buffer {
                    Buffer::$variant(v) => Some(v),
                    _ => None,
                }
            }
        }
    };
}

tensor_element!(f32, F32);
tensor_element!(i64, I64);
tensor_element!(bool, Bool);

impl Buffer {
    pub(super) fn zeros(element: Element, len: usize) -> Self {
        match element {
            Element::F32 => Buffer::F32(vec![0.0; len]),
            Element::I64 => Buffer::I64(vec![0; len]),
            Element::Bool => Buffer::Bool(vec![false; len]),
        }
    }

    /// Empty, with room for `cap` elements (outputs: a run's first
    /// extraction then does not allocate).
    pub(super) fn with_capacity(element: Element, cap: usize) -> Self {
        match element {
            Element::F32 => Buffer::F32(Vec::with_capacity(cap)),
            Element::I64 => Buffer::I64(Vec::with_capacity(cap)),
            Element::Bool => Buffer::Bool(Vec::with_capacity(cap)),
        }
    }

    /// Grows (never shrinks) to hold `len` elements.
    pub(super) fn reserve_len(&mut self, len: usize) {
        match self {
            Buffer::F32(v) if v.len() < len => v.resize(len, 0.0),
            Buffer::I64(v) if v.len() < len => v.resize(len, 0),
            Buffer::Bool(v) if v.len() < len => v.resize(len, false),
            _ => {}
        }
    }
}

/// An input's data and the shape it will be fed with.
pub(super) struct Input {
    pub(super) buffer: Buffer,
    /// A whole shape set with `set_input_shape`, or `None` for the
    /// contract's shape with the batch filled in.
    pub(super) shape: Option<Vec<i64>>,
}

/// An output of the last run.
pub(super) struct Output {
    pub(super) buffer: Buffer,
    pub(super) shape: Vec<i64>,
}
