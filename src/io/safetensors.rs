//! Chapter 11. The safetensors format, which PyTorch users load with `safetensors.torch.load_file`.
//!
//! ```text
//!   bytes 0..8        N, the header length, a little-endian u64
//!   bytes 8..8+N      a JSON object, padded with spaces to a multiple of 8 bytes:
//!                       "__metadata__": {"key": "value", ...}            (strings only)
//!                       "<name>": {"dtype": "F32", "shape": [64, 3, 4, 4],
//!                                  "data_offsets": [begin, end]}         (one per tensor)
//!   bytes 8+N..       the tensors' bytes, little endian, row-major, back to back;
//!                     offsets count from the start of this part
//! ```
//!
//! The reader checks every field and every offset against the file, so a truncated or garbled
//! file is an error that names the file and what was wrong, never a panic.

use super::json::Json;
use crate::error::{Error, Result};
use crate::scalar::Real;
use crate::tensor::Tensor;
use std::path::Path;

/// The element types this project reads and writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dtype {
    F32,
    F64,
    I64,
    U8,
}

impl Dtype {
    pub fn name(self) -> &'static str {
        match self {
            Dtype::F32 => "F32",
            Dtype::F64 => "F64",
            Dtype::I64 => "I64",
            Dtype::U8 => "U8",
        }
    }

    pub fn size(self) -> usize {
        match self {
            Dtype::F32 => 4,
            Dtype::F64 | Dtype::I64 => 8,
            Dtype::U8 => 1,
        }
    }

    fn from_name(name: &str) -> Option<Dtype> {
        [Dtype::F32, Dtype::F64, Dtype::I64, Dtype::U8]
            .into_iter()
            .find(|d| d.name() == name)
    }
}

/// One tensor as stored: its type, shape and raw little-endian bytes.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredTensor {
    pub dtype: Dtype,
    pub shape: Vec<usize>,
    pub bytes: Vec<u8>,
}

impl StoredTensor {
    /// A floating-point tensor, stored in its own precision.
    pub fn from_tensor<T: Real>(t: &Tensor<T>) -> Self {
        let mut bytes = Vec::with_capacity(t.len() * T::BYTES);
        t.as_slice()
            .iter()
            .for_each(|x| x.to_le_bytes_vec(&mut bytes));
        StoredTensor {
            dtype: if T::BYTES == 4 {
                Dtype::F32
            } else {
                Dtype::F64
            },
            shape: t.shape().to_vec(),
            bytes,
        }
    }

    /// Whole numbers (labels, step counts, generator states) as I64.
    pub fn from_i64(shape: &[usize], values: &[i64]) -> Self {
        StoredTensor {
            dtype: Dtype::I64,
            shape: shape.to_vec(),
            bytes: values.iter().flat_map(|v| v.to_le_bytes()).collect(),
        }
    }

    /// The values as `T`, converting from F32 or F64 (other types are refused).
    pub fn to_tensor<T: Real>(&self, what: &str) -> Result<Tensor<T>> {
        let values: Vec<T> = match self.dtype {
            Dtype::F32 => self
                .bytes
                .chunks_exact(4)
                .map(|b| T::from_f64(f32::from_le_slice(b) as f64))
                .collect(),
            Dtype::F64 => self
                .bytes
                .chunks_exact(8)
                .map(|b| T::from_f64(f64::from_le_slice(b)))
                .collect(),
            other => {
                return Err(Error::msg(format!(
                    "{what}: expected a floating-point tensor, found {}",
                    other.name()
                )))
            }
        };
        Tensor::from_vec(&self.shape, values)
    }

    /// The values of an I64 tensor.
    pub fn to_i64(&self, what: &str) -> Result<Vec<i64>> {
        if self.dtype != Dtype::I64 {
            return Err(Error::msg(format!(
                "{what}: expected an I64 tensor, found {}",
                self.dtype.name()
            )));
        }
        Ok(self
            .bytes
            .chunks_exact(8)
            .map(|b| i64::from_le_bytes(b.try_into().expect("8 bytes")))
            .collect())
    }
}

/// The contents of a safetensors file: string metadata and named tensors, in file order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SafeTensors {
    pub metadata: Vec<(String, String)>,
    pub tensors: Vec<(String, StoredTensor)>,
}

impl SafeTensors {
    pub fn get(&self, name: &str) -> Option<&StoredTensor> {
        self.tensors.iter().find(|(n, _)| n == name).map(|(_, t)| t)
    }

    pub fn meta(&self, key: &str) -> Option<&str> {
        self.metadata
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    pub fn push(&mut self, name: impl Into<String>, tensor: StoredTensor) {
        self.tensors.push((name.into(), tensor));
    }

    /// The file's bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut fields = Vec::new();
        if !self.metadata.is_empty() {
            let meta = self
                .metadata
                .iter()
                .map(|(k, v)| (k.clone(), Json::str(v)))
                .collect();
            fields.push(("__metadata__".to_string(), Json::Object(meta)));
        }
        let mut offset = 0usize;
        for (name, t) in &self.tensors {
            let entry = Json::Object(vec![
                ("dtype".into(), Json::str(t.dtype.name())),
                (
                    "shape".into(),
                    Json::Array(t.shape.iter().map(|&d| Json::Number(d as f64)).collect()),
                ),
                (
                    "data_offsets".into(),
                    Json::Array(vec![
                        Json::Number(offset as f64),
                        Json::Number((offset + t.bytes.len()) as f64),
                    ]),
                ),
            ]);
            fields.push((name.clone(), entry));
            offset += t.bytes.len();
        }
        let mut header = Json::Object(fields).to_text().into_bytes();
        // Pad with spaces so that the data starts 8-byte aligned, as the reference writer does.
        while !header.len().is_multiple_of(8) {
            header.push(b' ');
        }
        let mut out = Vec::with_capacity(8 + header.len() + offset);
        out.extend_from_slice(&(header.len() as u64).to_le_bytes());
        out.extend_from_slice(&header);
        for (_, t) in &self.tensors {
            out.extend_from_slice(&t.bytes);
        }
        out
    }

    /// Parses a file's bytes; `path` is only used in error messages.
    pub fn from_bytes(bytes: &[u8], path: &Path) -> Result<Self> {
        let bad = |expected: &str, found: String| {
            Error::format(path, format!("a safetensors file: {expected}"), found)
        };
        if bytes.len() < 8 {
            return Err(bad(
                "an 8-byte header length",
                format!("a file of {} bytes", bytes.len()),
            ));
        }
        let header_len = u64::from_le_bytes(bytes[..8].try_into().expect("8 bytes"));
        let available = (bytes.len() - 8) as u64;
        if header_len > available || header_len > 100_000_000 {
            return Err(bad(
                "a header that fits in the file",
                format!("a header length of {header_len} bytes with {available} bytes after it (the file is cut short or not safetensors)"),
            ));
        }
        let header_end = 8 + header_len as usize;
        let text = std::str::from_utf8(&bytes[8..header_end])
            .map_err(|_| bad("a UTF-8 JSON header", "bytes that are not UTF-8".into()))?;
        let header = Json::parse(text).map_err(|e| bad("a JSON header", e.to_string()))?;
        let Some(fields) = header.as_object() else {
            return Err(bad("a JSON object as header", "another JSON value".into()));
        };
        let data = &bytes[header_end..];
        let mut out = SafeTensors::default();
        let mut spans = Vec::new();
        for (name, entry) in fields {
            if name == "__metadata__" {
                for (k, v) in entry
                    .as_object()
                    .ok_or_else(|| bad("__metadata__ to be an object", entry.to_text()))?
                {
                    let v = v.as_str().ok_or_else(|| {
                        bad("string metadata values", format!("{k}: {}", v.to_text()))
                    })?;
                    out.metadata.push((k.clone(), v.to_string()));
                }
                continue;
            }
            let field = |key: &str| {
                entry
                    .get(key)
                    .ok_or_else(|| bad(&format!("'{key}' for tensor '{name}'"), entry.to_text()))
            };
            let dtype_name = field("dtype")?.as_str().unwrap_or("");
            let dtype = Dtype::from_name(dtype_name).ok_or_else(|| {
                bad(
                    "dtype F32, F64, I64 or U8",
                    format!("'{dtype_name}' for tensor '{name}'"),
                )
            })?;
            let whole = |j: &Json| j.as_u64().and_then(|x| usize::try_from(x).ok());
            let shape: Option<Vec<usize>> = field("shape")?
                .as_array()
                .map(|dims| dims.iter().map(whole).collect())
                .unwrap_or(None);
            let shape = shape.ok_or_else(|| {
                bad(
                    "a shape of whole numbers",
                    format!(
                        "{} for tensor '{name}'",
                        field("shape").map(Json::to_text).unwrap_or_default()
                    ),
                )
            })?;
            let offsets: Option<Vec<usize>> = field("data_offsets")?
                .as_array()
                .map(|o| o.iter().map(whole).collect())
                .unwrap_or(None);
            let (begin, end) = match offsets.as_deref() {
                Some(&[b, e]) if b <= e && e <= data.len() => (b, e),
                _ => {
                    return Err(bad(
                        &format!(
                            "data_offsets [begin, end] within the {} data bytes",
                            data.len()
                        ),
                        format!(
                            "{} for tensor '{name}' (the file may be cut short)",
                            field("data_offsets")?.to_text()
                        ),
                    ))
                }
            };
            let count = shape.iter().try_fold(1usize, |n, &d| n.checked_mul(d));
            if count.and_then(|c| c.checked_mul(dtype.size())) != Some(end - begin) {
                return Err(bad(
                    &format!(
                        "{} bytes for a {} tensor of shape {shape:?}",
                        count.unwrap_or(0).saturating_mul(dtype.size()),
                        dtype.name()
                    ),
                    format!("{} bytes for tensor '{name}'", end - begin),
                ));
            }
            spans.push((begin, end, name.clone()));
            out.tensors.push((
                name.clone(),
                StoredTensor {
                    dtype,
                    shape,
                    bytes: data[begin..end].to_vec(),
                },
            ));
        }
        // As the reference reader demands: the tensors tile the data part exactly, no gaps, no overlaps.
        spans.sort();
        let mut expected_begin = 0;
        for (begin, end, name) in &spans {
            if *begin != expected_begin {
                return Err(bad(
                    &format!("tensor '{name}' to start at data byte {expected_begin}"),
                    format!("it starts at {begin}"),
                ));
            }
            expected_begin = *end;
        }
        if expected_begin != data.len() {
            return Err(bad(
                &format!("{expected_begin} data bytes after the header"),
                format!("{}", data.len()),
            ));
        }
        Ok(out)
    }

    /// Reads and parses a file.
    pub fn load(path: &Path) -> Result<Self> {
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        Self::from_bytes(&bytes, path)
    }

    /// Writes the file atomically (a crash never leaves a half-written file under `path`).
    pub fn save(&self, path: &Path) -> Result<()> {
        super::write_atomic(path, &self.to_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_layout() {
        let mut st = SafeTensors::default();
        st.metadata.push(("step".into(), "12".into()));
        let w = Tensor::<f32>::from_fn(&[2, 3], |i| i as f32 - 2.5);
        st.push("generator.0.weight", StoredTensor::from_tensor(&w));
        st.push("labels", StoredTensor::from_i64(&[3], &[0, -1, 9]));
        let bytes = st.to_bytes();
        let header_len = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
        assert_eq!(header_len % 8, 0);
        assert_eq!(bytes.len(), 8 + header_len + 24 + 24);
        let back = SafeTensors::from_bytes(&bytes, Path::new("x.safetensors")).unwrap();
        assert_eq!(back, st);
        assert_eq!(
            back.get("generator.0.weight")
                .unwrap()
                .to_tensor::<f32>("w")
                .unwrap(),
            w
        );
        assert_eq!(
            back.get("labels").unwrap().to_i64("labels").unwrap(),
            vec![0, -1, 9]
        );
        assert_eq!(back.meta("step"), Some("12"));
    }

    #[test]
    fn reads_what_the_python_package_writes() {
        // Written by the Python `safetensors` package (0.8.0):
        //   save_file({"a": np.arange(6, dtype=np.float32).reshape(2, 3), "b": np.ones(5)},
        //             "py.safetensors", metadata={"k": "v"})
        // Note that it orders the data by dtype alignment, not by the order of the header.
        let header = r#"{"__metadata__":{"k":"v"},"b":{"dtype":"F64","shape":[5],"data_offsets":[0,40]},"a":{"dtype":"F32","shape":[2,3],"data_offsets":[40,64]}}       "#;
        let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
        bytes.extend_from_slice(header.as_bytes());
        (0..5).for_each(|_| bytes.extend_from_slice(&1.0f64.to_le_bytes()));
        (0..6).for_each(|i| bytes.extend_from_slice(&(i as f32).to_le_bytes()));
        assert_eq!(bytes.len(), 216);
        let st = SafeTensors::from_bytes(&bytes, Path::new("py.safetensors")).unwrap();
        assert_eq!(st.meta("k"), Some("v"));
        let a = st.get("a").unwrap().to_tensor::<f32>("a").unwrap();
        assert_eq!(
            (a.shape(), a.as_slice()),
            (&[2, 3][..], &[0.0, 1.0, 2.0, 3.0, 4.0, 5.0][..])
        );
        assert_eq!(
            st.get("b")
                .unwrap()
                .to_tensor::<f64>("b")
                .unwrap()
                .as_slice(),
            &[1.0; 5]
        );
    }

    #[test]
    fn every_truncation_is_an_error() {
        let mut st = SafeTensors::default();
        st.push(
            "w",
            StoredTensor::from_tensor(&Tensor::<f64>::full(&[4], 1.5)),
        );
        let bytes = st.to_bytes();
        for cut in 0..bytes.len() {
            let err =
                SafeTensors::from_bytes(&bytes[..cut], Path::new("cut.safetensors")).unwrap_err();
            assert!(
                err.to_string()
                    .starts_with("cut.safetensors: expected a safetensors file"),
                "{err}"
            );
        }
    }
}
