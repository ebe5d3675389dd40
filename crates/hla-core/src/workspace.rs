/// Scratch memory reused across calls: it grows to the largest request once, so the
/// per-token path allocates nothing after the first step.
#[derive(Default)]
pub struct Workspace {
    buf: Vec<f32>,
}

impl Workspace {
    /// Disjoint scratch slices of the given sizes (contents unspecified).
    pub fn parts<const N: usize>(&mut self, sizes: [usize; N]) -> [&mut [f32]; N] {
        let total: usize = sizes.iter().sum();
        if self.buf.len() < total {
            self.buf.resize(total, 0.0);
        }
        let mut rest: &mut [f32] = &mut self.buf[..];
        let mut out: [&mut [f32]; N] = core::array::from_fn(|_| <&mut [f32]>::default());
        for (slot, &n) in out.iter_mut().zip(&sizes) {
            let (a, b) = core::mem::take(&mut rest).split_at_mut(n);
            *slot = a;
            rest = b;
        }
        out
    }
}
