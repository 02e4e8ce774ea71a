//! The exercises at the end of each chapter.
//!
//! Every exercise is a function in `src/exercises/chNN_*.rs` whose body is `todo!()` with a hint:
//! that file is the student's. Its worked solution, with the same signature, is in
//! `src/exercises/solutions/`. The default build compiles the solutions, so `cargo test
//! --release` proves that every exercise test can pass; the feature `exercises` compiles the
//! student's files instead:
//!
//! ```text
//! cargo test --release --features exercises --test ch01_noise
//! ```
//!
//! and the exercise tests (named `exercise_*`) fail with a hint until the blank is filled in
//! correctly. The library itself never calls an exercise, so a blank never breaks anything else.

// Each exercise module is declared twice: the student's file under `--features exercises`, the
// worked solution otherwise. Add new chapters in the same pattern.
//
// #[cfg(feature = "exercises")]
// pub mod chNN_topic;
// #[cfg(not(feature = "exercises"))]
// #[path = "solutions/chNN_topic.rs"]
// pub mod chNN_topic;

#[cfg(feature = "exercises")]
pub mod ch00_recipe;
#[cfg(not(feature = "exercises"))]
#[path = "solutions/ch00_recipe.rs"]
pub mod ch00_recipe;

#[cfg(feature = "exercises")]
pub mod ch01_noise;
#[cfg(not(feature = "exercises"))]
#[path = "solutions/ch01_noise.rs"]
pub mod ch01_noise;

#[cfg(feature = "exercises")]
pub mod ch02_gemm;
#[cfg(not(feature = "exercises"))]
#[path = "solutions/ch02_gemm.rs"]
pub mod ch02_gemm;

#[cfg(feature = "exercises")]
pub mod ch03_conv;
#[cfg(not(feature = "exercises"))]
#[path = "solutions/ch03_conv.rs"]
pub mod ch03_conv;

#[cfg(feature = "exercises")]
pub mod ch04_conv_transpose;
#[cfg(not(feature = "exercises"))]
#[path = "solutions/ch04_conv_transpose.rs"]
pub mod ch04_conv_transpose;

#[cfg(feature = "exercises")]
pub mod ch05_blocks;
#[cfg(not(feature = "exercises"))]
#[path = "solutions/ch05_blocks.rs"]
pub mod ch05_blocks;

#[cfg(feature = "exercises")]
pub mod ch06_generator;
#[cfg(not(feature = "exercises"))]
#[path = "solutions/ch06_generator.rs"]
pub mod ch06_generator;

#[cfg(feature = "exercises")]
pub mod ch07_discriminator;
#[cfg(not(feature = "exercises"))]
#[path = "solutions/ch07_discriminator.rs"]
pub mod ch07_discriminator;

#[cfg(feature = "exercises")]
pub mod ch08_minimax;
#[cfg(not(feature = "exercises"))]
#[path = "solutions/ch08_minimax.rs"]
pub mod ch08_minimax;

#[cfg(feature = "exercises")]
pub mod ch09_training;
#[cfg(not(feature = "exercises"))]
#[path = "solutions/ch09_training.rs"]
pub mod ch09_training;

#[cfg(feature = "exercises")]
pub mod ch10_conditional;
#[cfg(not(feature = "exercises"))]
#[path = "solutions/ch10_conditional.rs"]
pub mod ch10_conditional;

#[cfg(feature = "exercises")]
pub mod ch11_files;
#[cfg(not(feature = "exercises"))]
#[path = "solutions/ch11_files.rs"]
pub mod ch11_files;

#[cfg(feature = "exercises")]
pub mod ch12_bootstrap;
#[cfg(not(feature = "exercises"))]
#[path = "solutions/ch12_bootstrap.rs"]
pub mod ch12_bootstrap;

#[cfg(feature = "exercises")]
pub mod ch13_scaling;
#[cfg(not(feature = "exercises"))]
#[path = "solutions/ch13_scaling.rs"]
pub mod ch13_scaling;

#[cfg(feature = "exercises")]
pub mod ch14_watermark;
#[cfg(not(feature = "exercises"))]
#[path = "solutions/ch14_watermark.rs"]
pub mod ch14_watermark;

#[cfg(feature = "exercises")]
pub mod ch14_forensics;
#[cfg(not(feature = "exercises"))]
#[path = "solutions/ch14_forensics.rs"]
pub mod ch14_forensics;
