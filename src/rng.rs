//! Counter-based random numbers, bit-identical between the CPU backends and `shaders/rng.wgsl`:
//! value `i` of stream `s` under seed `k` is a pure function `hash(k, s, i)`, so any backend,
//! batch split or dispatch order yields the same numbers.

/// PCG-style integer hash of four words (mirrors `hash4` in `shaders/rng.wgsl`).
pub fn hash4(a: u32, b: u32, c: u32, d: u32) -> u32 {
    let mut h = a.wrapping_mul(747796405).wrapping_add(2891336453);
    for v in [b, c, d] {
        h ^= v.wrapping_mul(0x9E3779B9);
        h = pcg(h);
    }
    pcg(h)
}

fn pcg(v: u32) -> u32 {
    let state = v.wrapping_mul(747796405).wrapping_add(2891336453);
    let word = ((state >> ((state >> 28).wrapping_add(4))) ^ state).wrapping_mul(277803737);
    (word >> 22) ^ word
}

/// Uniform in [0, 1) with 24 bits.
pub fn uniform(seed: u64, stream: u32, i: u32) -> f64 {
    (hash4(seed as u32, (seed >> 32) as u32, stream, i) >> 8) as f64 * (1.0 / 16777216.0)
}

/// Standard normal by Box-Muller over two uniforms of the stream (indices 2i and 2i+1).
pub fn gaussian(seed: u64, stream: u32, i: u32) -> f64 {
    let a = hash4(seed as u32, (seed >> 32) as u32, stream, i.wrapping_mul(2));
    let b = hash4(seed as u32, (seed >> 32) as u32, stream, i.wrapping_mul(2).wrapping_add(1));
    let u1 = ((a >> 8) as f64 + 1.0) * (1.0 / 16777216.0); // (0, 1]
    let u2 = (b >> 8) as f64 * (1.0 / 16777216.0);
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// A small sequential generator for host-side initialisation (not shared with shaders).
#[derive(Clone, Debug)]
pub struct HostRng {
    seed: u64,
    stream: u32,
    i: u32,
}

impl HostRng {
    pub fn new(seed: u64) -> Self {
        HostRng { seed, stream: 0x5eed, i: 0 }
    }
    fn next_index(&mut self) -> u32 {
        let i = self.i;
        self.i = self.i.wrapping_add(1);
        if self.i == 0 {
            self.stream = self.stream.wrapping_add(1);
        }
        i
    }
    pub fn uniform(&mut self) -> f64 {
        let i = self.next_index();
        uniform(self.seed, self.stream, i)
    }
    pub fn normal(&mut self) -> f64 {
        let i = self.next_index();
        gaussian(self.seed, self.stream ^ 0x8000_0000, i)
    }
    /// A random permutation of 0..n (Fisher-Yates).
    pub fn permutation(&mut self, n: usize) -> Vec<usize> {
        let mut p: Vec<usize> = (0..n).collect();
        for i in (1..n).rev() {
            let j = ((self.uniform() * (i + 1) as f64) as usize).min(i);
            p.swap(i, j);
        }
        p
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn gaussian_moments() {
        let n = 200_000u32;
        let (mut s, mut s2) = (0.0, 0.0);
        for i in 0..n {
            let g = gaussian(7, 3, i);
            s += g;
            s2 += g * g;
        }
        let mean = s / n as f64;
        let var = s2 / n as f64 - mean * mean;
        assert!(mean.abs() < 0.01, "mean {mean}");
        assert!((var - 1.0).abs() < 0.01, "var {var}");
    }
    #[test]
    fn uniform_range_and_mean() {
        let n = 100_000u32;
        let mut s = 0.0;
        for i in 0..n {
            let u = uniform(1, 2, i);
            assert!((0.0..1.0).contains(&u));
            s += u;
        }
        assert!((s / n as f64 - 0.5).abs() < 0.005);
    }
}
