// Gaussian noise scaled by the run's temperature (see src/ops/noise.rs).
struct P {
    len: u32,
    stream: u32,
    _p0: u32, _p1: u32,
}
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<uniform> run: Runtime;
@group(0) @binding(2) var<storage, read_write> y: array<f32>; // [len]

@compute @workgroup_size(64)
fn gaussian(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = linear_id(gid, nwg);
    if (i >= p.len) { return; }
    y[i] = run.temperature * rand_normal(run.seed_lo, run.seed_hi, p.stream, i);
}
