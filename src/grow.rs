//! A larger model from a trained one that computes the same function: more flow steps per level
//! (`depth`) and / or wider coupling nets (`hidden`), so that training goes on with more capacity
//! instead of starting again from the paper's init.
//!
//! - **Wider nets**: the new hidden channels get the paper's init on the way in (conv1's and
//!   conv2's new output columns N(0, 0.05), their actnorms the identity) and zero weights on the
//!   way out (conv2's and conv3's rows that read them); the old channels, and so `h`, are unchanged.
//! - **More steps**: `depth − old depth` new steps (an even number) at the end of every level,
//!   before its split, each exactly the channel reversal: its permutation is the reversal
//!   (invconv `W = J`, LU `P = J, L = U = I`, shuffle `perm = J`; reverse is one already), its
//!   coupling net's zero conv has zero weights (fresh from the paper's init), and for affine
//!   coupling its actnorm scales the channels that the reversal puts into `z2` by about
//!   `1/sigmoid(2)`, which the coupling's scale `sigmoid(b + 2)` undoes: `b`, the zero conv's bias
//!   on the scale channels, is the tiny value that makes it the exact inverse of the actnorm's f32
//!   scale (their log-determinants cancel too). Pairs of reversals are the identity, so each
//!   level computes what it did, to f64 rounding on the f64 backend.
//!
//! Householder permutations are not supported (a reflection pair is the identity, but not a
//! reversal).
use crate::config::{Coupling, GlowConfig, Permutation};
use crate::error::{Error, Result};
use crate::ops::actnorm::LOGSCALE_FACTOR;
use crate::params::{step_prefix, Params, Tensor};

/// `params` of `cfg` grown to `depth` steps per level and `hidden` coupling channels (see the
/// module docs); `seed` draws the new weights.
pub fn grow(cfg: &GlowConfig, params: &Params, depth: usize, hidden: usize, seed: u64) -> Result<(GlowConfig, Params)> {
    let bad = |m: String| Err(Error::Config(format!("grow: {m}")));
    params.validate(cfg)?;
    if !params.actnorm_initialized {
        return bad("the weights are untrained (actnorm not initialised): train them first".into());
    }
    if depth < cfg.depth || hidden < cfg.hidden {
        return bad(format!(
            "depth {depth} and width {hidden} must be at least the model's {} and {}",
            cfg.depth, cfg.hidden
        ));
    }
    if (depth - cfg.depth) % 2 != 0 {
        return bad(format!("the new steps come in pairs of reversals: depth {depth} − {} must be even", cfg.depth));
    }
    if cfg.permutation == Permutation::Householder && depth > cfg.depth {
        return bad("new steps need a permutation that can be the channel reversal (not householder)".into());
    }
    let new = GlowConfig { depth, hidden, ..cfg.clone() };
    new.validate()?;
    let elems = crate::params::count(&new).ok_or_else(|| Error::Config("grow: the grown model is too large".into()))?;
    // the old, the fresh and the grown parameters at once, f32
    let need = elems.saturating_mul(3 * 4);
    if let Some(avail) = crate::memory::available().filter(|&a| need > a) {
        return Err(Error::Memory(format!(
            "growing to {elems} parameters needs {}, {} is available",
            crate::memory::human(need),
            crate::memory::human(avail)
        )));
    }
    let mut out = Params::init(&new, seed)?;
    for (name, t) in &params.map {
        let fresh = out.map.get_mut(name).expect("every old tensor is in the grown model");
        *fresh = if hidden == cfg.hidden || !name.contains(".coupling.") {
            t.clone()
        } else {
            widen(name, t, fresh, cfg.hidden, hidden)
        };
    }
    for (l, s) in new.level_shapes().iter().enumerate() {
        for k in cfg.depth..depth {
            let pre = step_prefix(l, k);
            let (c, c1) = (s.c, s.c1());
            let mut set =
                |n: &str, data: Vec<f32>| out.map.get_mut(&format!("{pre}.{n}")).expect("step tensor").data = data;
            // the reversal puts input channel j at C − 1 − j: into z2 when C − 1 − j ≥ c1
            if new.coupling == Coupling::Affine {
                let comp = (-sigmoid(2.0).ln() / LOGSCALE_FACTOR) as f32;
                set("actnorm.logs", (0..c).map(|j| if c - 1 - j >= c1 { comp } else { 0.0 }).collect());
                // sigmoid(b + 2) = exp(−3·comp) to f64 precision (b is tiny, so f32 holds it finely)
                let s = (-LOGSCALE_FACTOR * comp as f64).exp();
                let b = ((s / (1.0 - s)).ln() - 2.0) as f32;
                set("coupling.conv3.bias", (0..2 * (c - c1)).map(|o| if o % 2 == 1 { b } else { 0.0 }).collect());
            }
            let reversal: Vec<f32> = (0..c * c).map(|v| if v / c + v % c == c - 1 { 1.0 } else { 0.0 }).collect();
            match new.permutation {
                Permutation::Invconv => set("invconv.w", reversal),
                Permutation::InvconvLu => {
                    set("invconv.p", reversal);
                    set("invconv.lower", vec![0.0; c * c]);
                    set("invconv.upper", vec![0.0; c * c]);
                    set("invconv.sign_s", vec![1.0; c]);
                    set("invconv.log_s", vec![0.0; c]);
                }
                Permutation::Shuffle => set("shuffle.perm", (0..c).rev().map(|v| v as f32).collect()),
                Permutation::Reverse => {}
                Permutation::Householder => unreachable!("refused above"),
            }
        }
    }
    out.actnorm_initialized = true;
    out.validate(&new)?;
    Ok((new, out))
}

fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

/// A coupling-net tensor of width `h` at width `hn`: the old entries where they were, new input
/// rows zero, new output columns (and new actnorm entries) as `fresh` has them, conv3's edge row
/// (the last input row) moved to the end.
fn widen(name: &str, old: &Tensor, fresh: &Tensor, h: usize, hn: usize) -> Tensor {
    let mut t = fresh.clone();
    let field = name.rsplit_once(".coupling.").map_or("", |(_, f)| f);
    match field {
        // [hidden]: the new channels' actnorm stays the identity (bias 0, logs 0)
        "an1.bias" | "an1.logs" | "an2.bias" | "an2.logs" => {
            t.data.iter_mut().for_each(|v| *v = 0.0);
            t.data[..h].copy_from_slice(&old.data);
        }
        // [3, 3, cin, hidden]: new output columns fresh
        "conv1.w" => {
            let rows = old.data.len() / h;
            for r in 0..rows {
                t.data[r * hn..r * hn + h].copy_from_slice(&old.data[r * h..(r + 1) * h]);
            }
        }
        // [1, 1, hidden, hidden]: new input rows zero, new output columns fresh
        "conv2.w" => {
            for r in 0..hn {
                if r < h {
                    t.data[r * hn..r * hn + h].copy_from_slice(&old.data[r * h..(r + 1) * h]);
                } else {
                    t.data[r * hn..(r + 1) * hn].iter_mut().for_each(|v| *v = 0.0);
                }
            }
        }
        // [3, 3, hidden + 1, out]: per tap the old rows, zero rows for the new channels, the edge row
        "conv3.w" => {
            let out = old.shape[3];
            t.data.iter_mut().for_each(|v| *v = 0.0);
            for tap in 0..9 {
                let (src, dst) = (tap * (h + 1) * out, tap * (hn + 1) * out);
                t.data[dst..dst + h * out].copy_from_slice(&old.data[src..src + h * out]);
                t.data[dst + hn * out..dst + (hn + 1) * out]
                    .copy_from_slice(&old.data[src + h * out..src + (h + 1) * out]);
            }
        }
        // conv3's bias and logs are per output channel: unchanged
        _ => return old.clone(),
    }
    t
}
