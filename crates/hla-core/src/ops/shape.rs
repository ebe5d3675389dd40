//! Shapes: the problem's dimensions, the per-token inputs an operator declares (named, each
//! with the shape kind it has), and one (sequence, query-key head)'s view of them.

/// `q, k: [b, t, h, dk]`, `v, o: [b, t, hv, dv]`, `hv % h == 0`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Dims {
    pub b: usize,
    pub t: usize,
    pub h: usize,
    pub hv: usize,
    pub dk: usize,
    pub dv: usize,
}

impl Dims {
    /// Value heads per query-key head.
    pub fn group(&self) -> usize {
        self.hv / self.h.max(1)
    }

    /// The shape of one (sequence, query-key head) group.
    pub fn group_dims(&self) -> GroupDims {
        GroupDims {
            dk: self.dk,
            dv: self.dv,
            group: self.group(),
        }
    }

    /// The same problem over `t` tokens.
    pub fn with_t(&self, t: usize) -> Dims {
        Dims { t, ..*self }
    }
}

/// The shape of one (sequence, query-key head) group: its head sizes and its value heads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GroupDims {
    pub dk: usize,
    pub dv: usize,
    pub group: usize,
}

/// The shape of one per-token input, per token (the tensor is `[b, t, …]`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InputKind {
    /// `[h, dk]`: one row per query-key head (q, k, per-feature gates).
    QueryKey,
    /// `[hv, dv]`: one row per value head (v).
    Value,
    /// `[hv]`: one number per value head (scalar gates, rates).
    ValueScalar,
    /// `[n]`: one row per token shared by all heads, `n` from the operator's options
    /// ([`super::Operator::token_width`]; a router over partitions).
    Token,
}

/// Whether an input must be given; an optional one is absent when its slice is empty.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Presence {
    Required,
    Optional,
}

/// One per-token input of an operator: its name (the JS argument's), shape kind and presence.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InputSpec {
    pub name: &'static str,
    pub kind: InputKind,
    pub presence: Presence,
}

impl InputSpec {
    pub const fn required(name: &'static str, kind: InputKind) -> InputSpec {
        InputSpec {
            name,
            kind,
            presence: Presence::Required,
        }
    }
    pub const fn optional(name: &'static str, kind: InputKind) -> InputSpec {
        InputSpec {
            name,
            kind,
            presence: Presence::Optional,
        }
    }

    /// The factors of this input's floats per token for `d` (`token_width` for
    /// [`InputKind::Token`]), and how to name them.
    pub fn per_token(&self, d: &Dims, token_width: usize) -> ([usize; 2], &'static str) {
        match self.kind {
            InputKind::QueryKey => ([d.h, d.dk], "h·dk"),
            InputKind::Value => ([d.hv, d.dv], "hv·dv"),
            InputKind::ValueScalar => ([d.hv, 1], "hv"),
            InputKind::Token => ([token_width, 1], "n"),
        }
    }
}

/// The inputs of the HLA family (and of every operator that starts with them): `q, k, v`.
pub const QKV: [InputSpec; 3] = [
    InputSpec::required("q", InputKind::QueryKey),
    InputSpec::required("k", InputKind::QueryKey),
    InputSpec::required("v", InputKind::Value),
];

/// Indices of q, k, v in the inputs of operators declaring [`QKV`] first.
pub const Q: usize = 0;
pub const K: usize = 1;
pub const V: usize = 2;

/// The rows of one (sequence, query-key head): tokens `row0 .. row0 + len` of the `[b·t]`
/// rows, in every input (in the operator's declared order).
pub struct HeadIo<'a> {
    pub inputs: &'a [&'a [f32]],
    pub row0: usize,
    pub len: usize,
    /// Which query-key head (an index, not a count).
    pub head: usize,
    pub heads: usize,
    pub value_heads: usize,
    pub dk: usize,
    pub dv: usize,
}

impl<'a> HeadIo<'a> {
    /// Head `head` of `d`'s tensors, tokens `row0 .. row0 + len`.
    pub fn new(d: &Dims, inputs: &'a [&'a [f32]], row0: usize, len: usize, head: usize) -> Self {
        HeadIo {
            inputs,
            row0,
            len,
            head,
            heads: d.h,
            value_heads: d.hv,
            dk: d.dk,
            dv: d.dv,
        }
    }
    /// Value heads per query-key head.
    pub fn group(&self) -> usize {
        self.value_heads / self.heads
    }
    pub fn group_dims(&self) -> GroupDims {
        GroupDims {
            dk: self.dk,
            dv: self.dv,
            group: self.group(),
        }
    }
    /// Row `t` of the [`InputKind::QueryKey`] input `input`.
    #[inline(always)]
    pub fn key_row(&self, input: usize, t: usize) -> &'a [f32] {
        let o = ((self.row0 + t) * self.heads + self.head) * self.dk;
        &self.inputs[input][o..o + self.dk]
    }
    #[inline(always)]
    pub fn q_row(&self, t: usize) -> &'a [f32] {
        self.key_row(Q, t)
    }
    #[inline(always)]
    pub fn k_row(&self, t: usize) -> &'a [f32] {
        self.key_row(K, t)
    }
    /// Offset of value head `j` of this group at token `t` in `v` and `o`.
    #[inline(always)]
    pub fn v_offset(&self, t: usize, j: usize) -> usize {
        ((self.row0 + t) * self.value_heads + self.head * self.group() + j) * self.dv
    }
    /// Row `t` of value head `j` of the [`InputKind::Value`] input `input`.
    #[inline(always)]
    pub fn value_row(&self, input: usize, t: usize, j: usize) -> &'a [f32] {
        let o = self.v_offset(t, j);
        &self.inputs[input][o..o + self.dv]
    }
    #[inline(always)]
    pub fn v_row(&self, t: usize, j: usize) -> &'a [f32] {
        self.value_row(V, t, j)
    }
    /// Value head `j`'s number at token `t` of the [`InputKind::ValueScalar`] input `input`.
    #[inline(always)]
    pub fn value_scalar(&self, input: usize, t: usize, j: usize) -> f32 {
        self.inputs[input][(self.row0 + t) * self.value_heads + self.head * self.group() + j]
    }
    /// `dst = scale · q_t`.
    #[inline(always)]
    pub fn load_q(&self, t: usize, scale: f32, dst: &mut [f32]) {
        for (d, s) in dst.iter_mut().zip(self.q_row(t)) {
            *d = scale * s;
        }
    }
}
