//! The Glow model API, the same over every backend: build with the paper's initialisation,
//! data-dependent actnorm init on the device, encode / decode / sample / bits per dim.
use std::collections::HashMap;

use crate::backend::{Backend, Host};
use crate::config::GlowConfig;
use crate::error::{Error, Result};
use crate::flow::{decode_graph, encode_graph, DecodeIo, EncodeInput, EncodeIo};
use crate::graph::{BufId, RunArgs};
use crate::latent::Latents;
use crate::params::Params;

/// An encode plan: batch size and input (`None`: actnorm's data-dependent init graph).
type EncKey = (usize, Option<EncodeInput>);
/// A decode plan: batch size and whether the latents are sampled on the device.
type DecKey = (usize, bool);

/// Per-image results of an encode.
#[derive(Clone, Debug)]
pub struct Encoded {
    pub latents: Latents,
    /// Σ log|det J| of the flow per image (nats).
    pub logdet: Vec<f64>,
    /// Σ log p of all latents per image (nats).
    pub logp: Vec<f64>,
    /// Class logits [n, classes] (class-conditional models).
    pub logits: Option<Vec<f64>>,
}

pub struct Glow<B: Backend> {
    cfg: GlowConfig,
    params: Params,
    backend: B,
    enc_plans: HashMap<EncKey, (B::Plan, EncodeIo)>,
    dec_plans: HashMap<DecKey, (B::Plan, DecodeIo)>,
}

/// The encode plan for `key`, built once.
fn enc_plan<'a, B: Backend>(
    plans: &'a mut HashMap<EncKey, (B::Plan, EncodeIo)>,
    backend: &mut B,
    cfg: &GlowConfig,
    key: EncKey,
) -> Result<&'a mut (B::Plan, EncodeIo)> {
    use std::collections::hash_map::Entry;
    match plans.entry(key) {
        Entry::Occupied(e) => Ok(e.into_mut()),
        Entry::Vacant(v) => {
            cfg.check_batch(key.0)?;
            let (g, io) = match key.1 {
                Some(input) => encode_graph(cfg, key.0, input, false),
                None => encode_graph(cfg, key.0, EncodeInput::Image { noise: true }, true),
            };
            Ok(v.insert((backend.build(g)?, io)))
        }
    }
}

/// The decode plan for `key`, built once.
fn dec_plan<'a, B: Backend>(
    plans: &'a mut HashMap<DecKey, (B::Plan, DecodeIo)>,
    backend: &mut B,
    cfg: &GlowConfig,
    key: DecKey,
) -> Result<&'a mut (B::Plan, DecodeIo)> {
    use std::collections::hash_map::Entry;
    match plans.entry(key) {
        Entry::Occupied(e) => Ok(e.into_mut()),
        Entry::Vacant(v) => {
            cfg.check_batch(key.0)?;
            let (g, io) = decode_graph(cfg, key.0, key.1);
            Ok(v.insert((backend.build(g)?, io)))
        }
    }
}

impl<B: Backend> Glow<B> {
    /// A fresh model with the paper's initialisation (actnorm still to be initialised from data).
    pub fn new(cfg: GlowConfig, backend: B, seed: u64) -> Result<Self> {
        let params = Params::init(&cfg, seed)?;
        Self::from_params(cfg, params, backend)
    }

    pub fn from_params(cfg: GlowConfig, params: Params, mut backend: B) -> Result<Self> {
        cfg.validate()?;
        params.validate(&cfg)?;
        backend.set_params(&params.with_derived(&cfg))?;
        Ok(Glow { cfg, params, backend, enc_plans: HashMap::new(), dec_plans: HashMap::new() })
    }

    pub fn config(&self) -> &GlowConfig {
        &self.cfg
    }
    pub fn params(&self) -> &Params {
        &self.params
    }
    pub fn backend(&self) -> &B {
        &self.backend
    }
    pub fn backend_mut(&mut self) -> &mut B {
        &mut self.backend
    }
    /// Gives the backend back (e.g. to reuse one GPU device for another model).
    pub fn into_backend(self) -> B {
        self.backend
    }

    /// Replaces parameter values (same config); plans stay valid.
    pub fn set_params(&mut self, params: Params) -> Result<()> {
        params.validate(&self.cfg)?;
        self.backend.set_params(&params.with_derived(&self.cfg))?;
        self.params = params;
        Ok(())
    }

    fn check_images(&self, images: &[u8], n: usize) -> Result<()> {
        self.cfg.check_batch(n)?;
        let d = self.cfg.dims();
        if images.len() != n * d {
            return Err(Error::Input(format!(
                "expected {n} images of {}x{}x{} = {} bytes, got {} bytes",
                self.cfg.image_height,
                self.cfg.image_width,
                self.cfg.image_channels,
                n * d,
                images.len()
            )));
        }
        Ok(())
    }
}

/// The one-hot label input of a class-conditional model's graph (`buf`), checked.
fn label_input(
    cfg: &GlowConfig,
    labels: Option<&[u32]>,
    n: usize,
    buf: Option<BufId>,
) -> Result<Option<(BufId, Host)>> {
    let nc = cfg.n_classes;
    match (buf, labels) {
        (None, None) => Ok(None),
        (None, Some(_)) => Err(Error::Input("labels given to an unconditional model".into())),
        (Some(_), None) => {
            Err(Error::Input(format!("this model is class-conditional ({nc} classes): labels are required")))
        }
        (Some(b), Some(l)) => {
            if l.len() != n {
                return Err(Error::Input(format!("{} labels for {n} images", l.len())));
            }
            let mut one_hot = vec![0.0; n * nc];
            for (i, &y) in l.iter().enumerate() {
                if y as usize >= nc {
                    return Err(Error::Input(format!("label {y} out of range 0..{nc}")));
                }
                one_hot[i * nc + y as usize] = 1.0;
            }
            Ok(Some((b, Host::F(one_hot))))
        }
    }
}

impl<B: Backend> Glow<B> {
    async fn run_encode(
        &mut self,
        input_kind: Option<EncodeInput>,
        input: Host,
        n: usize,
        labels: Option<&[u32]>,
        seed: u64,
    ) -> Result<Encoded> {
        let (plan, io) = enc_plan(&mut self.enc_plans, &mut self.backend, &self.cfg, (n, input_kind))?;
        let lab = label_input(&self.cfg, labels, n, io.labels)?;
        let mut outputs = vec![io.logdet, io.logp];
        outputs.extend(&io.eps);
        outputs.extend(io.logits);
        let mut inputs = vec![(io.input, input)];
        inputs.extend(lab);
        let has_logits = io.logits.is_some();
        let mut res = self.backend.run(plan, inputs, &outputs, RunArgs { seed, temperature: 1.0 }).await?.into_iter();
        let logdet = res.next().unwrap().floats();
        let logp = res.next().unwrap().floats();
        let nl = self.cfg.levels;
        let levels: Vec<Vec<f64>> = (0..nl).map(|_| res.next().unwrap().floats()).collect();
        let logits = has_logits.then(|| res.next().unwrap().floats());
        if input_kind.is_some() {
            check_finite_encode(&logdet, &logp, &levels, logits.as_deref())?;
        }
        Ok(Encoded { latents: Latents::new(&self.cfg, n, levels)?, logdet, logp, logits })
    }

    /// Data-dependent actnorm initialisation from a batch of u8 images (NHWC), run on the device
    /// in one pass; the resulting parameters are read back into `params()`.
    pub async fn init_actnorm(&mut self, images: &[u8], n: usize, seed: u64) -> Result<()> {
        self.check_images(images, n)?;
        let labels = (self.cfg.n_classes > 0).then(|| vec![0u32; n]);
        self.run_encode(None, Host::U8(images.to_vec()), n, labels.as_deref(), seed).await?;
        let names = crate::params::actnorm_names(&self.cfg);
        let values = self.backend.read_params(&names).await?;
        let mut params = self.params.clone();
        for (name, v) in names.iter().zip(values) {
            if let Some(i) = v.iter().position(|x| !x.is_finite()) {
                return Err(Error::NonFinite(format!(
                    "actnorm init produced a non-finite `{name}`[{i}] (constant input?)"
                )));
            }
            params.map.get_mut(name).unwrap().data = v.iter().map(|&x| x as f32).collect();
        }
        params.actnorm_initialized = true;
        self.set_params(params)
    }

    /// Exact, deterministic encode of u8 images (each value taken at its bin centre).
    pub async fn encode(&mut self, images: &[u8], n: usize, labels: Option<&[u32]>) -> Result<Encoded> {
        self.check_images(images, n)?;
        self.run_encode(Some(EncodeInput::Image { noise: false }), Host::U8(images.to_vec()), n, labels, 0).await
    }

    /// Encode of preprocessed floats `x` (NHWC, values in [-0.5, 0.5]).
    pub async fn encode_float(&mut self, x: &[f64], n: usize, labels: Option<&[u32]>) -> Result<Encoded> {
        self.cfg.check_batch(n)?;
        if x.len() != n * self.cfg.dims() {
            return Err(Error::Input(format!("expected {} floats, got {}", n * self.cfg.dims(), x.len())));
        }
        self.run_encode(Some(EncodeInput::Float), Host::F(x.to_vec()), n, labels, 0).await
    }

    /// Bits per dimension of each image, with uniform dequantisation noise from `seed`:
    /// `-(−log(n_bins)·D + logdet + log p) / (ln 2 · D)`.
    pub async fn bits_per_dim(
        &mut self,
        images: &[u8],
        n: usize,
        labels: Option<&[u32]>,
        seed: u64,
    ) -> Result<Vec<f64>> {
        self.check_images(images, n)?;
        let e = self
            .run_encode(Some(EncodeInput::Image { noise: true }), Host::U8(images.to_vec()), n, labels, seed)
            .await?;
        Ok(bpd(&self.cfg, &e.logdet, &e.logp))
    }

    /// Decodes latents to images; returns (u8 images, continuous x before quantisation).
    pub async fn decode_full(&mut self, latents: &Latents, labels: Option<&[u32]>) -> Result<(Vec<u8>, Vec<f64>)> {
        latents.check(&self.cfg)?;
        let n = latents.n;
        let (plan, io) = dec_plan(&mut self.dec_plans, &mut self.backend, &self.cfg, (n, false))?;
        let lab = label_input(&self.cfg, labels, n, io.labels)?;
        let mut inputs: Vec<(BufId, Host)> =
            io.eps.iter().zip(&latents.levels).map(|(&b, v)| (b, Host::F(v.clone()))).collect();
        inputs.extend(lab);
        let mut res = self.backend.run(plan, inputs, &[io.image, io.x], RunArgs::default()).await?.into_iter();
        let img = res.next().unwrap().bytes();
        let x = res.next().unwrap().floats();
        check_finite_decode("decode", &x, self.cfg.dims())?;
        Ok((img, x))
    }

    pub async fn decode(&mut self, latents: &Latents, labels: Option<&[u32]>) -> Result<Vec<u8>> {
        Ok(self.decode_full(latents, labels).await?.0)
    }

    /// `n` samples at temperature `t` (every level's noise scaled by `t`), noise drawn on the
    /// device from `seed`.
    pub async fn sample(&mut self, n: usize, temperature: f32, seed: u64, labels: Option<&[u32]>) -> Result<Vec<u8>> {
        if n == 0 || !temperature.is_finite() || temperature < 0.0 {
            return Err(Error::Input(format!(
                "sample needs n > 0 and a finite temperature >= 0 (got n={n}, T={temperature})"
            )));
        }
        let (plan, io) = dec_plan(&mut self.dec_plans, &mut self.backend, &self.cfg, (n, true))?;
        let lab = label_input(&self.cfg, labels, n, io.labels)?;
        let outs = [io.image, io.x];
        let mut res =
            self.backend.run(plan, lab.into_iter().collect(), &outs, RunArgs { seed, temperature }).await?.into_iter();
        let img = res.next().unwrap().bytes();
        check_finite_decode("sample", &res.next().unwrap().floats(), self.cfg.dims())?;
        Ok(img)
    }

    /// Encodes `images` and decodes their latents again, and counts the bytes that come back in
    /// another bin (with `n_bits < 8` a byte is compared by its top `n_bits` bits, the part the
    /// model keeps: decode returns each bin's representative). The round trip is exact in exact arithmetic (every value is taken at its bin
    /// centre, half a bin from either edge), and in practice on the f64 CPU backend; in f32 (the
    /// GPU, the f32 CPU backend) the inverse's rounding can move a value across a bin edge where
    /// the flow is steep, e.g. on high-frequency images far from the training data. A decode to
    /// non-finite values is [`Error::NonFinite`]. See the README's "Round trip" paragraph.
    pub async fn reconstruct_check(
        &mut self,
        images: &[u8],
        n: usize,
        labels: Option<&[u32]>,
    ) -> Result<Reconstruction> {
        let e = self.encode(images, n, labels).await?;
        let back = self.decode(&e.latents, labels).await?;
        let shift = 8 - self.cfg.n_bits;
        let mut r = Reconstruction { bytes: images.len(), mismatched: 0, max_diff: 0, first: None };
        for (i, (a, b)) in images.iter().zip(&back).enumerate() {
            let (a, b) = (a >> shift, b >> shift);
            if a != b {
                r.mismatched += 1;
                r.max_diff = r.max_diff.max(a.abs_diff(b));
                r.first.get_or_insert(i);
            }
        }
        Ok(r)
    }
}

/// What [`Glow::reconstruct_check`] found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Reconstruction {
    /// Bytes compared (n · H · W · C).
    pub bytes: usize,
    /// Bytes that came back in another bin (0: exact).
    pub mismatched: usize,
    /// The largest difference of one byte, in bins (1 bin = 2^(8 − n_bits) byte values).
    pub max_diff: u8,
    /// Index of the first mismatched byte.
    pub first: Option<usize>,
}

impl Reconstruction {
    pub fn exact(&self) -> bool {
        self.mismatched == 0
    }
}

/// Encode results must be finite: a non-finite log-density or latent is an error naming it.
fn check_finite_encode(logdet: &[f64], logp: &[f64], levels: &[Vec<f64>], logits: Option<&[f64]>) -> Result<()> {
    for (i, (a, b)) in logdet.iter().zip(logp).enumerate() {
        if !a.is_finite() || !b.is_finite() {
            return Err(Error::NonFinite(format!("encode: image {i} has logdet {a} and log p {b}")));
        }
    }
    for (l, v) in levels.iter().enumerate() {
        if let Some(j) = v.iter().position(|x| !x.is_finite()) {
            return Err(Error::NonFinite(format!("encode: latent of level {l} holds {} at index {j}", v[j])));
        }
    }
    if let Some(j) = logits.and_then(|v| v.iter().position(|x| !x.is_finite())) {
        return Err(Error::NonFinite(format!("encode: class logit {j} is not finite")));
    }
    Ok(())
}

/// Decoded values must be finite (a NaN would quantise to a black pixel).
fn check_finite_decode(what: &str, x: &[f64], dims: usize) -> Result<()> {
    if let Some(j) = x.iter().position(|v| !v.is_finite()) {
        let bad = x.iter().filter(|v| !v.is_finite()).count();
        return Err(Error::NonFinite(format!(
            "{what}: image {} decodes to {} at value {} ({bad} non-finite values in all)",
            j / dims.max(1),
            x[j],
            j % dims.max(1)
        )));
    }
    Ok(())
}

/// Bits per dimension from per-image logdet and log p (official objective).
pub fn bpd(cfg: &GlowConfig, logdet: &[f64], logp: &[f64]) -> Vec<f64> {
    let d = cfg.dims() as f64;
    let c = -cfg.n_bins().ln() * d;
    logdet.iter().zip(logp).map(|(a, b)| -(c + a + b) / (std::f64::consts::LN_2 * d)).collect()
}
