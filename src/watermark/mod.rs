//! Chapter 14. Watermarks: a key of n bits hidden in every image a generator makes, and read
//! back with a p-value (Fei et al., 2022, "Supervised GAN watermarking for intellectual
//! property protection"; the lecture's figure).
//!
//! ```text
//!   1. train the watermarking network      x, key -> Encoder -> x + residual -> image processing
//!                                                  -> Decoder -> key bits      (train.rs)
//!   2. train G with the frozen decoder      g_loss + beta BCE(Decoder(G(z)), key)    (mark.rs)
//!   3. verify an image                      bits read, matches, binomial p-value (verify.rs)
//! ```
//!
//! | file | what it holds |
//! |---|---|
//! | `binomial.rs` | P(X >= k) for X ~ Binomial(n, p), exact in log space |
//! | `key.rs` | keys of n bits, as hex |
//! | `encoder.rs`, `decoder.rs` | the two halves of the watermarking network |
//! | `processing.rs` | the image-processing layer: noise, blur, shift, quantisation |
//! | `train.rs` | the watermarking network's loss and training loop |
//! | `store.rs` | encoder.safetensors and decoder.safetensors |
//! | `mark.rs` | the watermark term of the generator's loss; the marker of D's real images |
//! | `verify.rs` | per-image bit accuracy, p-value, summary and verdict |
//! | `png.rs` | the images of a PNG (one picture, or a grid's cells) for verification |

pub mod binomial;
pub mod decoder;
pub mod encoder;
pub mod key;
pub mod mark;
pub mod png;
pub mod processing;
pub mod store;
pub mod train;
pub mod verify;

pub use binomial::{binomial_tail, ln_binomial_tail, match_p_value};
pub use decoder::{Decoder, DecoderConfig};
pub use encoder::Encoder;
pub use key::Key;
pub use mark::{
    damaged_watermark_loss, mixed_watermark_loss, watermark_loss, GeneratorMark, RealMarker,
};
pub use processing::{ImageProcessing, Perturbation};
pub use train::{WatermarkConfig, WatermarkStats, WatermarkTrainer};
pub use verify::{summarise, verify, Summary, Verification};
