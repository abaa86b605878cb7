//! Small dense f64 linear algebra for the 1x1 convolution's parameters (C x C, row-major).
//! The official code also computes `log|det W|` in float64.

/// Row-major square matrix.
#[derive(Clone, Debug, PartialEq)]
pub struct Mat {
    pub n: usize,
    pub a: Vec<f64>,
}

impl Mat {
    pub fn zeros(n: usize) -> Self {
        Mat { n, a: vec![0.0; n * n] }
    }
    pub fn eye(n: usize) -> Self {
        let mut m = Self::zeros(n);
        for i in 0..n {
            m.a[i * n + i] = 1.0;
        }
        m
    }
    pub fn at(&self, i: usize, j: usize) -> f64 {
        self.a[i * self.n + j]
    }
    pub fn set(&mut self, i: usize, j: usize, v: f64) {
        self.a[i * self.n + j] = v;
    }
    pub fn matmul(&self, o: &Mat) -> Mat {
        let n = self.n;
        let mut r = Mat::zeros(n);
        for i in 0..n {
            for k in 0..n {
                let v = self.at(i, k);
                for j in 0..n {
                    r.a[i * n + j] += v * o.at(k, j);
                }
            }
        }
        r
    }
    /// Q of a QR decomposition (modified Gram-Schmidt over columns), signs fixed so diag(R) > 0.
    pub fn qr_q(&self) -> Mat {
        let n = self.n;
        let mut q = self.clone();
        for j in 0..n {
            for k in 0..j {
                let dot: f64 = (0..n).map(|i| q.at(i, j) * q.at(i, k)).sum();
                for i in 0..n {
                    let v = q.at(i, j) - dot * q.at(i, k);
                    q.set(i, j, v);
                }
            }
            let norm = (0..n).map(|i| q.at(i, j).powi(2)).sum::<f64>().sqrt();
            for i in 0..n {
                let v = q.at(i, j) / norm;
                q.set(i, j, v);
            }
        }
        q
    }

    /// LU with partial pivoting in scipy's convention: `self = P · L · U`, L unit lower.
    /// Returns (perm, L, U) where P[i][perm[i]] = 1... expressed as: row i of `self` is row
    /// `perm_inv` — concretely `P` is returned as a matrix too.
    pub fn lu(&self) -> (Mat, Mat, Mat) {
        let n = self.n;
        let mut u = self.clone();
        let mut l = Mat::zeros(n);
        let mut rows: Vec<usize> = (0..n).collect(); // PA = LU with A rows permuted as `rows`
        for k in 0..n {
            let p = (k..n).max_by(|&x, &y| u.at(x, k).abs().total_cmp(&u.at(y, k).abs())).unwrap();
            if p != k {
                for j in 0..n {
                    u.a.swap(k * n + j, p * n + j);
                    l.a.swap(k * n + j, p * n + j);
                }
                rows.swap(k, p);
            }
            for i in k + 1..n {
                let f = u.at(i, k) / u.at(k, k);
                l.set(i, k, f);
                for j in k..n {
                    let v = u.at(i, j) - f * u.at(k, j);
                    u.set(i, j, v);
                }
            }
        }
        for i in 0..n {
            l.set(i, i, 1.0);
        }
        // (Pr A) = L U with (Pr A)[k] = A[rows[k]]  =>  A = Pr^T L U; P = Pr^T: P[rows[k]][k] = 1.
        let mut p = Mat::zeros(n);
        for (k, &r) in rows.iter().enumerate() {
            p.set(r, k, 1.0);
        }
        (p, l, u)
    }

    /// `log|det|` via LU.
    pub fn logabsdet(&self) -> f64 {
        let (_, _, u) = self.lu();
        (0..self.n).map(|i| u.at(i, i).abs().ln()).sum()
    }

    /// Inverse by Gauss-Jordan with partial pivoting.
    pub fn inverse(&self) -> Mat {
        let n = self.n;
        let mut a = self.clone();
        let mut inv = Mat::eye(n);
        for k in 0..n {
            let p = (k..n).max_by(|&x, &y| a.at(x, k).abs().total_cmp(&a.at(y, k).abs())).unwrap();
            if p != k {
                for j in 0..n {
                    a.a.swap(k * n + j, p * n + j);
                    inv.a.swap(k * n + j, p * n + j);
                }
            }
            let d = a.at(k, k);
            for j in 0..n {
                a.a[k * n + j] /= d;
                inv.a[k * n + j] /= d;
            }
            for i in 0..n {
                if i != k {
                    let f = a.at(i, k);
                    if f != 0.0 {
                        for j in 0..n {
                            a.a[i * n + j] -= f * a.at(k, j);
                            inv.a[i * n + j] -= f * inv.at(k, j);
                        }
                    }
                }
            }
        }
        inv
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    fn m() -> Mat {
        Mat { n: 3, a: vec![0.5, 2.0, -1.0, 1.5, 0.1, 0.3, -0.7, 0.9, 2.2] }
    }
    #[test]
    fn lu_reconstructs() {
        let a = m();
        let (p, l, u) = a.lu();
        let r = p.matmul(&l).matmul(&u);
        for (x, y) in r.a.iter().zip(&a.a) {
            assert!((x - y).abs() < 1e-12);
        }
    }
    #[test]
    fn inverse_and_det() {
        let a = m();
        let i = a.matmul(&a.inverse());
        for r in 0..3 {
            for c in 0..3 {
                assert!((i.at(r, c) - if r == c { 1.0 } else { 0.0 }).abs() < 1e-12);
            }
        }
        // det by cofactors
        let d: f64 = 0.5 * (0.1 * 2.2 - 0.3 * 0.9) - 2.0 * (1.5 * 2.2 - 0.3 * -0.7) - (1.5 * 0.9 - 0.1 * -0.7);
        assert!((a.logabsdet() - f64::ln(d.abs())).abs() < 1e-12);
    }
    #[test]
    fn qr_is_orthogonal() {
        let q = m().qr_q();
        let mut qt = Mat::zeros(3);
        for i in 0..3 {
            for j in 0..3 {
                qt.set(i, j, q.at(j, i));
            }
        }
        let e = qt.matmul(&q);
        for r in 0..3 {
            for c in 0..3 {
                assert!((e.at(r, c) - if r == c { 1.0 } else { 0.0 }).abs() < 1e-12);
            }
        }
    }
}
