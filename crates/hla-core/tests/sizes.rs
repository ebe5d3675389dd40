//! Size arithmetic at the wasm32 limits, on the native build: usize is 64 bits here and 32 in
//! wasm32, so these tests model the wasm32 arithmetic (`u32` wrapping) explicitly and check
//! that every size the crate accepts is one that wasm32 computes without wrapping, and that
//! every size that wraps there is refused here too.

mod common;
use common::{rand_vec, rel_err};
use hla_core::ops::{forward, validate, workspace_len};
use hla_core::size::{chunk_len, floats, MAX_CHUNK, MAX_FLOATS};
use hla_core::workspace::Workspace;
use hla_core::{Dims, HlaOptions, Mode, Op, Options};

/// `group_len` as wasm32 computes it without checks (u32, wrapping): the bug of issue #10.
fn group_len_u32(op: Op, dk: u32, dv: u32, g: u32, ridge: bool) -> u32 {
    let r = ridge as u32;
    let (m, a) = (u32::wrapping_mul, u32::wrapping_add);
    match op {
        Op::La1 => a(dk, m(g, m(dk, dv))),
        Op::Hla2 => a(a(a(m(dk, dk), dk), m(r, dk)), m(m(g, m(dk, dv)), 1 + r)),
        Op::Ahla => a(m(2, dk), m(m(g, 2), m(dk, dv))),
        Op::Hla3 => a(a(m(dk, dk), m(2, dk)), m(m(g, 2), m(dk, dv))),
        Op::Gla | Op::DeltaRule => m(g, m(dk, dv)),
        Op::Rla => m(2, m(g, m(dk, dv))),
        Op::SseGla | Op::SseDeltaRule => unreachable!("sse's length depends on N: tests/sse.rs"),
    }
}

/// The exact group length (u128 never overflows here).
fn group_len_exact(op: Op, dk: u128, dv: u128, g: u128, ridge: bool) -> u128 {
    let r = ridge as u128;
    match op {
        Op::La1 => dk + g * dk * dv,
        Op::Hla2 => dk * dk + dk + r * dk + g * dk * dv * (1 + r),
        Op::Ahla => 2 * dk + g * 2 * dk * dv,
        Op::Hla3 => dk * dk + 2 * dk + g * 2 * dk * dv,
        Op::Gla | Op::DeltaRule => g * dk * dv,
        Op::Rla => 2 * g * dk * dv,
        Op::SseGla | Op::SseDeltaRule => unreachable!("sse's length depends on N: tests/sse.rs"),
    }
}

fn opts(decay: &[f32]) -> Options {
    opts_ridge(decay, false)
}

fn opts_ridge(decay: &[f32], ridge: bool) -> Options {
    HlaOptions {
        scale: 1.0,
        decay: decay.to_vec(),
        normalize: false,
        eps: 1e-6,
        ridge: if ridge { 1.0 } else { 0.0 },
    }
    .into()
}

fn heads(h: usize, hv: usize, dk: usize, dv: usize) -> Dims {
    Dims {
        b: 1,
        t: 1,
        h,
        hv,
        dk,
        dv,
    }
}

/// The lengths in the positional form these tests were written in.
fn group_len(op: Op, dk: usize, dv: usize, g: usize, ridge: bool) -> Option<usize> {
    hla_core::ops::group_len(op, &heads(1, g, dk, dv), &opts_ridge(&[1.0], ridge))
}
fn state_len(
    op: Op,
    n: usize,
    h: usize,
    hv: usize,
    dk: usize,
    dv: usize,
    r: bool,
) -> Option<usize> {
    hla_core::ops::state_len(op, n, &heads(h, hv, dk, dv), &opts_ridge(&[1.0], r))
}
fn summary_len(op: Op, h: usize, hv: usize, dk: usize, dv: usize, r: bool) -> Option<usize> {
    hla_core::ops::summary_len(op, &heads(h, hv, dk, dv), &opts_ridge(&[1.0], r))
}

#[test]
fn max_floats_is_one_wasm32_allocation() {
    // isize::MAX on wasm32 is 2^31 − 1 bytes; the bound must fit it in bytes, and in u32.
    assert!(MAX_FLOATS as u64 * 4 <= i32::MAX as u64);
    assert_eq!(MAX_FLOATS, 536_870_911);
    assert_eq!(floats(&[&[MAX_FLOATS]]), Some(MAX_FLOATS));
    assert_eq!(floats(&[&[MAX_FLOATS], &[1]]), None);
    assert_eq!(floats(&[&[65536, 65536]]), None); // 2^32: 0 in u32
    assert_eq!(floats(&[&[usize::MAX, 2]]), None); // overflows even u64
    assert_eq!(floats(&[&[usize::MAX, 0]]), Some(0)); // a true 0, not a wrapped one
    assert_eq!(floats(&[&[3, 5], &[7]]), Some(22));
}

#[test]
fn group_len_is_exact_or_refused_never_wrapped() {
    let dims = [
        1u32,
        2,
        3,
        7,
        64,
        255,
        4096,
        16383,
        16384,
        23170,
        23171,
        46340,
        65535,
        65536,
        65537,
        1 << 20,
        1 << 28,
        1 << 29,
        (1 << 31) + 1,
        u32::MAX,
    ];
    let mut accepted = 0;
    // sse's options carry N (its length is checked in tests/sse.rs).
    for op in Op::ALL
        .into_iter()
        .filter(|op| !matches!(op, Op::SseGla | Op::SseDeltaRule))
    {
        for &dk in &dims {
            for &dv in &dims {
                for g in [1u32, 2, 3, 4096] {
                    for ridge in [false, true] {
                        let exact = group_len_exact(op, dk as u128, dv as u128, g as u128, ridge);
                        let got = group_len(op, dk as usize, dv as usize, g as usize, ridge);
                        if exact <= MAX_FLOATS as u128 {
                            assert_eq!(got, Some(exact as usize), "{op:?} {dk} {dv} {g}");
                            // What wasm32 computes for an accepted size is the true size.
                            assert_eq!(group_len_u32(op, dk, dv, g, ridge) as u128, exact);
                            accepted += 1;
                        } else {
                            assert_eq!(got, None, "{op:?} dk {dk} dv {dv} g {g}: {exact}");
                        }
                    }
                }
            }
        }
    }
    assert!(accepted > 100);
    // The case: hla2 at dk = 65536 wraps to 0 (+ dk) in u32.
    assert_eq!(group_len_u32(Op::Hla2, 65536, 1, 1, false), 2 * 65536); // dk² → 0
    assert_eq!(group_len(Op::Hla2, 65536, 1, 1, false), None);
}

#[test]
fn state_and_summary_lengths_are_checked() {
    assert_eq!(state_len(Op::Hla2, 1, 1, 1, 65536, 1, false), None);
    assert_eq!(state_len(Op::La1, 1, 2, 2, 2 + (1 << 32), 4, false), None);
    assert_eq!(
        state_len(Op::La1, 1 << 16, 1 << 16, 1 << 16, 1, 1, false),
        None
    );
    assert_eq!(
        state_len(Op::La1, 3, 2, 4, 5, 7, false),
        Some(3 * 2 * (5 + 2 * 5 * 7))
    );
    assert_eq!(summary_len(Op::Hla3, 1, 1, 65536, 1, false), None);
    assert!(summary_len(Op::Hla3, 2, 2, 8, 8, false).is_some());
}

/// The reproductions, at the core: each buffer sized as wasm32 would have sized it
/// (the true size when it fits, else the u32-wrapped one), and each refused naming the
/// argument whose size does not fit.
#[test]
fn validate_refuses_sizes_that_wrap_in_wasm32() {
    let d1 = [1.0f32];
    let wrapped = |f: &[usize]| f.iter().fold(1u32, |p, &x| p.wrapping_mul(x as u32)) as usize;
    let cases: [(Op, Dims, Mode, &str); 5] = [
        // hla2 dk = 65536: the state dk² = 2^32 floats → 0 in u32
        (
            Op::Hla2,
            Dims {
                b: 1,
                t: 1,
                h: 1,
                hv: 1,
                dk: 65536,
                dv: 1,
            },
            Mode::Recurrent,
            "state",
        ),
        // q = b·T·h·dk = 2^32 floats → 0 in u32
        (
            Op::La1,
            Dims {
                b: 1,
                t: 1 << 16,
                h: 1,
                hv: 1,
                dk: 1 << 16,
                dv: 1,
            },
            Mode::Recurrent,
            "q",
        ),
        (
            Op::La1,
            Dims {
                b: 1 << 16,
                t: 1 << 16,
                h: 1,
                hv: 1,
                dk: 1,
                dv: 1,
            },
            Mode::Recurrent,
            "q",
        ),
        (
            Op::La1,
            Dims {
                b: 1,
                t: 1 << 16,
                h: 1,
                hv: 1,
                dk: 1,
                dv: 1 << 16,
            },
            Mode::Recurrent,
            "v",
        ),
        // la1 dk = 2^27: inputs and state fit, a chunk's c·dk scratch does not
        (
            Op::La1,
            Dims {
                b: 1,
                t: 2,
                h: 1,
                hv: 1,
                dk: 1 << 27,
                dv: 1,
            },
            Mode::Chunk(64),
            "dims",
        ),
    ];
    for (op, d, mode, arg) in cases {
        let nq = wrapped(&[d.b, d.t, d.h, d.dk]);
        let nv = wrapped(&[d.b, d.t, d.hv, d.dv]);
        let ns = state_len(op, d.b, d.h, d.hv, d.dk, d.dv, false).unwrap_or(group_len_u32(
            op,
            d.dk as u32,
            d.dv as u32,
            1,
            false,
        ) as usize);
        let e = validate(op, mode, &d, &opts(&d1), &[nq, nq, nv], nv, ns, None)
            .expect_err(&format!("{d:?}"));
        assert_eq!(e.arg, arg, "{e}");
        assert!(e.expected.contains(&MAX_FLOATS.to_string()), "{e}");
    }
    let d = Dims {
        b: 1,
        t: 64,
        h: 1,
        hv: 1,
        dk: 1 << 24,
        dv: 1,
    };
    assert!(workspace_len(Mode::Recurrent, &d).is_some());
    assert!(workspace_len(Mode::Chunk(64), &d).is_none());
}

#[test]
fn chunks_are_never_longer_than_the_sequence_or_max_chunk() {
    assert_eq!(chunk_len(65536, 65536), MAX_CHUNK);
    assert_eq!(chunk_len(65536, 10), 10);
    assert_eq!(chunk_len(0, 10), 1);
    let d = Dims {
        b: 1,
        t: 65536,
        h: 1,
        hv: 1,
        dk: 1,
        dv: 1,
    };
    let ws = workspace_len(Mode::Chunk(65536), &d).unwrap();
    assert!(ws * 4 < 20 << 20, "{ws} floats");
}

/// la1, T = 65536, chunkSize 65536 (issue #10: "gemm.rs:211 range end index 65536"): runs,
/// in chunks of MAX_CHUNK, and matches the recurrence.
#[test]
fn chunk_size_of_the_whole_sequence_runs() {
    let d = Dims {
        b: 1,
        t: 65536,
        h: 1,
        hv: 1,
        dk: 2,
        dv: 2,
    };
    let (q, k, v) = (
        rand_vec(2 * d.t, 1),
        rand_vec(2 * d.t, 2),
        rand_vec(2 * d.t, 3),
    );
    let decay = [0.99f32];
    let o_of = |mode| {
        let mut o = vec![0f32; 2 * d.t];
        let mut st = vec![0f32; state_len(Op::La1, 1, 1, 1, 2, 2, false).unwrap()];
        forward(
            Op::La1,
            mode,
            &d,
            &opts(&decay),
            &[&q, &k, &v],
            &mut o,
            &mut st,
            None,
            &mut Workspace::default(),
        )
        .unwrap();
        o
    };
    let (rec, chunk) = (o_of(Mode::Recurrent), o_of(Mode::Chunk(65536)));
    let rec64: Vec<f64> = rec.iter().map(|&x| x as f64).collect();
    assert!(rel_err(&chunk, &rec64) < 1e-4);
}

#[test]
#[should_panic(expected = "validated")]
fn workspace_refuses_a_total_that_overflows() {
    Workspace::default().parts([usize::MAX, 2]);
}
