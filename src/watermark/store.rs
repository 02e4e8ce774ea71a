//! Chapter 14. The watermarking network on disk: `encoder.safetensors` and
//! `decoder.safetensors`, PyTorch's parameter names (`decoder.0.weight`, ...), and in the
//! metadata what the network reads, so that a decoder for another image size, channel count
//! or key length is refused with a clear error instead of a wrong answer.
//!
//! ```text
//!   decoder.safetensors   format "gan-watermark-decoder-1", image_size, channels, bits, width
//!   encoder.safetensors   format "gan-watermark-encoder-1", channels, image_size, bits, hidden,
//!                         strength
//! ```

use super::decoder::{Decoder, DecoderConfig};
use super::encoder::Encoder;
use crate::error::{Error, Result};
use crate::io::safetensors::{SafeTensors, StoredTensor};
use crate::layers::sequential::Sequential;
use crate::rng::Rng;
use crate::scalar::Real;
use std::path::Path;

pub const DECODER_FORMAT: &str = "gan-watermark-decoder-1";
pub const ENCODER_FORMAT: &str = "gan-watermark-encoder-1";

pub fn save_decoder<T: Real>(decoder: &mut Decoder<T>, path: &Path) -> Result<()> {
    let c = decoder.config;
    let mut st = SafeTensors::default();
    for (key, value) in [
        ("format", DECODER_FORMAT.to_string()),
        ("image_size", c.image_size.to_string()),
        ("channels", c.channels.to_string()),
        ("bits", c.bits.to_string()),
        ("width", c.width.to_string()),
    ] {
        st.metadata.push((key.into(), value));
    }
    push_params(&mut st, &mut decoder.net);
    st.save(path)
}

pub fn load_decoder<T: Real>(path: &Path) -> Result<Decoder<T>> {
    let st = SafeTensors::load(path)?;
    check_format(&st, path, DECODER_FORMAT, "a watermark decoder")?;
    let config = DecoderConfig {
        image_size: number(&st, path, "image_size")?,
        channels: number(&st, path, "channels")?,
        bits: number(&st, path, "bits")?,
        width: number(&st, path, "width")?,
    };
    let mut decoder = Decoder::new(config, &mut Rng::new(0))
        .map_err(|e| Error::format(path, "a valid decoder configuration", e.to_string()))?;
    restore_params(&st, path, &mut decoder.net)?;
    Ok(decoder)
}

pub fn save_encoder<T: Real>(encoder: &mut Encoder<T>, path: &Path) -> Result<()> {
    let mut st = SafeTensors::default();
    for (key, value) in [
        ("format", ENCODER_FORMAT.to_string()),
        ("channels", encoder.channels.to_string()),
        ("image_size", encoder.image_size.to_string()),
        ("bits", encoder.bits.to_string()),
        ("hidden", encoder.hidden.to_string()),
        ("strength", encoder.strength.to_string()),
    ] {
        st.metadata.push((key.into(), value));
    }
    push_params(&mut st, &mut encoder.key_net);
    push_params(&mut st, &mut encoder.net);
    st.save(path)
}

pub fn load_encoder<T: Real>(path: &Path) -> Result<Encoder<T>> {
    let st = SafeTensors::load(path)?;
    check_format(&st, path, ENCODER_FORMAT, "a watermark encoder")?;
    let strength: f64 = st
        .meta("strength")
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| Error::format(path, "a 'strength' entry", "none"))?;
    let mut encoder = Encoder::new(
        number(&st, path, "channels")?,
        number(&st, path, "image_size")?,
        number(&st, path, "bits")?,
        number(&st, path, "hidden")?,
        strength,
        &mut Rng::new(0),
    );
    restore_params(&st, path, &mut encoder.key_net)?;
    restore_params(&st, path, &mut encoder.net)?;
    Ok(encoder)
}

fn check_format(st: &SafeTensors, path: &Path, format: &str, what: &str) -> Result<()> {
    if st.meta("format") == Some(format) {
        return Ok(());
    }
    Err(Error::format(
        path,
        format!("{what} (format '{format}')"),
        format!("format {:?}", st.meta("format")),
    ))
}

fn number(st: &SafeTensors, path: &Path, key: &str) -> Result<usize> {
    st.meta(key).and_then(|s| s.parse().ok()).ok_or_else(|| {
        Error::format(
            path,
            format!("a whole number '{key}' in the metadata"),
            "none",
        )
    })
}

fn push_params<T: Real>(st: &mut SafeTensors, net: &mut Sequential<T>) {
    for p in net.named_params() {
        st.push(p.name, StoredTensor::from_tensor(p.value));
    }
}

fn restore_params<T: Real>(st: &SafeTensors, path: &Path, net: &mut Sequential<T>) -> Result<()> {
    for p in net.named_params() {
        let stored = st
            .get(&p.name)
            .ok_or_else(|| Error::format(path, format!("a tensor '{}'", p.name), "none"))?;
        let t = stored.to_tensor::<T>(&p.name)?;
        if t.shape() != p.value.shape() {
            return Err(Error::format(
                path,
                format!("'{}' of shape {:?}", p.name, p.value.shape()),
                format!("shape {:?}", t.shape()),
            ));
        }
        *p.value = t;
    }
    Ok(())
}
