//! Chapter 11 "Your own data and your own runs": the checkpoint format and its JSON header.
//! Proves, with property tests, that the safetensors reader and the JSON parser never panic on
//! arbitrary or damaged bytes, and that they read back exactly what their writers wrote.

use gan::io::json::Json;
use gan::io::safetensors::{SafeTensors, StoredTensor};
use gan::Tensor;
use proptest::prelude::*;
use std::path::Path;

fn json_value() -> impl Strategy<Value = Json> {
    let leaf = prop_oneof![
        Just(Json::Null),
        any::<bool>().prop_map(Json::Bool),
        (-1e12f64..1e12).prop_map(Json::Number),
        "[ -~\\n\\t\"\\\\é]{0,12}".prop_map(Json::String),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Json::Array),
            proptest::collection::vec(("[a-z_.0-9]{0,8}", inner), 0..6).prop_map(Json::Object),
        ]
    })
}

/// A small checkpoint-like file: f32, f64 and i64 tensors of random shapes, and metadata.
fn safetensors_file() -> impl Strategy<Value = SafeTensors> {
    let tensor = (
        proptest::collection::vec(1usize..4, 0..3),
        0u8..3,
        any::<u64>(),
    )
        .prop_map(|(shape, kind, seed)| {
            let n: usize = shape.iter().product();
            let value =
                |i: usize| ((seed as usize).wrapping_add(i * 7919) % 1000) as f64 / 100.0 - 5.0;
            match kind {
                0 => {
                    StoredTensor::from_tensor(&Tensor::<f32>::from_fn(&shape, |i| value(i) as f32))
                }
                1 => StoredTensor::from_tensor(&Tensor::<f64>::from_fn(&shape, value)),
                _ => StoredTensor::from_i64(
                    &shape,
                    &(0..n).map(|i| value(i) as i64).collect::<Vec<_>>(),
                ),
            }
        });
    (
        proptest::collection::vec(tensor, 0..5),
        proptest::collection::vec(("[a-z]{1,6}", "[ -~]{0,10}"), 0..3),
    )
        .prop_map(|(tensors, meta)| {
            let mut st = SafeTensors::default();
            for (i, t) in tensors.into_iter().enumerate() {
                st.push(format!("net.{i}.weight"), t);
            }
            st.metadata = meta;
            st.metadata.dedup_by(|a, b| a.0 == b.0);
            st
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn json_round_trips(value in json_value()) {
        prop_assert_eq!(Json::parse(&value.to_text()).unwrap(), value.clone());
        prop_assert_eq!(Json::parse(&value.to_pretty()).unwrap(), value);
    }

    #[test]
    fn json_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..80)) {
        let text = String::from_utf8_lossy(&bytes);
        let _ = Json::parse(&text);
    }

    #[test]
    fn json_never_panics_on_damaged_documents(value in json_value(), cut in any::<prop::sample::Index>(), flip in any::<prop::sample::Index>(), byte in any::<u8>()) {
        let text = value.to_text().into_bytes();
        let mut damaged = text[..cut.index(text.len() + 1)].to_vec();
        if !damaged.is_empty() {
            let at = flip.index(damaged.len());
            damaged[at] = byte;
        }
        let _ = Json::parse(&String::from_utf8_lossy(&damaged));
    }

    #[test]
    fn safetensors_round_trips(file in safetensors_file()) {
        let back = SafeTensors::from_bytes(&file.to_bytes(), Path::new("p.safetensors")).unwrap();
        prop_assert_eq!(back, file);
    }

    #[test]
    fn safetensors_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..120)) {
        let _ = SafeTensors::from_bytes(&bytes, Path::new("fuzz.safetensors"));
    }

    #[test]
    fn safetensors_never_panics_on_damaged_files(file in safetensors_file(), cut in any::<prop::sample::Index>(), flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..4)) {
        let bytes = file.to_bytes();
        let mut damaged = bytes[..cut.index(bytes.len() + 1)].to_vec();
        for (at, byte) in flips {
            if !damaged.is_empty() {
                let i = at.index(damaged.len());
                damaged[i] = byte;
            }
        }
        if let Err(e) = SafeTensors::from_bytes(&damaged, Path::new("bad.safetensors")) {
            prop_assert!(e.to_string().starts_with("bad.safetensors: expected"), "{}", e);
        }
    }
}
