//! Channel permutations by gather: a fixed random shuffle (`{pre}.shuffle.perm`, frozen) or the
//! reversal of RealNVP (`derived.{pre}.reverse.perm`). Volume preserving (no logdet term).
use std::collections::BTreeMap;

use super::{Derived, Init, Kind, Layer, Site, Spec};
use crate::config::GlowConfig;
use crate::flow::B;
use crate::graph::BufId;
use crate::ops::permute::{Permute, PermuteParams};
use crate::params::{Params, Tensor};
use crate::rng::HostRng;

pub(crate) struct Gather {
    pub shuffle: bool,
}

impl Gather {
    /// The permutation's indices (as floats) `[C]`.
    fn perm(&self, site: &Site) -> String {
        if self.shuffle {
            site.name("shuffle.perm")
        } else {
            site.derived("reverse.perm")
        }
    }

    fn push(&self, b: &mut B, site: &Site, x: BufId, name: &str, reverse: bool) -> BufId {
        let s = &site.s;
        let y = b.g.buf(site.name(name), b.n * s.pixels() * s.c);
        let p = PermuteParams { pixels: (b.n * s.pixels()) as u32, c: s.c as u32, _pad: [0; 2] };
        b.g.push(Permute { x, y, perm: self.perm(site), reverse, p });
        y
    }
}

impl Layer for Gather {
    fn specs(&self, _cfg: &GlowConfig, site: &Site) -> Vec<Spec> {
        if self.shuffle {
            vec![Spec::new(site.name("shuffle.perm"), vec![site.s.c], Init::Layer, Kind::Frozen)]
        } else {
            Vec::new()
        }
    }

    fn init(&self, _cfg: &GlowConfig, site: &Site, rng: &mut HostRng, out: &mut BTreeMap<String, Tensor>) {
        if self.shuffle {
            let p = rng.permutation(site.s.c);
            out.insert(
                site.name("shuffle.perm"),
                Tensor { shape: vec![site.s.c], data: p.iter().map(|&v| v as f32).collect() },
            );
        }
    }

    fn derived(&self, _cfg: &GlowConfig, site: &Site, _params: &Params, out: &mut Derived) {
        if !self.shuffle {
            let c = site.s.c;
            out.insert(site.derived("reverse.perm"), (vec![c], (0..c).rev().map(|v| v as f64).collect()));
        }
    }

    fn forward(&self, b: &mut B, site: &Site, x: BufId, _logdet: BufId) -> BufId {
        self.push(b, site, x, "perm", false)
    }

    fn inverse(&self, b: &mut B, site: &Site, y: BufId) -> BufId {
        self.push(b, site, y, "perm", true)
    }

    fn backward(&self, b: &mut B, site: &Site, y: BufId, dy: BufId, _g: f64) -> (BufId, BufId) {
        let x = self.push(b, site, y, "bx", true);
        let dx = self.push(b, site, dy, "bdx", true);
        (x, dx)
    }
}
