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
use super::gated::{check_finite, check_log_gates};
use super::gla::Gla;
use super::operator::Operator;
use super::options::GatedOptions;
use super::shape::{Dims, HeadIo, InputKind, InputSpec, Presence};
use super::validate as check;
use super::Mode;
use crate::error::HlaError;
use crate::simd::{Isa, Simd};
use crate::size::{exact, floats, MAX_FLOATS};
use crate::workspace::Workspace;
use route::Runs;

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

/// Floats of state per (sequence, query-key head) group: `N + 1` partitions, each one
/// `dk×dv` matrix per value head (partition-major: partition 0 first).
pub fn group_len(d: &Dims, opts: &SseOptions) -> Option<usize> {
    floats(&[&[opts.partitions.checked_add(1)?, d.group(), d.dk, d.dv]])
}

/// State floats for `n_seq` sequences, laid out `[n_seq, h, N + 1, group, dk, dv]`.
/// `None` past one wasm32 buffer (crate::size).
pub fn state_len(n_seq: usize, d: &Dims, opts: &SseOptions) -> Option<usize> {
    floats(&[&[n_seq, d.h, group_len(d, opts)?]])
}

macro_rules! ensure {
    ($cond:expr, $arg:expr, $expected:expr, $actual:expr $(,)?) => {
        if !$cond {
            return Err(HlaError::new($arg, $expected, $actual));
        }
    };
}

/// Checks every argument of [`forward`]; returns the number of sequences.
#[allow(clippy::too_many_arguments)]
pub fn validate(
    mode: Mode,
    d: &Dims,
    opts: &SseOptions,
    inputs: &[&[f32]],
    o_len: usize,
    state_len_given: usize,
    cu_seqlens: Option<&[i32]>,
) -> Result<usize, HlaError> {
    check::dims(d)?;
    let n = opts.partitions;
    ensure!(n >= 1, "partitions", "an integer ≥ 1", n);
    ensure!(
        opts.top_k >= 1 && opts.top_k <= n,
        "topK",
        format!("an integer in 1..={n} (the partitions)"),
        opts.top_k
    );
    ensure!(
        opts.scale.is_finite(),
        "scale",
        "a finite number",
        opts.scale
    );
    let specs = opts.base.inputs();
    ensure!(
        inputs.len() == specs.len(),
        "inputs",
        format!(
            "{} tensors ({}) for base {}",
            specs.len(),
            specs.iter().map(|s| s.name).collect::<Vec<_>>().join(", "),
            opts.base.name()
        ),
        inputs.len()
    );
    for (spec, x) in specs.iter().zip(inputs) {
        let ([a, b], names) = spec.per_token(d, n);
        let want = floats(&[&[d.b, d.t, a, b]]);
        ensure!(
            want.is_some(),
            spec.name,
            format!("b·T·{names} ≤ {MAX_FLOATS} floats (one wasm32 buffer)"),
            exact(&[&[d.b, d.t, a, b]]),
        );
        let want = want.unwrap_or(0);
        let absent = spec.presence == Presence::Optional && x.is_empty();
        ensure!(
            absent || x.len() == want,
            spec.name,
            format!("{want} floats"),
            x.len()
        );
    }
    let nv = floats(&[&[d.b, d.t, d.hv, d.dv]]).unwrap_or(usize::MAX);
    ensure!(o_len == nv, "o", format!("{nv} floats"), o_len);
    // The gathered routed rows of one sequence and head (q, k, gates, then v and o).
    let gathered = floats(&[
        &[d.t, opts.top_k, 3, d.dk],
        &[d.t, opts.top_k, 2, d.group(), d.dv.max(1)],
    ]);
    ensure!(
        gathered.is_some(),
        "topK",
        format!("T·topK·(3·dk + 2·(hv/h)·dv) ≤ {MAX_FLOATS} floats (one wasm32 buffer)"),
        opts.top_k,
    );
    check_finite("router", inputs[ROUTER])?;
    match opts.base {
        SseBase::Gla => {
            check_log_gates("gk1", inputs[GK1])?;
            check_log_gates("gk2", inputs[GK2])?;
        }
        SseBase::DeltaRule => {
            check_log_gates("g1", inputs[G1])?;
            check_log_gates("g2", inputs[G2])?;
            check_finite("beta1", inputs[BETA1])?;
            check_finite("beta2", inputs[BETA2])?;
        }
    }
    check::mode(mode)?;
    let n_seq = check::sequences(d, cu_seqlens)?;
    let want = state_len(n_seq, d, opts);
    ensure!(
        want.is_some(),
        "state",
        format!("at most {MAX_FLOATS} floats (one wasm32 buffer)"),
        format!("more for sse with {d:?}, N = {n}"),
    );
    check::workspace(mode, d)?;
    check::length("state", want.unwrap_or(0), state_len_given)?;
    Ok(n_seq)
}

/// Runs sse over all sequences and heads: `inputs` in `opts.base.inputs()` order. `state` holds
/// the initial state on entry (zeros for none) and the final state on return.
#[allow(clippy::too_many_arguments)]
pub fn forward(
    mode: Mode,
    d: &Dims,
    opts: &SseOptions,
    inputs: &[&[f32]],
    o: &mut [f32],
    state: &mut [f32],
    cu_seqlens: Option<&[i32]>,
    ws: &mut Workspace,
) -> Result<(), HlaError> {
    forward_with::<Isa>(mode, d, opts, inputs, o, state, cu_seqlens, ws)
}

/// [`forward`] with an explicit instruction set (tests compare them).
#[allow(clippy::too_many_arguments)]
pub fn forward_with<S: Simd>(
    mode: Mode,
    d: &Dims,
    opts: &SseOptions,
    inputs: &[&[f32]],
    o: &mut [f32],
    state: &mut [f32],
    cu_seqlens: Option<&[i32]>,
    ws: &mut Workspace,
) -> Result<(), HlaError> {
    let n_seq = validate(mode, d, opts, inputs, o.len(), state.len(), cu_seqlens)?;
    match opts.base {
        SseBase::Gla => run::<S, Gla>(mode, d, opts, inputs, o, state, cu_seqlens, n_seq, ws),
        SseBase::DeltaRule => {
            run::<S, DeltaRule>(mode, d, opts, inputs, o, state, cu_seqlens, n_seq, ws)
        }
    }
    Ok(())
}

/// The gathered rows of one (sequence, query-key head)'s routed partitions, in the base
/// operator's input order, as one `[m, 1 head, …]` problem.
struct Gathered {
    q: Vec<f32>,
    k: Vec<f32>,
    v: Vec<f32>,
    /// gla: gk `[m, dk]`; deltaRule: beta `[m, g]`.
    gate: Vec<f32>,
    /// deltaRule: g `[m, g]` (empty when g2 is absent).
    g: Vec<f32>,
    o: Vec<f32>,
}

#[allow(clippy::too_many_arguments)]
fn run<S: Simd, B: Operator<Params = GatedOptions>>(
    mode: Mode,
    d: &Dims,
    opts: &SseOptions,
    inputs: &[&[f32]],
    o: &mut [f32],
    state: &mut [f32],
    cu_seqlens: Option<&[i32]>,
    n_seq: usize,
    ws: &mut Workspace,
) {
    let (n, k, g, dk, dv) = (opts.partitions, opts.top_k, d.group(), d.dk, d.dv);
    let glen = group_len(d, opts).expect("validated");
    let mat = dk * dv;
    let p = GatedOptions {
        scale: opts.scale,
        qk_l2norm: opts.qk_l2norm,
    };
    let gla = opts.base == SseBase::Gla;
    // Partition 0 runs on the caller's tensors directly, in the base's input order.
    let side0: Vec<&[f32]> = if gla {
        vec![inputs[Q1], inputs[K1], inputs[V], inputs[GK1]]
    } else {
        vec![inputs[Q1], inputs[K1], inputs[V], inputs[BETA1], inputs[G1]]
    };
    let has_g2 = !gla && !inputs[G2].is_empty();
    let mut gat = Gathered {
        q: Vec::new(),
        k: Vec::new(),
        v: Vec::new(),
        gate: Vec::new(),
        g: Vec::new(),
        o: Vec::new(),
    };
    for s in 0..n_seq {
        let (row0, len) = match cu_seqlens {
            None => (s * d.t, d.t),
            Some(cu) => (cu[s] as usize, (cu[s + 1] - cu[s]) as usize),
        };
        let router = &inputs[ROUTER][row0 * n..(row0 + len) * n];
        let runs = Runs::route(router, len, n, k);
        let m = len * k;
        let dg = Dims {
            b: 1,
            t: m,
            h: 1,
            hv: g,
            dk,
            dv,
        };
        for head in 0..d.h {
            let grp = s * d.h + head;
            let st = &mut state[grp * glen..(grp + 1) * glen];
            let (st0, routed) = st.split_at_mut(g * mat);
            let io0 = HeadIo::new(d, &side0, row0, len, head);
            step::<S, B>(mode, &io0, &p, st0, o, ws);

            gather(&mut gat, d, opts, inputs, &runs, row0, head, has_g2);
            let ins: Vec<&[f32]> = if gla {
                vec![&gat.q, &gat.k, &gat.v, &gat.gate]
            } else {
                vec![&gat.q, &gat.k, &gat.v, &gat.gate, &gat.g]
            };
            for (i, st_i) in routed.chunks_exact_mut(g * mat).enumerate() {
                let r = runs.run(i);
                if r.is_empty() {
                    continue;
                }
                let io = HeadIo::new(&dg, &ins, r.start, r.len(), 0);
                step::<S, B>(mode, &io, &p, st_i, &mut gat.o, ws);
            }
            // Scatter-add: partition 0 wrote o; the routed ones add, in partition order.
            for (idx, &t) in runs.tokens.iter().enumerate() {
                let dst = ((row0 + t) * d.hv + head * g) * dv;
                let src = &gat.o[idx * g * dv..(idx + 1) * g * dv];
                for (a, b) in o[dst..dst + g * dv].iter_mut().zip(src) {
                    *a += b;
                }
            }
        }
    }
}

fn step<S: Simd, B: Operator<Params = GatedOptions>>(
    mode: Mode,
    io: &HeadIo,
    p: &GatedOptions,
    st: &mut [f32],
    o: &mut [f32],
    ws: &mut Workspace,
) {
    match mode {
        Mode::Recurrent => B::recurrent::<S>(io, p, st, o, ws),
        Mode::Chunk(c) => B::chunk::<S>(io, p, st, o, ws, c),
    }
}

/// Fills `gat` with head `head`'s routed rows, run after run: q2 and k2 scaled by the token's
/// probability (weightQuery, weightKey), v and the side-2 gates as they are.
#[allow(clippy::too_many_arguments)]
fn gather(
    gat: &mut Gathered,
    d: &Dims,
    opts: &SseOptions,
    inputs: &[&[f32]],
    runs: &Runs,
    row0: usize,
    head: usize,
    has_g2: bool,
) {
    let (g, dk, dv) = (d.group(), d.dk, d.dv);
    let m = runs.tokens.len();
    let gla = opts.base == SseBase::Gla;
    gat.q.resize(m * dk, 0.0);
    gat.k.resize(m * dk, 0.0);
    gat.v.resize(m * g * dv, 0.0);
    gat.o.resize(m * g * dv, 0.0);
    gat.gate.resize(if gla { m * dk } else { m * g }, 0.0);
    gat.g.resize(if has_g2 { m * g } else { 0 }, 0.0);
    for (idx, (&t, &pr)) in runs.tokens.iter().zip(&runs.probs).enumerate() {
        let r = row0 + t;
        let qk = (r * d.h + head) * dk;
        let wq = if opts.weight_query { pr } else { 1.0 };
        let wk = if opts.weight_key { pr } else { 1.0 };
        let dst = idx * dk..(idx + 1) * dk;
        for (a, b) in gat.q[dst.clone()].iter_mut().zip(&inputs[Q2][qk..qk + dk]) {
            *a = wq * b;
        }
        for (a, b) in gat.k[dst.clone()].iter_mut().zip(&inputs[K2][qk..qk + dk]) {
            *a = wk * b;
        }
        let vh = r * d.hv + head * g;
        gat.v[idx * g * dv..(idx + 1) * g * dv].copy_from_slice(&inputs[V][vh * dv..(vh + g) * dv]);
        if gla {
            gat.gate[dst].copy_from_slice(&inputs[GK2][qk..qk + dk]);
        } else {
            gat.gate[idx * g..(idx + 1) * g].copy_from_slice(&inputs[BETA2][vh..vh + g]);
            if has_g2 {
                gat.g[idx * g..(idx + 1) * g].copy_from_slice(&inputs[G2][vh..vh + g]);
            }
        }
    }
}
