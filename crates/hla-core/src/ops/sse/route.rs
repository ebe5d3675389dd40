//! The router of sparse state expansion (docs/math.md, section sse): per token a softmax over
//! the N partitions in float32, the top-k ranked by (−p, index) — on ties the lowest index
//! wins — with the probabilities kept as they are (no renormalisation over the selected
//! ones); then, per sequence, the tokens of each partition in order (a stable counting sort
//! by partition, the runs the base operator's kernel walks).

/// `p = softmax(logits)` in float32, the max subtracted first.
pub fn softmax(logits: &[f32], p: &mut [f32]) {
    let m = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut sum = 0.0f32;
    for (pi, &l) in p.iter_mut().zip(logits) {
        *pi = (l - m).exp();
        sum += *pi;
    }
    let inv = 1.0 / sum;
    for pi in p.iter_mut() {
        *pi *= inv;
    }
}

/// The `sel.len()` partitions of largest `p`, best first; of equal `p` the lowest index first.
pub fn top_k(p: &[f32], sel: &mut [usize]) {
    let k = sel.len();
    for r in 0..k {
        let mut best = usize::MAX;
        for (i, &pi) in p.iter().enumerate() {
            if sel[..r].contains(&i) {
                continue;
            }
            // Strictly greater: a later index never displaces an equal earlier one.
            if best == usize::MAX || pi > p[best] {
                best = i;
            }
        }
        sel[r] = best;
    }
}

/// One sequence's routing: for every routed partition (0-based router index) its tokens in
/// order, with their probabilities. `starts[i] .. starts[i + 1]` index `tokens` and `probs`.
#[derive(Default)]
pub struct Runs {
    pub starts: Vec<usize>,
    /// Token offsets within the sequence.
    pub tokens: Vec<usize>,
    pub probs: Vec<f32>,
}

impl Runs {
    /// Routes the `len` tokens of `router` (`[len, n]` logits) to their top-`k` partitions.
    pub fn route(router: &[f32], len: usize, n: usize, k: usize) -> Runs {
        let mut runs = Runs::default();
        runs.route_into(router, len, n, k, &mut RouteScratch::default());
        runs
    }

    /// [`Self::route`] into this `Runs`' buffers, with `scr` for the probabilities and picks:
    /// reused across calls (a decode step), they grow once and then allocate nothing.
    pub fn route_into(
        &mut self,
        router: &[f32],
        len: usize,
        n: usize,
        k: usize,
        scr: &mut RouteScratch,
    ) {
        let (p, sel, fill) = (&mut scr.p, &mut scr.sel, &mut scr.fill);
        resize(p, len * n, 0.0);
        resize(sel, len * k, 0);
        resize(&mut self.starts, n + 1, 0);
        let counts = &mut self.starts;
        counts.fill(0);
        for t in 0..len {
            softmax(&router[t * n..(t + 1) * n], &mut p[t * n..(t + 1) * n]);
            top_k(&p[t * n..(t + 1) * n], &mut sel[t * k..(t + 1) * k]);
            for &i in &sel[t * k..(t + 1) * k] {
                counts[i + 1] += 1;
            }
        }
        for i in 0..n {
            counts[i + 1] += counts[i];
        }
        fill.clear();
        fill.extend_from_slice(counts);
        resize(&mut self.tokens, len * k, 0);
        resize(&mut self.probs, len * k, 0.0);
        // Tokens in order within each partition: the sort is stable by construction.
        for t in 0..len {
            for &i in &sel[t * k..(t + 1) * k] {
                self.tokens[fill[i]] = t;
                self.probs[fill[i]] = p[t * n + i];
                fill[i] += 1;
            }
        }
    }

    /// Router index `i`'s run: `starts[i] .. starts[i + 1]`.
    pub fn run(&self, i: usize) -> std::ops::Range<usize> {
        self.starts[i]..self.starts[i + 1]
    }
}

/// [`Runs::route_into`]'s scratch: the probabilities `[len, n]`, the picks `[len, k]` and the
/// fill cursors of the counting sort.
#[derive(Default)]
pub struct RouteScratch {
    p: Vec<f32>,
    sel: Vec<usize>,
    fill: Vec<usize>,
}

/// `v` at length `n` (contents unspecified), keeping its capacity.
fn resize<T: Copy>(v: &mut Vec<T>, n: usize, x: T) {
    v.clear();
    v.resize(n, x);
}
