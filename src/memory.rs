//! Memory estimate of a CPU plan, checked against the memory available before anything is
//! allocated, as the GPU backend checks its adapter's limits: a job larger than memory fails with
//! a message naming the memory it needs and the batch that fits, instead of being killed.
//!
//! Available memory is, on Linux, `MemAvailable` of `/proc/meminfo`, lowered to what an
//! address-space limit (`RLIMIT_AS`, e.g. `ulimit -v`) leaves; elsewhere unknown (no check).
//! The environment variable `GLOWGPU_CPU_MEMORY` (bytes) overrides it.
use crate::error::{Error, Result};
use crate::graph::Graph;

/// Bytes a CPU plan of `graph` holds while it runs: its slots (`slot_sizes` elements of
/// `elem_bytes` each, as `Graph::plan_memory` gives them), the host copies of its inputs and
/// outputs (f64), and the parameters already uploaded (`param_elems`), plus a margin for the
/// ops' scratch and the process itself: 10% and [`PROCESS_BYTES`]. (Measured: a face-model eval
/// of 256 / 1,024 images peaks at 587 MiB / 2.01 GiB resident, estimated here 644 MiB / 2.1 GiB.)
pub fn cpu_plan_bytes(graph: &Graph, slot_sizes: &[usize], elem_bytes: usize, param_elems: usize) -> u64 {
    let slots: u64 = slot_sizes.iter().map(|&s| s as u64).sum::<u64>() * elem_bytes as u64;
    let io: u64 = graph.bufs.iter().filter(|b| b.persistent && !b.zeroed).map(|b| b.len as u64 * 8).sum();
    let data = slots.saturating_add(io);
    let params = param_elems as u64 * elem_bytes as u64;
    data.saturating_add(data / 10).saturating_add(PROCESS_BYTES).saturating_add(params)
}

/// What a process needs besides its plan's buffers (code, threads, allocator, image data).
pub const PROCESS_BYTES: u64 = 128 << 20;

/// Memory available to this process in bytes, if known.
pub fn available() -> Option<u64> {
    if let Some(v) = std::env::var("GLOWGPU_CPU_MEMORY").ok().and_then(|v| v.trim().parse().ok()) {
        return Some(v);
    }
    let free = meminfo_available()?;
    Some(match address_space_headroom() {
        Some(h) => free.min(h),
        None => free,
    })
}

/// Fails with [`Error::Memory`] when the plan of `graph` would not fit in [`available`] memory,
/// naming the bytes needed and, for a batched graph, the largest batch that fits.
pub fn check_cpu(graph: &Graph, slot_sizes: &[usize], elem_bytes: usize, param_elems: usize) -> Result<()> {
    match available() {
        Some(avail) => check_cpu_against(avail, graph, slot_sizes, elem_bytes, param_elems),
        None => Ok(()),
    }
}

/// [`check_cpu`] against `avail` bytes.
pub fn check_cpu_against(
    avail: u64,
    graph: &Graph,
    slot_sizes: &[usize],
    elem_bytes: usize,
    param_elems: usize,
) -> Result<()> {
    let need = cpu_plan_bytes(graph, slot_sizes, elem_bytes, param_elems);
    if need <= avail {
        return Ok(());
    }
    let params = param_elems as u64 * elem_bytes as u64;
    let mut msg = format!(
        "this CPU job needs {} ({need} bytes: activations {} + parameters {} + the process {}), {} is available",
        human(need),
        human(need - params - PROCESS_BYTES),
        human(params),
        human(PROCESS_BYTES),
        human(avail)
    );
    if graph.batch > 0 {
        let per_image = (need - params - PROCESS_BYTES).div_ceil(graph.batch as u64).max(1);
        let fit = avail.saturating_sub(params + PROCESS_BYTES) / per_image;
        msg += &if fit == 0 {
            format!("; not even a batch of 1 fits (batch now {})", graph.batch)
        } else {
            format!("; a batch of at most {fit} fits (batch now {})", graph.batch)
        };
    }
    Err(Error::Memory(msg))
}

/// `12.3 GiB`-style size.
pub fn human(bytes: u64) -> String {
    let b = bytes as f64;
    match bytes {
        0..=1023 => format!("{bytes} B"),
        1024..=1048575 => format!("{:.1} KiB", b / 1024.0),
        1048576..=1073741823 => format!("{:.1} MiB", b / 1048576.0),
        _ => format!("{:.1} GiB", b / 1073741824.0),
    }
}

#[cfg(target_os = "linux")]
fn meminfo_available() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    kib.checked_mul(1024)
}

#[cfg(not(target_os = "linux"))]
fn meminfo_available() -> Option<u64> {
    None
}

/// What `RLIMIT_AS` leaves of the address space (limit − current `VmSize`), if limited.
#[cfg(target_os = "linux")]
fn address_space_headroom() -> Option<u64> {
    let mut r = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: getrlimit writes the struct it is given.
    if unsafe { libc::getrlimit(libc::RLIMIT_AS, &mut r) } != 0 || r.rlim_cur == libc::RLIM_INFINITY {
        return None;
    }
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmSize:"))?;
    let used = line.split_whitespace().nth(1)?.parse::<u64>().ok()? * 1024;
    #[allow(clippy::unnecessary_cast)] // rlim_t is 32 bits on some targets
    let limit = r.rlim_cur as u64;
    Some(limit.saturating_sub(used))
}

#[cfg(not(target_os = "linux"))]
fn address_space_headroom() -> Option<u64> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_message_names_the_need_and_the_batch_that_fits() {
        let mut g = Graph { batch: 10, ..Default::default() };
        g.io("x", 1000, crate::graph::DType::F32);
        let sizes = [1000];
        // 1000 f32 slots + 1000 f64 host copies = 12,000 bytes, + 10% + the process + 250 f32 params
        let need = 13_200 + PROCESS_BYTES + 1000;
        assert_eq!(cpu_plan_bytes(&g, &sizes, 4, 250), need);
        check_cpu_against(need, &g, &sizes, 4, 250).unwrap();
        let e = check_cpu_against(PROCESS_BYTES + 7_000, &g, &sizes, 4, 250).unwrap_err().to_string();
        // 1,320 bytes per image: (7,000 - 1,000) / 1,320 = 4 images fit
        assert_eq!(
            e,
            format!(
                "not enough memory: this CPU job needs 128.0 MiB ({need} bytes: activations 12.9 KiB + parameters \
                 1000 B + the process 128.0 MiB), 128.0 MiB is available; a batch of at most 4 fits (batch now 10)"
            )
        );
    }
}
