//! Options: one struct per operator family, the [`Options`] enum over them, and what one
//! query-key head's kernel runs with ([`Params`], the HLA family's).

use super::Op;

/// The options of the HLA family (la1, hla2, ahla, hla3): docs/spec.md.
#[derive(Clone, Debug, PartialEq)]
pub struct HlaOptions {
    pub scale: f32,
    /// γ per query-key head (length h) or one for all (length 1); 1 means no decay.
    pub decay: Vec<f32>,
    pub normalize: bool,
    pub eps: f32,
    /// hla2 only; 0 disables it (and the ridge moments in the state).
    pub ridge: f32,
}

impl HlaOptions {
    /// γ of query-key head `head` (an index).
    #[inline]
    pub fn gamma_for_head(&self, head: usize) -> f32 {
        self.decay[if self.decay.len() == 1 { 0 } else { head }]
    }

    /// Whether the state holds hla2's ridge moments.
    pub fn ridge_moments(&self) -> RidgeMoments {
        if self.ridge != 0.0 {
            RidgeMoments::Kept
        } else {
            RidgeMoments::None
        }
    }
}

/// Whether hla2's state carries the ridge moments (m, and C per value head).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RidgeMoments {
    None,
    Kept,
}

impl RidgeMoments {
    /// 1 when kept: the number of extra blocks of each size.
    pub fn count(self) -> usize {
        match self {
            RidgeMoments::None => 0,
            RidgeMoments::Kept => 1,
        }
    }
}

/// The options of one call, by operator family. Each operator reads its family's variant
/// ([`super::Operator::check_options`] refuses another).
#[derive(Clone, Debug, PartialEq)]
pub enum Options {
    Hla(HlaOptions),
    Gated(GatedOptions),
    /// sse (over gla or deltaRule): docs/math.md, section h.
    Sse(super::sse::SseOptions),
    /// rla (over la or deltaRule): docs/math.md, section i.
    Rla(super::rla::RlaOptions),
}

/// The options of the gated family (gla, deltaRule): docs/spec.md. Also what one query-key
/// head's kernel runs with (the gates are per-token inputs, not options).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GatedOptions {
    pub scale: f32,
    /// deltaRule: q and k become `x / sqrt(Σx² + 1e-6)` before scaling.
    pub qk_l2norm: bool,
}

impl From<GatedOptions> for Options {
    fn from(o: GatedOptions) -> Options {
        Options::Gated(o)
    }
}

impl From<HlaOptions> for Options {
    fn from(o: HlaOptions) -> Options {
        Options::Hla(o)
    }
}

impl From<super::sse::SseOptions> for Options {
    fn from(o: super::sse::SseOptions) -> Options {
        Options::Sse(o)
    }
}

impl From<super::rla::RlaOptions> for Options {
    fn from(o: super::rla::RlaOptions) -> Options {
        Options::Rla(o)
    }
}

impl Options {
    /// sse's options (`op` names the operator in the error).
    pub fn sse(&self, op: Op) -> Result<&super::sse::SseOptions, crate::HlaError> {
        match self {
            Options::Sse(o) => Ok(o),
            _ => Err(crate::HlaError::new(
                "options",
                format!("sse's options ({} is sse)", op.name()),
                "another family's",
            )),
        }
    }
    /// rla's options (`op` names the operator in the error).
    pub fn rla(&self, op: Op) -> Result<&super::rla::RlaOptions, crate::HlaError> {
        match self {
            Options::Rla(o) => Ok(o),
            _ => Err(crate::HlaError::new(
                "options",
                format!("rla's options ({} is rla)", op.name()),
                "another family's",
            )),
        }
    }
    /// The gated family's options (`op` names the operator in the error).
    pub fn gated(&self, op: Op) -> Result<&GatedOptions, crate::HlaError> {
        match self {
            Options::Gated(o) => Ok(o),
            _ => Err(crate::HlaError::new(
                "options",
                format!(
                    "the gated family's options ({} is a gated operator)",
                    op.name()
                ),
                "another family's",
            )),
        }
    }
    /// The HLA family's options (`op` names the operator in the error).
    pub fn hla(&self, op: Op) -> Result<&HlaOptions, crate::HlaError> {
        match self {
            Options::Hla(o) => Ok(o),
            #[allow(unreachable_patterns)]
            _ => Err(crate::HlaError::new(
                "options",
                format!(
                    "the HLA family's options ({} is an HLA operator)",
                    op.name()
                ),
                "another family's",
            )),
        }
    }
}

/// What one HLA kernel call runs with (one query-key head).
#[derive(Clone, Copy, Debug)]
pub struct Params {
    pub gamma: f32,
    pub scale: f32,
    pub normalize: bool,
    pub eps: f32,
    pub ridge: f32,
    pub ridge_moments: RidgeMoments,
}

impl Params {
    /// The options as seen by query-key head `head` (its decay).
    pub fn for_head(opts: &HlaOptions, head: usize) -> Params {
        Params {
            gamma: opts.gamma_for_head(head),
            scale: opts.scale,
            normalize: opts.normalize,
            eps: opts.eps,
            ridge: opts.ridge,
            ridge_moments: opts.ridge_moments(),
        }
    }

    pub fn has_ridge(&self) -> bool {
        self.ridge_moments == RidgeMoments::Kept
    }
}

/// The [`super::Operator`] items every HLA-family operator shares: inputs q, k, v, the
/// family's [`Params`] and option checks (`$ridge`: whether it accepts a ridge).
macro_rules! hla_family {
    ($ridge:expr) => {
        const INPUTS: &'static [$crate::ops::InputSpec] = &$crate::ops::shape::QKV;
        type Params = $crate::ops::Params;

        fn check_options(
            d: &$crate::ops::Dims,
            opts: &$crate::ops::Options,
        ) -> Result<(), $crate::HlaError> {
            $crate::ops::validate::hla_options(Self::OP, d, opts, $ridge).map(|_| ())
        }
        fn params(opts: &$crate::ops::Options, head: usize) -> $crate::ops::Params {
            $crate::ops::Params::for_head(opts.hla(Self::OP).expect("checked"), head)
        }
    };
}
pub(crate) use hla_family;

/// `sign(x) · max(|x|, eps)` with sign(0) = +1; NaN passes through (never hidden).
#[inline(always)]
pub(crate) fn signed_floor(x: f32, eps: f32) -> f32 {
    if x >= 0.0 {
        x.max(eps)
    } else if x < 0.0 {
        x.min(-eps)
    } else {
        x
    }
}

/// `dst = num / floor(den)` when normalising, else `dst = num`.
#[inline(always)]
pub(crate) fn write_output(dst: &mut [f32], num: &[f32], den: f32, p: &Params) {
    if p.normalize {
        let inv = 1.0 / signed_floor(den, p.eps);
        for (d, n) in dst.iter_mut().zip(num) {
            *d = n * inv;
        }
    } else {
        dst.copy_from_slice(&num[..dst.len()]);
    }
}
