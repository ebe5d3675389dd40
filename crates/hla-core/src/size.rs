//! Size arithmetic every target agrees on. `usize` is 32 bits in wasm32 and release builds do
//! not check overflow (`dk·dk` is 0 at dk = 65536), so every length derived from caller-given
//! dimensions goes through [`floats`]: checked products and sums, bounded by what one wasm32
//! allocation can hold. Natively the same bound applies, so a size is accepted on every target
//! or on none, and the native tests exercise the wasm32 limits.

/// The most `f32`s one buffer may hold: an allocation is at most `isize::MAX` bytes, which is
/// 2³¹ − 1 on wasm32 — 536,870,911 floats, just under 2 GiB. One wasm32 instance has 4 GiB of
/// memory in all, so a call's buffers together may still not fit; that is an allocation failure.
pub const MAX_FLOATS: usize = (i32::MAX as usize) / 4;

/// The longest chunk the chunk forms run: a longer `chunkSize` (or `T`) runs chunks of this
/// length. Results do not depend on the chunk length (docs/math.md), and each chunk's four c×c
/// matrices take 16·c² bytes: 16 MiB here, 64 GiB at c = 65536.
pub const MAX_CHUNK: usize = 1024;

/// `Σᵢ Πⱼ terms[i][j]` with every step checked; `None` on overflow or past [`MAX_FLOATS`].
pub fn floats(terms: &[&[usize]]) -> Option<usize> {
    let mut total: usize = 0;
    for factors in terms {
        let mut p: usize = 1;
        for &f in *factors {
            p = p.checked_mul(f)?;
        }
        total = total.checked_add(p)?;
    }
    (total <= MAX_FLOATS).then_some(total)
}

/// `Σ sizes`, checked; `None` on overflow or past [`MAX_FLOATS`].
pub fn total(sizes: &[usize]) -> Option<usize> {
    sizes
        .iter()
        .try_fold(0usize, |a, &n| a.checked_add(n))
        .filter(|&n| n <= MAX_FLOATS)
}

/// The exact `Σᵢ Πⱼ terms[i][j]` for error messages (u128 holds any product of four u32s).
pub fn exact(terms: &[&[usize]]) -> u128 {
    terms
        .iter()
        .map(|f| f.iter().fold(1u128, |p, &x| p.saturating_mul(x as u128)))
        .fold(0u128, |s, p| s.saturating_add(p))
}

/// The chunk length the chunk forms use for `chunk_size` over `len` tokens: never longer
/// than the sequence (a chunk longer than T is T), nor than [`MAX_CHUNK`], and at least 1.
pub fn chunk_len(chunk_size: usize, len: usize) -> usize {
    chunk_size.min(len).min(MAX_CHUNK).max(1)
}
