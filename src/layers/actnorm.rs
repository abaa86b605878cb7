//! Actnorm as a flow layer: `y = (x + bias)·exp(3·logs)` per channel (`ops::actnorm`), with
//! data-dependent init in the init graph; log|det| per image `3·H·W·Σ logs`.
use super::{Init, Kind, Layer, Site, Spec};
use crate::config::GlowConfig;
use crate::flow::B;
use crate::graph::BufId;
use crate::ops::actnorm::{ActNorm, ActNormBackward, ActNormBackwardParams, ActNormInit, LOGSCALE_FACTOR};
use crate::ops::reduce::{ParamSum, ReduceParams};

pub(crate) struct ActNormLayer;

impl Layer for ActNormLayer {
    /// `{pre}.actnorm.bias`, `{pre}.actnorm.logs` `[C]` (effective log-scale = 3·logs).
    fn specs(&self, _cfg: &GlowConfig, site: &Site) -> Vec<Spec> {
        let c = site.s.c;
        ["bias", "logs"]
            .map(|t| Spec::new(site.name(&format!("actnorm.{t}")), vec![c], Init::Zeros, Kind::ActNorm))
            .into()
    }

    fn forward(&self, b: &mut B, site: &Site, x: BufId, logdet: BufId) -> BufId {
        let (n, hw, c) = (b.n, site.s.pixels(), site.s.c);
        let (ap, bias, logs) = B::actnorm(&site.name("actnorm"), n * hw, c, false);
        if b.init {
            b.g.push(ActNormInit { x, bias: bias.clone(), logs: logs.clone(), p: ap });
        }
        b.g.push(ActNorm { x, bias, logs: logs.clone(), reverse: false, p: ap });
        let scale = (LOGSCALE_FACTOR * hw as f64) as f32;
        b.g.push(ParamSum { param: logs, acc: logdet, p: ReduceParams { n: n as u32, len: c as u32, scale, c: 0 } });
        x
    }

    fn inverse(&self, b: &mut B, site: &Site, y: BufId) -> BufId {
        let (ap, bias, logs) = B::actnorm(&site.name("actnorm"), b.n * site.s.pixels(), site.s.c, false);
        b.g.push(ActNorm { x: y, bias, logs, reverse: true, p: ap });
        y
    }

    fn backward(&self, b: &mut B, site: &Site, y: BufId, dy: BufId, g: f64) -> (BufId, BufId) {
        let ap = ActNormBackwardParams::new(b.n, site.s.pixels(), site.s.c, false, g as f32);
        let (bias, logs) = (site.name("actnorm.bias"), site.name("actnorm.logs"));
        for op in ActNormBackward::stages(y, dy, &bias, &logs, ap) {
            b.g.push(op);
        }
        (y, dy)
    }
}
