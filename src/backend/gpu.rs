//! GPU backend on wgpu (Vulkan / Metal / DX12 natively, WebGPU in the browser).
//! A graph is compiled once into pipelines (shader modules cached per shader variant: shader and
//! defines, see [`shader_source`]; pipelines per variant, entry point and binding signature),
//! physical buffers (shared by liveness), one uniform buffer holding every op's params, and a
//! bind group per op; a run writes the inputs, records every dispatch into one compute pass,
//! submits once and reads back only the requested outputs.
//!
//! Convolutions: where the adapter offers `Features::SUBGROUP` with subgroups of at least 8 lanes
//! (lavapipe, most native GPUs; never a browser's WebGPU) the device is opened with it, plans pass
//! `GpuCaps { subgroups: true }` to the ops and the convolutions pick `shaders/conv2d_sg.wgsl` (weight rows shared across lanes with `subgroupBroadcast`; about 3x
//! the portable kernel on lavapipe); otherwise, or with the environment variable
//! `GLOWGPU_NO_SUBGROUPS=1`, the portable `shaders/conv2d.wgsl`. `GpuBackend::set_subgroups`
//! switches between them for plans built later; `subgroups_enabled` says which is in use.
use std::collections::{HashMap, HashSet};

use super::{Backend, Host};
use crate::error::{Error, Result};
use crate::graph::{BufDesc, Graph};
use crate::ir::{Access, Bind, BufId, DType, GpuCall, GpuCaps, Layout, ParamMap, RunArgs};
use crate::platform;

/// WGSL source of a shader variant: `shaders/common.wgsl` followed by `shaders/<name>.wgsl`, the
/// latter through [`preprocess`] with `defines`. Fails for an unknown shader, a malformed
/// directive, or a define the shader never tests.
pub fn shader_source(name: &str, defines: &[&str]) -> Result<String> {
    let body = match name {
        "actnorm" => include_str!("../../shaders/actnorm.wgsl"),
        "conv2d" => include_str!("../../shaders/conv2d.wgsl"),
        "copy" => include_str!("../../shaders/copy.wgsl"),
        "conv2d_sg" => include_str!("../../shaders/conv2d_sg.wgsl"),
        "coupling" => include_str!("../../shaders/coupling.wgsl"),
        "householder" => include_str!("../../shaders/householder.wgsl"),
        "invconv" => include_str!("../../shaders/invconv.wgsl"),
        "noise" => include_str!("../../shaders/noise.wgsl"),
        "optim" => include_str!("../../shaders/optim.wgsl"),
        "permute" => include_str!("../../shaders/permute.wgsl"),
        "prior" => include_str!("../../shaders/prior.wgsl"),
        "quantize" => include_str!("../../shaders/quantize.wgsl"),
        "reduce" => include_str!("../../shaders/reduce.wgsl"),
        "squeeze" => include_str!("../../shaders/squeeze.wgsl"),
        _ => return Err(Error::Gpu(format!("unknown shader {name}"))),
    };
    let body = preprocess(body, defines).map_err(|e| Error::Gpu(format!("shaders/{name}.wgsl {defines:?}: {e}")))?;
    Ok(format!("{}\n{}", include_str!("../../shaders/common.wgsl"), body))
}

/// The shaders' preprocessor: lines `#ifdef NAME`, `#ifndef NAME`, `#else` and `#endif` (nested,
/// each on a line of its own) keep or drop the lines between them by whether `NAME` is one of
/// `defines`. Dropped lines and directives become empty lines, so line numbers stay those of the
/// file. Any other line starting with `#` is an error (WGSL has none), as are unbalanced
/// directives and a define no directive tests (a misspelt variant). A directive may end in a `//` comment.
pub fn preprocess(src: &str, defines: &[&str]) -> std::result::Result<String, String> {
    // per open `#if*`: (this branch is kept, the enclosing lines are kept, `#else` seen)
    let mut stack: Vec<(bool, bool, bool)> = Vec::new();
    let mut tested: Vec<&str> = Vec::new();
    let mut out = String::with_capacity(src.len());
    for (i, line) in src.lines().enumerate() {
        let at = || format!("line {}", i + 1);
        let live = stack.last().is_none_or(|s| s.0);
        let t = line.trim_start();
        if let Some(d) = t.strip_prefix('#') {
            // a directive may end in a `//` comment
            let mut words = d.split("//").next().unwrap_or("").split_whitespace();
            let (cmd, arg) = (words.next().unwrap_or(""), words.next());
            if words.next().is_some() {
                return Err(format!("{}: one name per directive: `{t}`", at()));
            }
            match (cmd, arg) {
                ("ifdef" | "ifndef", Some(name)) => {
                    tested.push(name);
                    let on = defines.contains(&name) == (cmd == "ifdef");
                    stack.push((live && on, live, false));
                }
                ("else", None) => match stack.last_mut() {
                    Some(s) if !s.2 => *s = (s.1 && !s.0, s.1, true),
                    _ => return Err(format!("{}: `#else` without `#ifdef`", at())),
                },
                ("endif", None) => {
                    stack.pop().ok_or_else(|| format!("{}: `#endif` without `#ifdef`", at()))?;
                }
                _ => return Err(format!("{}: unknown directive `{t}`", at())),
            }
            out.push('\n');
            continue;
        }
        if live {
            out.push_str(line);
        }
        out.push('\n');
    }
    if !stack.is_empty() {
        return Err(format!("{} `#ifdef` without `#endif`", stack.len()));
    }
    if let Some(d) = defines.iter().find(|d| !tested.contains(d)) {
        return Err(format!("no directive tests `{d}`"));
    }
    Ok(out)
}

/// Every shader, for validation.
pub const SHADERS: &[&str] = &[
    "actnorm",
    "conv2d",
    "conv2d_sg",
    "copy",
    "coupling",
    "householder",
    "invconv",
    "noise",
    "optim",
    "permute",
    "prior",
    "quantize",
    "reduce",
    "squeeze",
];

/// Shaders that use subgroup built-ins: only for devices opened with `Features::SUBGROUP`.
pub const SUBGROUP_SHADERS: &[&str] = &["conv2d_sg"];

/// Every kernel an op's `gpu` can produce: (shader, entry point, defines). The GPU backend refuses
/// any other (so this list cannot fall behind the ops) and `tests/shaders_validate.rs` validates
/// each with naga.
pub const KERNELS: &[(&str, &str, &[&str])] = &[
    ("actnorm", "forward", &["FLOW"]),
    ("actnorm", "inverse", &["FLOW"]),
    ("actnorm", "init", &["INIT"]),
    ("actnorm", "backward_params", &["BACKWARD_PARAMS"]),
    ("actnorm", "backward_data", &["BACKWARD_DATA"]),
    ("conv2d", "forward", &["FORWARD"]),
    ("conv2d", "forward", &["FORWARD", "V4"]),
    ("conv2d", "backward_weight", &["BACKWARD_WEIGHT"]),
    ("conv2d", "backward_weight", &["BACKWARD_WEIGHT", "V4"]),
    ("conv2d", "weight_reduce", &["WEIGHT_REDUCE"]),
    ("conv2d", "pack", &["PACK"]),
    ("conv2d", "pack_t", &["PACK"]),
    ("conv2d_sg", "forward", &[]),
    ("conv2d_sg", "forward", &["V4"]),
    ("conv2d_sg", "forward", &["CO16"]),
    ("conv2d_sg", "forward", &["CO16", "V4"]),
    ("copy", "forward", &[]),
    ("coupling", "affine_forward", &["FLOW"]),
    ("coupling", "affine_inverse", &["FLOW"]),
    ("coupling", "additive_forward", &["FLOW"]),
    ("coupling", "additive_inverse", &["FLOW"]),
    ("coupling", "affine_backward", &["BACKWARD"]),
    ("coupling", "additive_backward", &["BACKWARD"]),
    ("invconv", "prepare", &["PREPARE"]),
    ("invconv", "prepare_lu", &["PREPARE_LU"]),
    ("invconv", "lu_grad_permute", &["LU_GRAD_PERMUTE"]),
    ("invconv", "lu_grad", &["LU_GRAD"]),
    ("invconv", "logdet_grad", &["LOGDET_GRAD"]),
    ("householder", "compose", &["COMPOSE"]),
    ("householder", "grad", &["GRAD"]),
    ("noise", "gaussian", &[]),
    ("optim", "grad_sumsq", &["GRAD_SUMSQ"]),
    ("optim", "clip_factor", &["CLIP_FACTOR"]),
    ("optim", "adam", &["UPDATE"]),
    ("optim", "adamax", &["UPDATE"]),
    ("optim", "ema", &["EMA"]),
    ("permute", "forward", &[]),
    ("permute", "inverse", &[]),
    ("prior", "forward", &["FORWARD"]),
    ("prior", "inverse", &["INVERSE"]),
    ("prior", "backward", &["BACKWARD"]),
    ("quantize", "forward", &["FORWARD"]),
    ("quantize", "inverse", &["INVERSE"]),
    ("reduce", "per_image", &["PER_IMAGE"]),
    ("reduce", "param_sum", &["PARAM_SUM"]),
    ("reduce", "mean_hw", &["MEAN_HW"]),
    ("reduce", "mean_hw_backward", &["MEAN_HW_BACKWARD"]),
    ("reduce", "class_loss_backward", &["CLASS_LOSS_BACKWARD"]),
    ("squeeze", "forward", &["FORWARD"]),
    ("squeeze", "inverse", &["INVERSE"]),
];

/// Every backend's own two small buffers: the placeholder bound for an unread optional input,
/// and the per-run uniform (seed, temperature).
fn small_buffers(device: &wgpu::Device) -> (wgpu::Buffer, wgpu::Buffer) {
    let buf = |label, usage| {
        device.create_buffer(&wgpu::BufferDescriptor { label: Some(label), size: 16, usage, mapped_at_creation: false })
    };
    (
        buf("dummy", wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST),
        buf("runtime", wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST),
    )
}

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct RuntimeUniform {
    seed_lo: u32,
    seed_hi: u32,
    temperature: f32,
    _pad: u32,
}

/// A shader variant: shader and defines (one shader module each).
type ModuleKey = (&'static str, &'static [&'static str]);
/// A compute pipeline: shader, entry point, defines, and per binding from 1 (is a uniform, is
/// read-only).
type PipeKey = (&'static str, &'static str, &'static [&'static str], Vec<(bool, bool)>);

pub struct GpuBackend {
    pub device: wgpu::Device,
    pub queue: wgpu::Queue,
    pub info: wgpu::AdapterInfo,
    pub limits: wgpu::Limits,
    modules: HashMap<ModuleKey, wgpu::ShaderModule>,
    pipelines: HashMap<PipeKey, (wgpu::ComputePipeline, wgpu::BindGroupLayout)>,
    host_params: HashMap<String, Vec<f64>>,
    param_bufs: HashMap<(String, Layout), wgpu::Buffer>,
    dummy: wgpu::Buffer,
    runtime: wgpu::Buffer,
    /// The device has `Features::SUBGROUP` and subgroups of at least 8 lanes.
    subgroup_capable: bool,
    /// Plans built from now on use the subgroup convolution.
    subgroups: bool,
    /// Called as each new pipeline of a plan is built (`set_on_pipeline`).
    on_pipeline: Option<platform::ProgressFn>,
}

pub struct GpuPlan {
    graph: Graph,
    slot_of: Vec<usize>,
    slots: Vec<wgpu::Buffer>,
    /// (pipeline index into `pipes`, bind group, workgroups x, y)
    dispatches: Vec<(usize, wgpu::BindGroup, u32, u32)>,
    pipes: Vec<wgpu::ComputePipeline>,
    _uniforms: wgpu::Buffer,
    staging: HashMap<BufId, wgpu::Buffer>,
    /// Parameter buffers cleared at the start of every run (`Graph::zero_params`).
    zero_params: Vec<wgpu::Buffer>,
}

impl GpuPlan {
    /// Bytes of device memory held by the plan's activation buffers.
    pub fn bytes(&self) -> u64 {
        self.slots.iter().map(|b| b.size()).sum()
    }
    pub fn dispatch_count(&self) -> usize {
        self.dispatches.len()
    }
}

impl GpuBackend {
    /// Opens the default adapter (high performance) with its full limits. Fails loudly when none.
    pub async fn new() -> Result<Self> {
        let instance = wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle_from_env());
        let adapter = instance
            .request_adapter(&wgpu::RequestAdapterOptions {
                power_preference: wgpu::PowerPreference::HighPerformance,
                force_fallback_adapter: false,
                compatible_surface: None,
                apply_limit_buckets: false,
            })
            .await
            .map_err(|e| Error::Gpu(format!("no WebGPU/Vulkan/Metal/DX12 adapter found ({e})")))?;
        Self::from_adapter(adapter).await
    }

    /// Opens a device on `adapter` with its full limits, and with `Features::SUBGROUP` when the
    /// adapter offers it with subgroups of at least 8 lanes (the subgroup convolution's minimum),
    /// it is not a browser's WebGPU, and the environment variable `GLOWGPU_NO_SUBGROUPS` is not `1`.
    pub async fn from_adapter(adapter: wgpu::Adapter) -> Result<Self> {
        let info = adapter.get_info();
        let limits = adapter.limits();
        let no_subgroups = std::env::var("GLOWGPU_NO_SUBGROUPS").is_ok_and(|v| v == "1");
        // not in browsers: their WGSL compilers want `enable subgroups;`, which naga rejects
        let subgroup_capable = !no_subgroups
            && info.backend != wgpu::Backend::BrowserWebGpu
            && adapter.features().contains(wgpu::Features::SUBGROUP)
            && info.subgroup_min_size >= 8;
        let required_features = if subgroup_capable { wgpu::Features::SUBGROUP } else { wgpu::Features::empty() };
        let (device, queue) = adapter
            .request_device(&wgpu::DeviceDescriptor {
                label: Some("glow"),
                required_features,
                required_limits: limits.clone(),
                experimental_features: wgpu::ExperimentalFeatures::disabled(),
                memory_hints: wgpu::MemoryHints::Performance,
                trace: wgpu::Trace::Off,
            })
            .await
            .map_err(|e| Error::Gpu(format!("could not open device on {}: {e}", info.name)))?;
        let (dummy, runtime) = small_buffers(&device);
        Ok(GpuBackend {
            device,
            queue,
            info,
            limits,
            modules: HashMap::new(),
            pipelines: HashMap::new(),
            host_params: HashMap::new(),
            param_bufs: HashMap::new(),
            dummy,
            runtime,
            subgroup_capable,
            subgroups: subgroup_capable,
            on_pipeline: None,
        })
    }

    /// Another backend on the same device and queue, with its own parameters and plans, starting
    /// with this one's compiled shader modules and pipelines: several models (or all the tests of
    /// one test binary) share one device instead of opening one each.
    pub fn sibling(&self) -> GpuBackend {
        let (dummy, runtime) = small_buffers(&self.device);
        GpuBackend {
            device: self.device.clone(),
            queue: self.queue.clone(),
            info: self.info.clone(),
            limits: self.limits.clone(),
            modules: self.modules.clone(),
            pipelines: self.pipelines.clone(),
            host_params: HashMap::new(),
            param_bufs: HashMap::new(),
            dummy,
            runtime,
            subgroup_capable: self.subgroup_capable,
            subgroups: self.subgroups,
            on_pipeline: None,
        }
    }

    /// Whether plans built now use the subgroup convolution (`shaders/conv2d_sg.wgsl`).
    pub fn subgroups_enabled(&self) -> bool {
        self.subgroups
    }

    /// What plans built now may use, for the ops to pick their kernels by (`Op::gpu`).
    pub fn caps(&self) -> GpuCaps {
        GpuCaps { subgroups: self.subgroups }
    }

    /// Chooses the subgroup convolution (`true`, where the device supports it) or the portable one
    /// for plans built from now on; returns whether subgroups are now in use.
    pub fn set_subgroups(&mut self, on: bool) -> bool {
        self.subgroups = on && self.subgroup_capable;
        self.subgroups
    }

    /// Reports `(built, total)` as `build` creates each pipeline (shader module and compute
    /// pipeline) a plan needs that is not cached yet; `total` counts those new pipelines. The page
    /// shows it as a progress bar; `None` removes the callback.
    pub fn set_on_pipeline(&mut self, f: Option<platform::ProgressFn>) {
        self.on_pipeline = f;
    }

    /// Compute pipelines built so far (all plans, cached per kernel and binding signature).
    pub fn pipeline_count(&self) -> usize {
        self.pipelines.len()
    }

    fn check_binding(&self, what: &str, bytes: u64) -> Result<()> {
        let max = self.limits.max_storage_buffer_binding_size.min(self.limits.max_buffer_size);
        if bytes > max {
            return Err(Error::Limit(format!(
                "{what} needs {bytes} bytes in one storage binding, but this adapter ({}) allows at most {max} \
                 (max_storage_buffer_binding_size); use a smaller batch or model",
                self.info.name
            )));
        }
        Ok(())
    }

    fn param_bytes(&self, name: &str, layout: Layout) -> Result<Vec<f32>> {
        let v = self
            .host_params
            .get(name)
            .ok_or_else(|| Error::Weights(format!("graph needs parameter `{name}`, not uploaded")))?;
        Ok(match layout {
            Layout::Plain => v.iter().map(|&x| x as f32).collect(),
            Layout::ConvPacked { cout } => {
                let cout = cout as usize;
                let c8 = cout.div_ceil(16) * 16;
                let rows = v.len() / cout.max(1);
                let mut out = vec![0f32; rows * c8];
                for r in 0..rows {
                    for c in 0..cout {
                        out[r * c8 + c] = v[r * cout + c] as f32;
                    }
                }
                out
            }
            Layout::ConvPackedT { cin, cout, k } => {
                let (cin, cout, kk) = (cin as usize, cout as usize, (k * k) as usize);
                let rows = v.len() / (kk * cout).max(1);
                if rows < cin || rows * kk * cout != v.len() {
                    return Err(Error::Weights(format!(
                        "parameter `{name}` has {} values, not a {k}x{k} conv weight with {cin} inputs and {cout} outputs",
                        v.len()
                    )));
                }
                let cp = cin.div_ceil(16) * 16;
                let mut out = vec![0f32; kk * cout * cp];
                for t in 0..kk {
                    for co in 0..cout {
                        for ci in 0..cin {
                            out[(t * cout + co) * cp + ci] = v[((kk - 1 - t) * rows + ci) * cout + co] as f32;
                        }
                    }
                }
                out
            }
        })
    }

    fn param_buffer(&mut self, name: &str, layout: Layout) -> Result<wgpu::Buffer> {
        let key = (name.to_string(), layout);
        if let Some(b) = self.param_bufs.get(&key) {
            return Ok(b.clone());
        }
        let data = self.param_bytes(name, layout)?;
        let bytes = (data.len() as u64 * 4).max(16);
        self.check_binding(&format!("parameter `{name}`"), bytes)?;
        let buf = self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some(name),
            size: bytes,
            usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST | wgpu::BufferUsages::COPY_SRC,
            mapped_at_creation: false,
        });
        self.queue.write_buffer(&buf, 0, bytemuck::cast_slice(&data));
        self.param_bufs.insert(key, buf.clone());
        Ok(buf)
    }

    fn module(&mut self, shader: &'static str, defines: &'static [&'static str]) -> Result<wgpu::ShaderModule> {
        if let Some(m) = self.modules.get(&(shader, defines)) {
            return Ok(m.clone());
        }
        let src = shader_source(shader, defines)?;
        let m = self.device.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some(shader),
            source: wgpu::ShaderSource::Wgsl(src.into()),
        });
        self.modules.insert((shader, defines), m.clone());
        Ok(m)
    }

    fn pipeline(&mut self, key: PipeKey) -> Result<(wgpu::ComputePipeline, wgpu::BindGroupLayout)> {
        if let Some(p) = self.pipelines.get(&key) {
            return Ok(p.clone());
        }
        let (shader, entry, defines, ref kinds) = key;
        if !KERNELS.contains(&(shader, entry, defines)) {
            return Err(Error::Gpu(format!(
                "kernel {shader}::{entry} {defines:?} is not listed in backend::gpu::KERNELS"
            )));
        }
        let module = self.module(shader, defines)?;
        let mut entries = vec![uniform_entry(0)];
        for (i, &(is_uniform, read_only)) in kinds.iter().enumerate() {
            let binding = 1 + i as u32;
            entries.push(if is_uniform {
                uniform_entry(binding)
            } else {
                wgpu::BindGroupLayoutEntry {
                    binding,
                    visibility: wgpu::ShaderStages::COMPUTE,
                    ty: wgpu::BindingType::Buffer {
                        ty: wgpu::BufferBindingType::Storage { read_only },
                        has_dynamic_offset: false,
                        min_binding_size: None,
                    },
                    count: None,
                }
            });
        }
        let bgl = self
            .device
            .create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor { label: Some(entry), entries: &entries });
        let layout = self.device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
            label: Some(entry),
            bind_group_layouts: &[Some(&bgl)],
            immediate_size: 0,
        });
        let pipe = self.device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
            label: Some(&format!("{shader}::{entry} {defines:?}")),
            layout: Some(&layout),
            module: &module,
            entry_point: Some(entry),
            compilation_options: Default::default(),
            cache: None,
        });
        self.pipelines.insert(key.clone(), (pipe.clone(), bgl.clone()));
        Ok((pipe, bgl))
    }

    fn split_workgroups(&self, n: u32) -> Result<(u32, u32)> {
        let max = self.limits.max_compute_workgroups_per_dimension;
        if n <= max {
            return Ok((n.max(1), 1));
        }
        let y = n.div_ceil(max);
        if y > max {
            return Err(Error::Limit(format!(
                "dispatch of {n} workgroups exceeds {max}² (max_compute_workgroups_per_dimension)"
            )));
        }
        Ok((max, y))
    }
}

/// The pipeline a dispatch needs: its kernel and the kind of each binding.
fn pipe_key(c: &GpuCall) -> PipeKey {
    let kinds = c
        .binds
        .iter()
        .map(|b| match b {
            Bind::Runtime => (true, true),
            Bind::Buf(_, a) | Bind::Param(_, _, a) => (false, *a == Access::Read),
            Bind::Dummy => (false, true),
        })
        .collect();
    (c.shader, c.entry, c.defines, kinds)
}

/// The pieces of `Backend::build`.
impl GpuBackend {
    /// One device buffer per memory slot of `graph.plan_memory()`, sized for its largest tenant;
    /// an error naming the buffer (and the batch that would fit) where one exceeds the adapter's
    /// binding limit.
    fn create_slots(&self, graph: &Graph, slot_of: &[usize], nslots: usize) -> Result<Vec<wgpu::Buffer>> {
        // a slot's size in 4-byte words: the largest tenant
        let mut slot_words = vec![0usize; nslots];
        for (b, d) in graph.bufs.iter().enumerate() {
            slot_words[slot_of[b]] = slot_words[slot_of[b]].max(words(d));
        }
        let mut slots = Vec::with_capacity(nslots);
        for (s, &w) in slot_words.iter().enumerate() {
            let bytes = (w as u64 * 4).max(16);
            let tenant = graph
                .bufs
                .iter()
                .enumerate()
                .find(|(b, _)| slot_of[*b] == s)
                .map(|(_, d)| d.name.as_str())
                .unwrap_or("?");
            self.check_binding(&format!("activation buffer `{tenant}`"), bytes).map_err(|e| match e {
                Error::Limit(m) if graph.batch > 0 && bytes > 0 => {
                    let max = self.limits.max_storage_buffer_binding_size.min(self.limits.max_buffer_size);
                    let fit = max / bytes.div_ceil(graph.batch as u64);
                    Error::Limit(format!("{m}; a batch of at most {fit} fits this buffer (batch now {})", graph.batch))
                }
                other => other,
            })?;
            slots.push(self.device.create_buffer(&wgpu::BufferDescriptor {
                label: Some(tenant),
                size: bytes,
                usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST | wgpu::BufferUsages::COPY_SRC,
                mapped_at_creation: false,
            }));
        }
        Ok(slots)
    }

    /// Every dispatch's uniform in one buffer, each at an offset aligned for binding: the buffer and
    /// the offsets.
    fn upload_uniforms(&self, calls: &[GpuCall]) -> (wgpu::Buffer, Vec<usize>) {
        let align = self.limits.min_uniform_buffer_offset_alignment as usize;
        let mut ubytes = Vec::new();
        let mut offsets = Vec::with_capacity(calls.len());
        for c in calls {
            offsets.push(ubytes.len());
            ubytes.extend_from_slice(&c.uniform);
            ubytes.resize(ubytes.len().div_ceil(align) * align, 0);
        }
        let uniforms = self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("op params"),
            size: ubytes.len().max(16) as u64,
            usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        self.queue.write_buffer(&uniforms, 0, &ubytes);
        (uniforms, offsets)
    }

    /// A dispatch's bind group: its uniform (binding 0, at `offset` in the plan's uniform buffer)
    /// and its bindings from 1 (activation slots, parameter buffers, the dummy, the run uniform).
    fn bind_group(
        &mut self,
        c: &GpuCall,
        bgl: &wgpu::BindGroupLayout,
        (uniforms, offset): (&wgpu::Buffer, usize),
        slots: &[wgpu::Buffer],
        slot_of: &[usize],
    ) -> Result<wgpu::BindGroup> {
        let mut bufs: Vec<wgpu::Buffer> = Vec::with_capacity(c.binds.len());
        for b in &c.binds {
            bufs.push(match b {
                Bind::Buf(id, _) => slots[slot_of[*id]].clone(),
                Bind::Param(n, l, _) => self.param_buffer(n, *l)?,
                Bind::Dummy => self.dummy.clone(),
                Bind::Runtime => self.runtime.clone(),
            });
        }
        let mut entries = vec![wgpu::BindGroupEntry {
            binding: 0,
            resource: wgpu::BindingResource::Buffer(wgpu::BufferBinding {
                buffer: uniforms,
                offset: offset as u64,
                size: std::num::NonZeroU64::new(c.uniform.len() as u64),
            }),
        }];
        for (i, b) in bufs.iter().enumerate() {
            entries.push(wgpu::BindGroupEntry { binding: 1 + i as u32, resource: b.as_entire_binding() });
        }
        Ok(self.device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some(c.entry),
            layout: bgl,
            entries: &entries,
        }))
    }
}

impl GpuBackend {
    /// Writes a parameter's plain buffer only, leaving packed copies stale (as an op writing the
    /// parameter on the device would); for tests of `ConvPack`.
    pub fn write_plain_param(&mut self, name: &str, values: &[f64]) -> Result<()> {
        let buf = self.param_buffer(name, Layout::Plain)?;
        let f: Vec<f32> = values.iter().map(|&v| v as f32).collect();
        if buf.size() < f.len() as u64 * 4 {
            return Err(Error::Input(format!("parameter `{name}` holds fewer than {} values", f.len())));
        }
        self.queue.write_buffer(&buf, 0, bytemuck::cast_slice(&f));
        Ok(())
    }
}

fn uniform_entry(binding: u32) -> wgpu::BindGroupLayoutEntry {
    wgpu::BindGroupLayoutEntry {
        binding,
        visibility: wgpu::ShaderStages::COMPUTE,
        ty: wgpu::BindingType::Buffer {
            ty: wgpu::BufferBindingType::Uniform,
            has_dynamic_offset: false,
            min_binding_size: None,
        },
        count: None,
    }
}

fn words(d: &BufDesc) -> usize {
    match d.dtype {
        DType::F32 => d.len,
        DType::U8 => d.len.div_ceil(4),
    }
}

impl Backend for GpuBackend {
    type Plan = GpuPlan;

    fn describe(&self) -> String {
        format!("{} ({:?}, {:?})", self.info.name, self.info.backend, self.info.device_type)
    }

    fn set_params(&mut self, params: &ParamMap) -> Result<()> {
        for (k, (_, v)) in params {
            self.host_params.insert(k.clone(), v.clone());
        }
        let keys: Vec<(String, Layout)> =
            self.param_bufs.keys().filter(|(n, _)| params.contains_key(n)).cloned().collect();
        for key in keys {
            // a layout the new tensor does not fit is another model's: dropped below
            let data = self.param_bytes(&key.0, key.1).unwrap_or_default();
            let buf = &self.param_bufs[&key];
            if !data.is_empty() && buf.size() == (data.len() as u64 * 4).max(16) {
                self.queue.write_buffer(buf, 0, bytemuck::cast_slice(&data));
            } else {
                // another model's tensor of that name: plans built from now on get a new buffer
                self.param_bufs.remove(&key);
            }
        }
        Ok(())
    }

    fn build(&mut self, graph: Graph) -> Result<GpuPlan> {
        let (slot_of, sizes) = graph.plan_memory();
        let slots = self.create_slots(&graph, &slot_of, sizes.len())?;
        let caps = self.caps();
        let calls: Vec<GpuCall> = graph.ops.iter().map(|o| o.gpu(caps)).collect();
        let (uniforms, offsets) = self.upload_uniforms(&calls);
        let keys: Vec<PipeKey> = calls.iter().map(pipe_key).collect();
        let new_pipes = keys.iter().filter(|k| !self.pipelines.contains_key(*k)).collect::<HashSet<_>>().len();
        let mut built = 0;
        let mut pipes: Vec<wgpu::ComputePipeline> = Vec::new();
        let mut pipe_index: HashMap<PipeKey, usize> = HashMap::new();
        let mut dispatches = Vec::with_capacity(calls.len());
        for ((c, &off), key) in calls.iter().zip(&offsets).zip(keys) {
            let fresh = !self.pipelines.contains_key(&key);
            let (pipe, bgl) = self.pipeline(key.clone())?;
            if fresh {
                built += 1;
                if let Some(f) = &self.on_pipeline {
                    f(built, new_pipes);
                }
            }
            let pi = *pipe_index.entry(key).or_insert_with(|| {
                pipes.push(pipe);
                pipes.len() - 1
            });
            let bg = self.bind_group(c, &bgl, (&uniforms, off), &slots, &slot_of)?;
            let (x, y) = self.split_workgroups(c.workgroups)?;
            dispatches.push((pi, bg, x, y));
        }
        let zero_params =
            graph.zero_params.iter().map(|n| self.param_buffer(n, Layout::Plain)).collect::<Result<Vec<_>>>()?;
        Ok(GpuPlan {
            graph,
            slot_of,
            slots,
            dispatches,
            pipes,
            _uniforms: uniforms,
            staging: HashMap::new(),
            zero_params,
        })
    }

    async fn run(
        &mut self,
        plan: &mut GpuPlan,
        inputs: Vec<(BufId, Host)>,
        outputs: &[BufId],
        args: RunArgs,
    ) -> Result<Vec<Host>> {
        for (b, data) in inputs {
            let d = &plan.graph.bufs[b];
            let buf = &plan.slots[plan.slot_of[b]];
            match data {
                Host::U8(mut v) => {
                    super::cpu::check_len(&plan.graph, b, v.len(), d.len)?;
                    v.resize(v.len().div_ceil(4) * 4, 0);
                    self.queue.write_buffer(buf, 0, &v);
                }
                Host::F(v) => {
                    super::cpu::check_len(&plan.graph, b, v.len(), d.len)?;
                    let f: Vec<f32> = v.iter().map(|&x| x as f32).collect();
                    self.queue.write_buffer(buf, 0, bytemuck::cast_slice(&f));
                }
            }
        }
        let rt = RuntimeUniform {
            seed_lo: args.seed as u32,
            seed_hi: (args.seed >> 32) as u32,
            temperature: args.temperature,
            _pad: 0,
        };
        self.queue.write_buffer(&self.runtime, 0, bytemuck::bytes_of(&rt));
        let mut enc = self.device.create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some("glow run") });
        for b in &plan.zero_params {
            enc.clear_buffer(b, 0, None);
        }
        for (b, d) in plan.graph.bufs.iter().enumerate() {
            if d.zeroed {
                enc.clear_buffer(&plan.slots[plan.slot_of[b]], 0, None);
            }
        }
        {
            let mut pass =
                enc.begin_compute_pass(&wgpu::ComputePassDescriptor { label: Some("glow"), timestamp_writes: None });
            for (pi, bg, x, y) in &plan.dispatches {
                pass.set_pipeline(&plan.pipes[*pi]);
                pass.set_bind_group(0, bg, &[]);
                pass.dispatch_workgroups(*x, *y, 1);
            }
        }
        for &b in outputs {
            let bytes = words(&plan.graph.bufs[b]) as u64 * 4;
            let st = plan.staging.entry(b).or_insert_with(|| {
                self.device.create_buffer(&wgpu::BufferDescriptor {
                    label: Some("readback"),
                    size: bytes.max(4),
                    usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
                    mapped_at_creation: false,
                })
            });
            enc.copy_buffer_to_buffer(&plan.slots[plan.slot_of[b]], 0, st, 0, bytes);
        }
        self.queue.submit([enc.finish()]);
        let mut out = Vec::with_capacity(outputs.len());
        for &b in outputs {
            let d = &plan.graph.bufs[b];
            let raw = read_buffer(&self.device, &plan.staging[&b], words(d) as u64 * 4).await?;
            out.push(match d.dtype {
                DType::U8 => Host::U8(raw[..d.len].to_vec()),
                DType::F32 => Host::F(bytemuck::cast_slice::<u8, f32>(&raw).iter().map(|&v| v as f64).collect()),
            });
        }
        Ok(out)
    }

    async fn read_params(&mut self, names: &[String]) -> Result<Vec<Vec<f64>>> {
        let mut out = Vec::new();
        for n in names {
            let buf = self.param_buffer(n, Layout::Plain)?;
            let len = self.host_params[n].len();
            let st = self.device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("param readback"),
                size: buf.size(),
                usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
                mapped_at_creation: false,
            });
            let mut enc = self.device.create_command_encoder(&Default::default());
            enc.copy_buffer_to_buffer(&buf, 0, &st, 0, buf.size());
            self.queue.submit([enc.finish()]);
            let raw = read_buffer(&self.device, &st, buf.size()).await?;
            out.push(bytemuck::cast_slice::<u8, f32>(&raw)[..len].iter().map(|&v| v as f64).collect());
        }
        Ok(out)
    }
}

async fn read_buffer(device: &wgpu::Device, buf: &wgpu::Buffer, bytes: u64) -> Result<Vec<u8>> {
    let (tx, rx) = futures_channel::oneshot::channel();
    let slice = buf.slice(..bytes);
    slice.map_async(wgpu::MapMode::Read, move |r| {
        let _ = tx.send(r);
    });
    platform::wait_mapped(device, rx).await.map_err(Error::Gpu)?;
    let data = slice.get_mapped_range().map_err(|e| Error::Gpu(format!("mapped range: {e}")))?.to_vec();
    buf.unmap();
    Ok(data)
}
