use crate::size::total;

/// Scratch memory reused across calls: it grows to the largest request once, so the
/// per-token path allocates nothing after the first step.
#[derive(Default)]
pub struct Workspace {
    buf: Vec<f32>,
    /// sse's routing and gathered rows (ops/sse): held beside `buf` because sse lends `buf`
    /// to its base's kernels while they are in use.
    pub(crate) sse: crate::ops::sse::Scratch,
}

impl Workspace {
    /// Disjoint scratch slices of the given sizes (contents unspecified). Callers validate
    /// their sizes first (`ops::workspace_len`); the checked sum keeps a wrapped total (usize
    /// is 32 bits in wasm32) from ever handing out a buffer shorter than the slices.
    pub fn parts<const N: usize>(&mut self, sizes: [usize; N]) -> [&mut [f32]; N] {
        let total =
            total(&sizes).expect("workspace: the sizes were validated to fit one wasm32 buffer");
        if self.buf.len() < total {
            self.buf.resize(total, 0.0);
        }
        carve(&mut self.buf, sizes)
    }
}

/// `buf`'s first `Σ sizes` floats as consecutive disjoint slices of the given sizes.
pub fn carve<const N: usize>(buf: &mut [f32], sizes: [usize; N]) -> [&mut [f32]; N] {
    let mut rest: &mut [f32] = buf;
    let mut out: [&mut [f32]; N] = core::array::from_fn(|_| <&mut [f32]>::default());
    for (slot, &n) in out.iter_mut().zip(&sizes) {
        let (a, b) = core::mem::take(&mut rest).split_at_mut(n);
        *slot = a;
        rest = b;
    }
    out
}
