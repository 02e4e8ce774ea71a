//! Chapter 12. What the classifier's predicted classes say about generated images.
//!
//! - **Conditional accuracy**: a class-conditional generator asked for class y should draw an
//!   image the classifier calls y. The fraction that it does measures whether G listens to the
//!   label (it says nothing about how varied or realistic the images are).
//! - **Class coverage and entropy**: over many samples, how the predicted classes are spread. A
//!   generator that collapsed onto a few modes gives a few classes almost all the samples: few
//!   classes covered, entropy far below log2 K. A generator asked for every class in equal
//!   numbers (or an unconditional one on balanced data) should come close to log2 K.

/// The fraction of samples whose predicted class is the class they were asked for.
pub fn conditional_accuracy(predicted: &[usize], asked: &[usize]) -> f64 {
    assert_eq!(
        predicted.len(),
        asked.len(),
        "conditional_accuracy: {} predictions for {} requested labels",
        predicted.len(),
        asked.len()
    );
    let right = predicted.iter().zip(asked).filter(|(p, a)| p == a).count();
    right as f64 / predicted.len().max(1) as f64
}

/// How the predicted classes of a set of samples are spread over the K classes.
#[derive(Clone, Debug, PartialEq)]
pub struct ClassSpread {
    /// Samples per predicted class: [K].
    pub counts: Vec<usize>,
    /// Classes that got at least a quarter of their fair share n / K.
    pub covered: usize,
    /// covered / K.
    pub coverage: f64,
    /// The entropy of the predicted-class frequencies, in bits (at most log2 K).
    pub entropy_bits: f64,
}

/// Counts, coverage and entropy of `predicted` (each in 0..classes).
pub fn class_spread(predicted: &[usize], classes: usize) -> ClassSpread {
    let mut counts = vec![0usize; classes];
    for &p in predicted {
        assert!(
            p < classes,
            "class_spread: class {p} is not below {classes}"
        );
        counts[p] += 1;
    }
    let n = predicted.len() as f64;
    let fair_quarter = n / classes.max(1) as f64 / 4.0;
    let covered = counts
        .iter()
        .filter(|&&c| c > 0 && c as f64 >= fair_quarter)
        .count();
    let entropy_bits = counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = c as f64 / n;
            p * (1.0 / p).log2()
        })
        .sum();
    ClassSpread {
        counts,
        covered,
        coverage: covered as f64 / classes.max(1) as f64,
        entropy_bits,
    }
}
