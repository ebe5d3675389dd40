//! Sparse state expansion (Pan et al., arXiv 2507.16577; the authors' code is
//! flash-linear-attention PR #882): per query-key head, N + 1 states of a base operator (gla or
//! deltaRule). Partition 0 sees every token through `(q1, k1, gates1)`; each token is routed by
//! `softmax(router_t)` to its top-k of the partitions 1..N, which see it through `(q2, k2,
//! gates2)` with q2 and k2 scaled by the token's probability (weightQuery, weightKey) before
//! the base's own normalisation; a partition a token is not routed to is neither decayed nor
//! written. o_t is the sum of the partitions' outputs. Definitions and the readings chosen:
//! docs/math.md, section sse.
//!
//! Both forms run the base's own per-head kernels (recurrent or chunk) over each partition's
//! run of tokens — gathered once per (sequence, head) by a stable sort on the partition — and
//! scatter-add the outputs: partitions interact only through the output sum, so walking each
//! partition's run in token order is the token loop of the definition, and the cost is about
//! 1 + topK base passes whatever N.

pub mod route;

use super::delta_rule::DeltaRule;
use super::driver::{run_form, typed_forward};
use super::gated::{check_finite, check_log_gates};
use super::gla::Gla;
use super::operator::Operator;
use super::options::{GatedOptions, Options};
use super::shape::{Dims, GroupDims, HeadIo, InputKind, InputSpec};
use super::{Mode, Op};
use crate::error::{ensure, HlaError};
use crate::simd::Simd;
use crate::size::{floats, MAX_FLOATS};
use crate::workspace::Workspace;
use route::{RouteScratch, Runs};
use std::marker::PhantomData;

/// The operator each partition runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SseBase {
    Gla,
    DeltaRule,
}

impl SseBase {
    pub fn name(self) -> &'static str {
        match self {
            SseBase::Gla => "gla",
            SseBase::DeltaRule => "deltaRule",
        }
    }
    pub fn from_name(s: &str) -> Option<SseBase> {
        [SseBase::Gla, SseBase::DeltaRule]
            .into_iter()
            .find(|b| b.name() == s)
    }
    /// The per-token inputs with this base, in the order [`forward`] takes them.
    pub fn inputs(self) -> &'static [InputSpec] {
        match self {
            SseBase::Gla => &GLA_INPUTS,
            SseBase::DeltaRule => &DELTA_RULE_INPUTS,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SseOptions {
    pub base: SseBase,
    /// N, the routed partitions (the state has N + 1 per value head).
    pub partitions: usize,
    pub top_k: usize,
    pub weight_query: bool,
    pub weight_key: bool,
    pub qk_l2norm: bool,
    pub scale: f32,
}

/// Indices of the inputs both bases share.
pub const Q1: usize = 0;
pub const K1: usize = 1;
pub const Q2: usize = 2;
pub const K2: usize = 3;
pub const V: usize = 4;
pub const ROUTER: usize = 5;
/// gla: the per-feature log gates of each side.
pub const GK1: usize = 6;
pub const GK2: usize = 7;
/// deltaRule: the log gates (optional) and rates of each side.
pub const G1: usize = 6;
pub const G2: usize = 7;
pub const BETA1: usize = 8;
pub const BETA2: usize = 9;

const SHARED: [InputSpec; 6] = [
    InputSpec::required("q1", InputKind::QueryKey),
    InputSpec::required("k1", InputKind::QueryKey),
    InputSpec::required("q2", InputKind::QueryKey),
    InputSpec::required("k2", InputKind::QueryKey),
    InputSpec::required("v", InputKind::Value),
    InputSpec::required("router", InputKind::Token),
];

pub const GLA_INPUTS: [InputSpec; 8] = [
    SHARED[0],
    SHARED[1],
    SHARED[2],
    SHARED[3],
    SHARED[4],
    SHARED[5],
    InputSpec::required("gk1", InputKind::QueryKey),
    InputSpec::required("gk2", InputKind::QueryKey),
];

pub const DELTA_RULE_INPUTS: [InputSpec; 10] = [
    SHARED[0],
    SHARED[1],
    SHARED[2],
    SHARED[3],
    SHARED[4],
    SHARED[5],
    InputSpec::optional("g1", InputKind::ValueScalar),
    InputSpec::optional("g2", InputKind::ValueScalar),
    InputSpec::required("beta1", InputKind::ValueScalar),
    InputSpec::required("beta2", InputKind::ValueScalar),
];

/// The operator of sse over `base`.
pub fn op(base: SseBase) -> Op {
    match base {
        SseBase::Gla => Op::SseGla,
        SseBase::DeltaRule => Op::SseDeltaRule,
    }
}

/// Floats of state per (sequence, query-key head) group: `N + 1` partitions, each one
/// `dk×dv` matrix per value head (partition-major: partition 0 first); `None` past one wasm32
/// buffer (crate::size).
pub fn group_len(d: &Dims, opts: &SseOptions) -> Option<usize> {
    floats(&[&[opts.partitions.checked_add(1)?, d.group(), d.dk, d.dv]])
}

/// State floats for `n_seq` sequences, laid out `[n_seq, h, N + 1, group, dk, dv]`.
pub fn state_len(n_seq: usize, d: &Dims, opts: &SseOptions) -> Option<usize> {
    floats(&[&[n_seq, d.h, group_len(d, opts)?]])
}

/// What sse needs of its base: the base's kernels (its [`Operator`]) and sse's inputs over it.
pub trait SseBaseOp: Operator<Params = GatedOptions> {
    const BASE: SseBase;
    const SSE_OP: Op;
    const SSE_INPUTS: &'static [InputSpec];
    /// How many gate inputs the base takes after q, k, v.
    const GATES: usize;
    /// Side 1's or side 2's gates, in the base's input order after q, k, v (the first
    /// [`Self::GATES`]; a fixed array: a decode step builds these per head).
    fn gates<'a>(inputs: &[&'a [f32]], side: usize) -> [&'a [f32]; 2];
    fn check_gates(inputs: &[&[f32]]) -> Result<(), HlaError>;
}

impl SseBaseOp for Gla {
    const BASE: SseBase = SseBase::Gla;
    const SSE_OP: Op = Op::SseGla;
    const SSE_INPUTS: &'static [InputSpec] = &GLA_INPUTS;
    const GATES: usize = 1;
    fn gates<'a>(inputs: &[&'a [f32]], side: usize) -> [&'a [f32]; 2] {
        [inputs[if side == 1 { GK1 } else { GK2 }], &[]]
    }
    fn check_gates(inputs: &[&[f32]]) -> Result<(), HlaError> {
        check_log_gates("gk1", inputs[GK1])?;
        check_log_gates("gk2", inputs[GK2])
    }
}

impl SseBaseOp for DeltaRule {
    const BASE: SseBase = SseBase::DeltaRule;
    const SSE_OP: Op = Op::SseDeltaRule;
    const SSE_INPUTS: &'static [InputSpec] = &DELTA_RULE_INPUTS;
    const GATES: usize = 2;
    fn gates<'a>(inputs: &[&'a [f32]], side: usize) -> [&'a [f32]; 2] {
        if side == 1 {
            [inputs[BETA1], inputs[G1]]
        } else {
            [inputs[BETA2], inputs[G2]]
        }
    }
    fn check_gates(inputs: &[&[f32]]) -> Result<(), HlaError> {
        check_log_gates("g1", inputs[G1])?;
        check_log_gates("g2", inputs[G2])?;
        check_finite("beta1", inputs[BETA1])?;
        check_finite("beta2", inputs[BETA2])
    }
}

/// sse over the base `B` (docs/math.md, section h).
pub struct Sse<B>(PhantomData<B>);

impl<B: SseBaseOp> Operator for Sse<B> {
    const OP: Op = B::SSE_OP;
    const INPUTS: &'static [InputSpec] = B::SSE_INPUTS;
    type Params = SseOptions;
    /// `(N + 1) × g × S[dk×dv]`, partition-major.
    type State<'a> = &'a mut [f32];

    fn split<'a>(st: &'a mut [f32], _: &GroupDims, _: &SseOptions) -> &'a mut [f32] {
        st
    }
    fn check_options(d: &Dims, opts: &Options) -> Result<(), HlaError> {
        let o = opts.sse(Self::OP)?;
        ensure!(
            o.base == B::BASE,
            "base",
            format!("'{}' (the operator {})", B::BASE.name(), Self::OP.name()),
            o.base.name()
        );
        let n = o.partitions;
        ensure!(n >= 1, "partitions", "an integer ≥ 1", n);
        ensure!(
            o.top_k >= 1 && o.top_k <= n,
            "topK",
            format!("an integer in 1..={n} (the partitions)"),
            o.top_k
        );
        ensure!(o.scale.is_finite(), "scale", "a finite number", o.scale);
        // The gathered routed rows of one sequence and head (q, k, gates, then v and o).
        ensure!(
            floats(&[
                &[d.t, o.top_k, 3, d.dk],
                &[d.t, o.top_k, 2, d.group(), d.dv]
            ])
            .is_some(),
            "topK",
            format!("T·topK·(3·dk + 2·(hv/h)·dv) ≤ {MAX_FLOATS} floats (one wasm32 buffer)"),
            o.top_k,
        );
        Ok(())
    }
    fn check_inputs(_: &Dims, inputs: &[&[f32]]) -> Result<(), HlaError> {
        check_finite("router", inputs[ROUTER])?;
        B::check_gates(inputs)
    }
    fn params(opts: &Options, _: usize) -> SseOptions {
        *opts.sse(Self::OP).expect("checked")
    }
    fn group_len(d: &Dims, opts: &Options) -> Option<usize> {
        group_len(d, opts.sse(Self::OP).ok()?)
    }
    fn token_width(opts: &Options) -> usize {
        opts.sse(Self::OP).map_or(0, |o| o.partitions)
    }

    fn recurrent<S: Simd>(
        io: &HeadIo,
        p: &SseOptions,
        st: &mut [f32],
        o: &mut [f32],
        ws: &mut Workspace,
    ) {
        run::<S, B>(Mode::Recurrent, io, p, st, o, ws)
    }
    fn chunk<S: Simd>(
        io: &HeadIo,
        p: &SseOptions,
        st: &mut [f32],
        o: &mut [f32],
        ws: &mut Workspace,
        chunk_size: usize,
    ) {
        run::<S, B>(Mode::Chunk(chunk_size), io, p, st, o, ws)
    }
}

typed_forward!(
    SseOptions,
    "Runs sse over all sequences and heads: `inputs` in `opts.base.inputs()` order.",
    |opts| op(opts.base),
    Options::Sse(*opts)
);

/// sse's scratch, kept in the [`Workspace`] across calls: the routing and the gathered rows
/// of one (sequence, query-key head). Its buffers grow to the largest call and are reused, so a
/// session's decode step (T = 1 per head) allocates nothing after its first.
#[derive(Default)]
pub struct Scratch {
    runs: Runs,
    route: RouteScratch,
    gat: Gathered,
    /// The routed partitions' outputs, `[m, g, dv]` in run order.
    og: Vec<f32>,
}

/// The gathered rows of one (sequence, query-key head)'s routed partitions, in the base
/// operator's input order, as one `[m, 1 head, …]` problem.
#[derive(Default)]
struct Gathered {
    q: Vec<f32>,
    k: Vec<f32>,
    v: Vec<f32>,
    /// The side-2 gates in the base's order: gla `[gk (m·dk)]`; deltaRule `[beta (m·g), g (m·g
    /// or empty)]`.
    gates: [Vec<f32>; 2],
}

/// One (sequence, query-key head): routes the sequence, runs partition 0 on the caller's
/// tensors, gathers the routed rows and runs each partition's run, then scatter-adds.
fn run<S: Simd, B: SseBaseOp>(
    mode: Mode,
    io: &HeadIo,
    opts: &SseOptions,
    st: &mut [f32],
    o: &mut [f32],
    ws: &mut Workspace,
) {
    // Taken out for the call (the base's kernels borrow the rest of `ws`), put back after:
    // moving the Vecs allocates nothing.
    let mut scr = std::mem::take(&mut ws.sse);
    run_with::<S, B>(mode, io, opts, st, o, ws, &mut scr);
    ws.sse = scr;
}

fn run_with<S: Simd, B: SseBaseOp>(
    mode: Mode,
    io: &HeadIo,
    opts: &SseOptions,
    st: &mut [f32],
    o: &mut [f32],
    ws: &mut Workspace,
    scr: &mut Scratch,
) {
    let (n, k, g, dk, dv) = (opts.partitions, opts.top_k, io.group(), io.dk, io.dv);
    let mat = dk * dv;
    let p = GatedOptions {
        scale: opts.scale,
        qk_l2norm: opts.qk_l2norm,
    };
    let ins = io.inputs;
    // Partition 0 runs on the caller's tensors directly, in the base's input order.
    let [g0, g1] = B::gates(ins, 1);
    let side0: [&[f32]; 5] = [ins[Q1], ins[K1], ins[V], g0, g1];
    let io0 = HeadIo {
        inputs: &side0[..3 + B::GATES],
        ..*io
    };
    let (st0, routed) = st.split_at_mut(g * mat);
    run_form::<S, B>(mode, &io0, &p, st0, o, ws);

    // Routing is per token, shared by the heads: each head's call recomputes it (N·topK per
    // token, nothing beside the base's dk·dv).
    let router = &ins[ROUTER][io.row0 * n..(io.row0 + io.len) * n];
    let Scratch {
        runs,
        route,
        gat,
        og,
    } = scr;
    runs.route_into(router, io.len, n, k, route);
    gather::<B>(io, opts, runs, gat);
    let [ga, gb] = &gat.gates;
    let gins: [&[f32]; 5] = [&gat.q, &gat.k, &gat.v, ga, gb];
    let gins = &gins[..3 + B::GATES];
    let m = runs.tokens.len();
    let dg = Dims {
        b: 1,
        t: m,
        h: 1,
        hv: g,
        dk,
        dv,
    };
    og.clear();
    og.resize(m * g * dv, 0.0);
    for (i, st_i) in routed.chunks_exact_mut(g * mat).enumerate() {
        let r = runs.run(i);
        if r.is_empty() {
            continue;
        }
        let io_i = HeadIo::new(&dg, gins, r.start, r.len(), 0);
        run_form::<S, B>(mode, &io_i, &p, st_i, og, ws);
    }
    // Scatter-add: partition 0 wrote o; the routed ones add, in partition order.
    for (idx, &t) in runs.tokens.iter().enumerate() {
        let dst = io.v_offset(t, 0);
        for (a, b) in o[dst..dst + g * dv].iter_mut().zip(&og[idx * g * dv..]) {
            *a += b;
        }
    }
}

/// Head `io.head`'s routed rows into `gat`, run after run: q2 and k2 scaled by the token's
/// probability (weightQuery, weightKey), v and the side-2 gates as they are.
fn gather<B: SseBaseOp>(io: &HeadIo, opts: &SseOptions, runs: &Runs, gat: &mut Gathered) {
    let g = io.group();
    let dk = io.dk;
    gat.q.clear();
    gat.k.clear();
    gat.v.clear();
    gat.gates.iter_mut().for_each(Vec::clear);
    let side2 = B::gates(io.inputs, 2);
    for (&t, &pr) in runs.tokens.iter().zip(&runs.probs) {
        let wq = if opts.weight_query { pr } else { 1.0 };
        let wk = if opts.weight_key { pr } else { 1.0 };
        gat.q.extend(io.key_row(Q2, t).iter().map(|x| wq * x));
        gat.k.extend(io.key_row(K2, t).iter().map(|x| wk * x));
        for j in 0..g {
            gat.v.extend_from_slice(io.value_row(V, t, j));
        }
        for (dst, src) in gat.gates.iter_mut().zip(&side2[..B::GATES]) {
            if src.is_empty() {
                continue;
            }
            // A gate is per key feature (gla's gk: `[h, dk]` per token) or per value head.
            if B::BASE == SseBase::Gla {
                let o = ((io.row0 + t) * io.heads + io.head) * dk;
                dst.extend_from_slice(&src[o..o + dk]);
            } else {
                let o = (io.row0 + t) * io.value_heads + io.head * g;
                dst.extend_from_slice(&src[o..o + g]);
            }
        }
    }
}
