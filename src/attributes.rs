//! Attribute directions in the flat latent space (written by `trainer attributes`:
//! `mean(z | attribute) − mean(z | not attribute)`), and the edit `z + Σ αᵢ·dᵢ`.
use crate::error::{Error, Result};

/// Named directions, each of the model's flat latent length.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Directions {
    pub names: Vec<String>,
    pub dirs: Vec<Vec<f64>>,
}

impl Directions {
    /// Reads `attr.<name>` tensors (F32, or F16 as shipped) from safetensors bytes; each must hold
    /// `latent_len` values.
    pub fn load(bytes: &[u8], latent_len: usize) -> Result<Self> {
        let st = safetensors::SafeTensors::deserialize(bytes)
            .map_err(|e| Error::Weights(format!("attribute file: truncated or corrupt safetensors file: {e}")))?;
        let mut out = Directions::default();
        let mut tensors: Vec<_> = st.tensors();
        tensors.sort_by(|a, b| a.0.cmp(&b.0));
        for (name, view) in tensors {
            let Some(attr) = name.strip_prefix("attr.") else { continue };
            let v: Vec<f64> = match view.dtype() {
                safetensors::Dtype::F32 => {
                    view.data().chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]) as f64).collect()
                }
                safetensors::Dtype::F16 => {
                    view.data().chunks_exact(2).map(|c| half::f16::from_le_bytes([c[0], c[1]]).to_f64()).collect()
                }
                d => return Err(Error::Weights(format!("attribute `{attr}` is {d:?}, expected F32 or F16"))),
            };
            if v.len() != latent_len {
                return Err(Error::Weights(format!(
                    "attribute `{attr}` has {} values, this model's latent has {latent_len}",
                    v.len()
                )));
            }
            if let Some(i) = v.iter().position(|x| !x.is_finite()) {
                return Err(Error::Weights(format!("attribute `{attr}` holds a non-finite value at index {i}")));
            }
            out.names.push(attr.to_string());
            out.dirs.push(v);
        }
        if out.names.is_empty() {
            return Err(Error::Weights("attribute file holds no `attr.*` tensors".into()));
        }
        Ok(out)
    }

    /// `z + Σ αᵢ·dᵢ` (sliders combine).
    pub fn edit(&self, z: &[f64], alphas: &[f64]) -> Result<Vec<f64>> {
        if alphas.len() != self.names.len() {
            return Err(Error::Input(format!("{} weights for {} attributes", alphas.len(), self.names.len())));
        }
        if let Some(d) = self.dirs.first() {
            if z.len() != d.len() {
                return Err(Error::Input(format!("latent has {} values, directions {}", z.len(), d.len())));
            }
        }
        if alphas.iter().any(|a| !a.is_finite()) {
            return Err(Error::Input("attribute weights must be finite".into()));
        }
        let mut out = z.to_vec();
        for (d, &a) in self.dirs.iter().zip(alphas) {
            if a != 0.0 {
                out.iter_mut().zip(d).for_each(|(o, x)| *o += a * x);
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(tensors: &[(&str, Vec<f32>)]) -> Vec<u8> {
        let owned: Vec<(String, Vec<u8>, usize)> = tensors
            .iter()
            .map(|(n, v)| (n.to_string(), v.iter().flat_map(|x| x.to_le_bytes()).collect(), v.len()))
            .collect();
        let views: Vec<(String, safetensors::tensor::TensorView)> = owned
            .iter()
            .map(|(n, b, l)| {
                (n.clone(), safetensors::tensor::TensorView::new(safetensors::Dtype::F32, vec![*l], b).unwrap())
            })
            .collect();
        safetensors::serialize(views, None).unwrap()
    }

    #[test]
    fn load_and_edit() {
        let d = Directions::load(
            &file(&[("attr.b", vec![0.0, 1.0, 0.0]), ("attr.a", vec![1.0, 0.0, 2.0]), ("other", vec![9.0])]),
            3,
        )
        .unwrap();
        assert_eq!(d.names, ["a", "b"]);
        let z = d.edit(&[1.0, 1.0, 1.0], &[0.5, -1.0]).unwrap();
        assert_eq!(z, vec![1.5, 0.0, 2.0]);
        assert!(d.edit(&[1.0, 1.0, 1.0], &[0.5]).unwrap_err().to_string().contains("1 weights for 2 attributes"));
        assert!(d.edit(&[1.0], &[0.0, 0.0]).is_err());
        assert!(d.edit(&[1.0, 1.0, 1.0], &[f64::NAN, 0.0]).is_err());
    }

    #[test]
    fn f16_directions_load_as_their_f16_values() {
        let vals = [0.1f32, -2.5, 1e-3];
        let bytes: Vec<u8> = vals.iter().flat_map(|&v| half::f16::from_f32(v).to_le_bytes()).collect();
        let view = safetensors::tensor::TensorView::new(safetensors::Dtype::F16, vec![3], &bytes).unwrap();
        let file = safetensors::serialize(vec![("attr.a".to_string(), view)], None).unwrap();
        let d = Directions::load(&file, 3).unwrap();
        let want: Vec<f64> = vals.iter().map(|&v| half::f16::from_f32(v).to_f64()).collect();
        assert_eq!(d.dirs[0], want);
        assert!((d.dirs[0][0] - 0.1).abs() < 1e-4 && d.dirs[0][0] != 0.1f32 as f64, "rounded to f16");
    }

    #[test]
    fn bad_files_are_named_errors() {
        let e = Directions::load(&file(&[("attr.a", vec![1.0, 2.0])]), 3).unwrap_err().to_string();
        assert!(e.contains("attribute `a` has 2 values, this model's latent has 3"), "{e}");
        let e = Directions::load(&file(&[("attr.a", vec![1.0, f32::NAN, 0.0])]), 3).unwrap_err().to_string();
        assert!(e.contains("non-finite"), "{e}");
        let e = Directions::load(&file(&[("x", vec![1.0])]), 1).unwrap_err().to_string();
        assert!(e.contains("no `attr.*` tensors"), "{e}");
        let e = Directions::load(b"garbage", 1).unwrap_err().to_string();
        assert!(e.contains("truncated or corrupt"), "{e}");
    }
}
