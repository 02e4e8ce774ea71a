//! Chapter 11 "Your own data and your own runs": the loader exercise. Proves that a reader of
//! binary PGM images returns what a writer wrote, refuses every kind of damage with an error
//! that names the file, and never panics, whatever the bytes (a property test).

use gan::exercises::ch11_files::read_pgm;
use proptest::prelude::*;
use std::path::Path;

fn pgm(width: usize, height: usize, pixels: &[u8]) -> Vec<u8> {
    let mut bytes = format!("P5\n# written by a test\n{width} {height}\n255\n").into_bytes();
    bytes.extend_from_slice(pixels);
    bytes
}

#[test]
fn exercise_11_1_reads_what_was_written() {
    let pixels: Vec<u8> = (0..12).map(|i| (i * 20) as u8).collect();
    let got = read_pgm(&pgm(4, 3, &pixels), Path::new("a.pgm"));
    assert_eq!(
        got.ok(),
        Some((3, 4, pixels)),
        "exercise 11.1: read_pgm must return (height, width, pixels) of a valid file; a comment line may come after the magic"
    );
}

#[test]
fn exercise_11_1_refuses_damage_with_the_file_name() {
    let good = pgm(4, 3, &[7; 12]);
    let cases: [(&str, Vec<u8>); 5] = [
        ("wrong magic", [b"P6".as_slice(), &good[2..]].concat()),
        ("cut short", good[..good.len() - 1].to_vec()),
        ("one byte too many", [good.as_slice(), &[0]].concat()),
        ("no width", b"P5\n \n".to_vec()),
        ("two bytes per pixel", b"P5 4 3 65535\n".to_vec()),
    ];
    for (what, bytes) in cases {
        match read_pgm(&bytes, Path::new("bad.pgm")) {
            Ok(_) => panic!("exercise 11.1: a file with {what} was accepted"),
            Err(e) => assert!(
                e.to_string().starts_with("bad.pgm: expected"),
                "exercise 11.1: the error for a file with {what} should name the file and say what was expected: {e}"
            ),
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn exercise_11_1_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..64), header in any::<bool>()) {
        // Half the cases start with a plausible header, so that the parser gets past the magic.
        let bytes = if header { [b"P5 3 2 255\n".as_slice(), &bytes].concat() } else { bytes };
        let outcome = std::panic::catch_unwind(|| read_pgm(&bytes, Path::new("fuzz.pgm")).is_ok());
        prop_assert!(outcome.is_ok(), "exercise 11.1: read_pgm panicked on {:?}; every problem must be an Err", bytes);
    }
}
