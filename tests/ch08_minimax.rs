//! Chapter 8, "The minimax game": the losses of D and G and the gradients that train them.
//! Proves that the losses equal their closed forms (logit 0 gives ln 2; D = 1/2 everywhere gives
//! the value -log 4); the saturation argument in numbers (where D rejects a fake confidently the
//! minimax gradient vanishes like D(G(z)) while the non-saturating one stays near -1/count);
//! end to end in f64, that the gradient of g_loss (both kinds) with respect to G's parameters,
//! flowing back through a frozen D, agrees with central differences, as does the gradient of
//! d_loss with respect to D's parameters; that a discriminator trained on samples of 1-D
//! Gaussians approaches the optimal D*(x) = p_data / (p_data + p_g), with value -log 4 when
//! p_g = p_data; and that the reparameterisation z = mu + sigma * eps gives the right d/dmu and
//! d/dsigma through G.
//! The `exercise_*` tests check exercises 8.1 and 8.2; run them on your own code with
//! `cargo test --release --features exercises --test ch08_minimax -- exercise_`.

use gan::check::{grad_check, set_params, CheckOptions, Checked, GradCheckReport};
use gan::exercises::ch08_minimax::{grad_g_loss_minimax, optimal_discriminator};
use gan::gan::loss::{
    d_loss_fake, d_loss_real, g_loss, grad_d_loss_fake, grad_d_loss_real, grad_g_loss,
    GeneratorLoss,
};
use gan::gan::prior::NoisePrior;
use gan::layers::activation::sigmoid;
use gan::layers::linear::Linear;
use gan::layers::sequential::Sequential;
use gan::models::{Discriminator, DiscriminatorConfig, Generator, GeneratorConfig};
use gan::optim::{Adam, Optimizer, ParamRef};
use gan::rng::{noise, Rng};
use gan::stats::{normal_cdf, normal_pdf};
use gan::Tensor;

const LN_2: f64 = std::f64::consts::LN_2;
const KINDS: [GeneratorLoss; 2] = [GeneratorLoss::Minimax, GeneratorLoss::NonSaturating];

// ---- the losses --------------------------------------------------------------------------------

#[test]
fn losses_match_their_closed_forms() {
    // D(x) = sigmoid(0) = 1/2: every loss is ln 2 in size, and the value J' + J is -log 4.
    let undecided = Tensor::<f64>::zeros(&[5, 1, 1, 1]);
    assert!((d_loss_real(&undecided) - LN_2).abs() < 1e-15);
    assert!((d_loss_fake(&undecided) - LN_2).abs() < 1e-15);
    assert!((g_loss(GeneratorLoss::Minimax, &undecided) + LN_2).abs() < 1e-15);
    assert!((g_loss(GeneratorLoss::NonSaturating, &undecided) - LN_2).abs() < 1e-15);
    let value = -(d_loss_real(&undecided) + d_loss_fake(&undecided));
    assert!((value + 4f64.ln()).abs() < 1e-15, "V = -log 4 at D = 1/2");

    // Any logits, any shape (a PatchGAN grid is averaged over every logit): the lecture's
    // J' = log D(x'), J = log(1 - D(G(z))), written out with D = sigmoid(l).
    let logits = Tensor::from_fn(&[2, 1, 3, 3], |i| -4.0 + i as f64 * 0.47);
    let mean = |f: &dyn Fn(f64) -> f64| logits.as_slice().iter().map(|&l| f(l)).sum::<f64>() / 18.0;
    let log_d = mean(&|l| sigmoid(l).ln());
    let log_one_minus_d = mean(&|l| (1.0 - sigmoid(l)).ln());
    let close = |a: f64, b: f64, what: &str| assert!((a - b).abs() < 1e-14, "{what}: {a} vs {b}");
    close(d_loss_real(&logits), -log_d, "d_loss_real = -J'");
    close(d_loss_fake(&logits), -log_one_minus_d, "d_loss_fake = -J");
    close(
        g_loss(GeneratorLoss::Minimax, &logits),
        log_one_minus_d,
        "minimax g_loss = J",
    );
    close(
        g_loss(GeneratorLoss::NonSaturating, &logits),
        -log_d,
        "non-saturating = -log D",
    );

    // Their gradients with respect to each logit.
    let check = |what: &str, grad: Tensor<f64>, expected: &dyn Fn(f64) -> f64| {
        for (g, &l) in grad.as_slice().iter().zip(logits.as_slice()) {
            assert!(
                (g - expected(l) / 18.0).abs() < 1e-16,
                "{what} at logit {l}"
            );
        }
    };
    check("grad_d_loss_real", grad_d_loss_real(&logits), &|l| {
        sigmoid(l) - 1.0
    });
    check("grad_d_loss_fake", grad_d_loss_fake(&logits), &|l| {
        sigmoid(l)
    });
    check(
        "minimax",
        grad_g_loss(GeneratorLoss::Minimax, &logits),
        &|l| -sigmoid(l),
    );
    check(
        "non-saturating",
        grad_g_loss(GeneratorLoss::NonSaturating, &logits),
        &|l| sigmoid(l) - 1.0,
    );
}

#[test]
fn loss_gradients_pass_the_gradient_check() {
    let logits = Tensor::from_fn(&[3, 1, 2, 2], |i| 6.0 * (0.9 * i as f64 + 0.2).sin());
    let mut worst = 0.0f64;
    let mut check = |name: &str, grad: Tensor<f64>, loss: &dyn Fn(&Tensor<f64>) -> f64| {
        let report = grad_check(
            &[name],
            &mut [logits.clone()],
            &[grad],
            |v| loss(&v[0]),
            &CheckOptions::default(),
        );
        report.assert_below(1e-6);
        worst = worst.max(report.worst_rel_error());
    };
    check("d_loss_real", grad_d_loss_real(&logits), &|l| {
        d_loss_real(l)
    });
    check("d_loss_fake", grad_d_loss_fake(&logits), &|l| {
        d_loss_fake(l)
    });
    for kind in KINDS {
        check(kind.name(), grad_g_loss(kind, &logits), &|l| {
            g_loss(kind, l)
        });
    }
    println!("worst relative error of the four loss gradients: {worst:.2e}");
}

#[test]
fn the_minimax_generator_loss_saturates_and_the_non_saturating_one_does_not() {
    let count = 8;
    println!(
        "{:>8} {:>12} {:>16} {:>16}",
        "logit", "D(G(z))", "minimax grad", "non-sat. grad"
    );
    for l in [-2.0, -5.0, -10.0, -20.0] {
        let logits = Tensor::<f64>::full(&[count, 1, 1, 1], l);
        let minimax = grad_g_loss(GeneratorLoss::Minimax, &logits)[0];
        let non_saturating = grad_g_loss(GeneratorLoss::NonSaturating, &logits)[0];
        println!(
            "{l:>8} {:>12.3e} {minimax:>16.3e} {non_saturating:>16.3e}",
            sigmoid(l)
        );
        // Both push the logit up (descending a negative gradient raises l)...
        assert!(minimax < 0.0 && non_saturating < 0.0);
        // ... but the minimax push is D(G(z)) / count, the other (1 - D(G(z))) / count, and
        // their ratio is exactly e^-l: 22,026 at l = -10.
        assert!((minimax.abs() - sigmoid(l) / count as f64).abs() < 1e-18);
        assert!((non_saturating.abs() * count as f64 - (1.0 - sigmoid(l))).abs() < 1e-15);
        let ratio = non_saturating / minimax;
        assert!(
            (ratio / (-l).exp() - 1.0).abs() < 1e-12,
            "ratio {ratio} at l = {l}"
        );
    }
    // At D(G(z)) near 0 (l = -10): the minimax gradient is tiny, the non-saturating one ~1/count.
    let confident = Tensor::<f64>::full(&[count, 1, 1, 1], -10.0);
    assert!(grad_g_loss(GeneratorLoss::Minimax, &confident)[0].abs() < 1e-5);
    assert!((grad_g_loss(GeneratorLoss::NonSaturating, &confident)[0] + 1.0 / 8.0).abs() < 1e-5);

    // In f32 too: small but not zero, and the non-saturating gradient exactly -1/count at -20.
    let confident = Tensor::<f32>::full(&[count, 1, 1, 1], -20.0);
    let minimax = grad_g_loss(GeneratorLoss::Minimax, &confident)[0];
    assert!(minimax < 0.0 && minimax > -1e-9);
    assert_eq!(
        grad_g_loss(GeneratorLoss::NonSaturating, &confident)[0],
        -0.125
    );
}

// ---- end to end: through both networks ----------------------------------------------------------

/// Tiny players (8 x 8 images) in f64. Their convolution weights are widened for clean central
/// differences: G's hidden ones as in tests/ch06_generator.rs, and all of D's, its last one too,
/// so that D's logits are O(1) and respond to the images (at DCGAN's 0.02 D hardly looks at its
/// input yet, every gradient reaching G is ~1e-5, and the check would measure rounding noise).
fn tiny_players(classes: usize, patch: bool) -> (Generator<f64>, Discriminator<f64>) {
    let mut rng = Rng::new(81);
    let mut g = Generator::new(
        GeneratorConfig {
            nz: 3,
            ngf: 2,
            image_size: 8,
            channels: 1,
            classes,
        },
        &mut rng,
    )
    .unwrap();
    let mut d = Discriminator::new(
        DiscriminatorConfig {
            ndf: 2,
            image_size: 8,
            channels: 1,
            classes,
            patch,
        },
        &mut rng,
    )
    .unwrap();
    widen_weights(&mut g.net, true);
    widen_weights(&mut d.net, true);
    (g, d)
}

/// Multiplies convolution weights by 10: every one, or all but the last.
fn widen_weights(net: &mut Sequential<f64>, last_too: bool) {
    let mut weights: Vec<_> = net
        .named_params()
        .into_iter()
        .filter(|p| p.value.shape().len() == 4)
        .collect();
    if !last_too {
        weights.pop();
    }
    for w in weights {
        w.value.scale(10.0);
    }
}

fn params_of(net: &mut Sequential<f64>) -> Vec<Tensor<f64>> {
    net.named_params()
        .into_iter()
        .map(|p| p.value.clone())
        .collect()
}

/// G's step, as Algorithm 1 takes it: the gradient of g_loss(D(G(z))) with respect to z and
/// to G's parameters, through D (in training mode, its parameters fixed).
fn g_step_gradients(
    kind: GeneratorLoss,
    g: &mut Generator<f64>,
    d: &mut Discriminator<f64>,
    z: &Tensor<f64>,
    labels: Option<&[usize]>,
) -> Tensor<f64> {
    let fake = g.forward(z, labels);
    let logits = d.forward(&fake, labels);
    // D runs backward only to hand dL/d(image) to G.
    let grad_fake = d.backward(&grad_g_loss(kind, &logits));
    g.net.zero_grad();
    g.backward(&grad_fake)
}

fn check_g_step(kind: GeneratorLoss, classes: usize, patch: bool) -> GradCheckReport {
    let (mut g, mut d) = tiny_players(classes, patch);
    let n = 3;
    let z = noise::<f64>(&mut Rng::new(82), n, 3, 1.0);
    let labels: Option<Vec<usize>> = (classes > 0).then(|| (0..n).map(|i| i % classes).collect());
    let d_before = params_of(&mut d.net);
    let grad_z = g_step_gradients(kind, &mut g, &mut d, &z, labels.as_deref());
    let report = Checked::new()
        .tensor("z", z, grad_z)
        .network(&mut g.net)
        .run(
            |v| {
                set_params(&mut g.net, &v[1..]);
                let fake = g.forward(&v[0], labels.as_deref());
                g_loss(kind, &d.forward(&fake, labels.as_deref()))
            },
            &CheckOptions::default(),
        );
    assert_eq!(
        params_of(&mut d.net),
        d_before,
        "D is frozen during G's step"
    );
    println!(
        "g_loss {} through a frozen {} D{}:\n{report}",
        kind.name(),
        if patch { "PatchGAN" } else { "DCGAN" },
        if classes > 0 { ", conditional" } else { "" }
    );
    report
}

#[test]
fn g_loss_gradient_through_a_frozen_discriminator_passes_the_gradient_check() {
    let mut worst = 0.0f64;
    for kind in KINDS {
        for (classes, patch) in [(0, false), (0, true), (3, false)] {
            let report = check_g_step(kind, classes, patch);
            report.assert_below(1e-6);
            worst = worst.max(report.worst_rel_error());
        }
    }
    println!("worst relative error over the six G steps: {worst:.2e}");
}

#[test]
fn the_gradient_check_catches_the_discriminators_fake_gradient_used_for_g() {
    // A classic slip: G's step reuses D's gradient on the fakes, grad_d_loss_fake = sigmoid(l) /
    // count. That is the gradient of -J, so descending it *raises* J: G would help D.
    let (mut g, mut d) = tiny_players(0, false);
    let z = noise::<f64>(&mut Rng::new(83), 3, 3, 1.0);
    let fake = g.forward(&z, None);
    let logits = d.forward(&fake, None);
    let grad_fake = d.backward(&grad_d_loss_fake(&logits));
    g.net.zero_grad();
    let grad_z = g.backward(&grad_fake);
    let report = Checked::new()
        .tensor("z", z, grad_z)
        .network(&mut g.net)
        .run(
            |v| {
                set_params(&mut g.net, &v[1..]);
                g_loss(
                    GeneratorLoss::Minimax,
                    &d.forward(&g.forward(&v[0], None), None),
                )
            },
            &CheckOptions::default(),
        );
    println!("{report}");
    assert!(
        report.worst_rel_error() > 1.9,
        "the sign is wrong everywhere: relative error 2"
    );
}

#[test]
fn d_loss_gradient_passes_the_gradient_check() {
    let mut worst = 0.0f64;
    for (classes, patch) in [(0, false), (0, true), (3, true)] {
        let (mut g, mut d) = tiny_players(classes, patch);
        let n = 3;
        let labels: Option<Vec<usize>> =
            (classes > 0).then(|| (0..n).map(|i| (i + 1) % classes).collect());
        let real = noise::<f64>(&mut Rng::new(84), n, 64, 0.5)
            .map(f64::tanh)
            .reshape(&[n, 1, 8, 8])
            .unwrap();
        // D's step: G's images are data. G runs forward only.
        let z = noise::<f64>(&mut Rng::new(85), n, 3, 1.0);
        let fake = g.forward(&z, labels.as_deref());
        d.net.zero_grad();
        let real_logits = d.forward(&real, labels.as_deref());
        d.backward(&grad_d_loss_real(&real_logits));
        let fake_logits = d.forward(&fake, labels.as_deref());
        d.backward(&grad_d_loss_fake(&fake_logits));
        let report = Checked::new().network(&mut d.net).run(
            |v| {
                set_params(&mut d.net, v);
                // Two forward passes, as in the step: each batch normalised by its own statistics.
                d_loss_real(&d.forward(&real, labels.as_deref()))
                    + d_loss_fake(&d.forward(&fake, labels.as_deref()))
            },
            &CheckOptions::default(),
        );
        println!("d_loss, patch {patch}, {classes} classes:\n{report}");
        report.assert_below(1e-6);
        worst = worst.max(report.worst_rel_error());
        assert!(
            g.net.named_params().iter().all(|p| p.grad.max_abs() == 0.0),
            "G gets no gradient in D's step"
        );
    }
    println!("worst relative error over the three D steps: {worst:.2e}");
}

#[test]
fn reparameterisation_gradients_pass_the_gradient_check() {
    // z = mu + sigma * eps with eps ~ N(0, I) drawn once: mu and sigma get gradients through G
    // (and D), eps needs none.
    let (mut g, mut d) = tiny_players(0, false);
    let mut prior = NoisePrior::<f64>::new(3, 1.0, true);
    prior.mu = Tensor::from_vec(&[3], vec![0.3, -0.2, 0.1]).unwrap();
    prior.sigma = Tensor::from_vec(&[3], vec![0.8, 1.3, 1.1]).unwrap();
    let (_, eps) = prior.sample(&mut Rng::new(86), 4);
    let mut worst = 0.0f64;
    for kind in KINDS {
        prior.zero_grad();
        let z = prior.reparameterise(&eps);
        let grad_z = g_step_gradients(kind, &mut g, &mut d, &z, None);
        prior.backward(&grad_z, &eps);
        let report = Checked::new()
            .tensor("mu", prior.mu.clone(), prior.grad_mu.clone())
            .tensor("sigma", prior.sigma.clone(), prior.grad_sigma.clone())
            .run(
                |v| {
                    prior.mu = v[0].clone();
                    prior.sigma = v[1].clone();
                    let fake = g.forward(&prior.reparameterise(&eps), None);
                    g_loss(kind, &d.forward(&fake, None))
                },
                &CheckOptions::default(),
            );
        println!("d g_loss ({}) / d(mu, sigma):\n{report}", kind.name());
        report.assert_below(1e-6);
        worst = worst.max(report.worst_rel_error());
    }
    println!("worst relative error: {worst:.2e}");
}

// ---- the optimal discriminator on 1-D data ------------------------------------------------------

/// Two 1-D Gaussians, (mean, std): the data and the generator's fixed output distribution.
const DATA: (f64, f64) = (0.0, 1.0);
const FAKE: (f64, f64) = (1.0, 0.75);

/// A discriminator on the real line that may be any function: one free logit per bin. The
/// edges e_0 < ... < e_B-1 cut the line into B + 1 bins (the first and last reach to -inf and
/// +inf); D reads a one-hot bin indicator through `Linear(B + 1, 1)`.
///
/// Why this D: the derivation of D* maximises the value separately at each x, assuming D can be
/// any function. A per-bin D is that assumption on a grid, so its optimum is exactly the
/// derivation's answer for the binned distributions, D_b = P_data(b) / (P_data(b) + P_g(b)),
/// and whatever gap remains to D*(x) is sampling noise and the width of a bin, nothing about
/// what a network can represent.
struct BinnedDiscriminator {
    edges: Vec<f64>,
    net: Sequential<f64>,
    opt: Adam<f64>,
}

impl BinnedDiscriminator {
    fn new(lo: f64, hi: f64, width: f64) -> Self {
        let count = ((hi - lo) / width).round() as usize;
        let edges: Vec<f64> = (0..=count).map(|i| lo + i as f64 * width).collect();
        let bins = edges.len() + 1;
        BinnedDiscriminator {
            edges,
            net: Sequential::new("discriminator").with(Linear::new(bins, 1)),
            opt: Adam::new(0.05, 0.5, 0.999),
        }
    }

    fn bins(&self) -> usize {
        self.edges.len() + 1
    }

    /// xs: N points -> one-hot rows [N, bins].
    fn one_hot(&self, xs: &[f64]) -> Tensor<f64> {
        let bins = self.bins();
        let mut t = Tensor::zeros(&[xs.len(), bins]);
        for (i, &x) in xs.iter().enumerate() {
            t[i * bins + self.edges.partition_point(|&e| e <= x)] = 1.0;
        }
        t
    }

    /// One step of D on fresh samples, as in Algorithm 1: descend d_loss_real + d_loss_fake.
    fn step(&mut self, real: &[f64], fake: &[f64], lr: f64) {
        let (real, fake) = (self.one_hot(real), self.one_hot(fake));
        self.net.zero_grad();
        let real_logits = self.net.forward(&real);
        self.net.backward(&grad_d_loss_real(&real_logits));
        let fake_logits = self.net.forward(&fake);
        self.net.backward(&grad_d_loss_fake(&fake_logits));
        self.opt.lr = lr;
        let mut params: Vec<ParamRef<f64>> = self
            .net
            .named_params()
            .into_iter()
            .map(ParamRef::from)
            .collect();
        self.opt.step(&mut params);
    }

    /// D in every bin: sigmoid(w_b + bias).
    fn probabilities(&mut self) -> Vec<f64> {
        let all = Tensor::from_fn(&[self.bins(), self.bins()], |k| {
            f64::from(u8::from(k / self.bins() == k % self.bins()))
        });
        self.net
            .forward(&all)
            .as_slice()
            .iter()
            .map(|&l| sigmoid(l))
            .collect()
    }

    /// The probability a Gaussian (mean, std) puts in each bin.
    fn masses(&self, (mean, std): (f64, f64)) -> Vec<f64> {
        let cdf = |x: f64| normal_cdf((x - mean) / std);
        let mut bounds = vec![f64::NEG_INFINITY];
        bounds.extend(&self.edges);
        bounds.push(f64::INFINITY);
        bounds.windows(2).map(|w| cdf(w[1]) - cdf(w[0])).collect()
    }
}

/// Trains a per-bin D to convergence on samples: 3000 steps of 256 real and 256 fake points,
/// the learning rate falling from 0.05 to 0.0005 so that the last steps average out the noise.
fn train_binned(fake: (f64, f64), seed: u64) -> BinnedDiscriminator {
    let mut d = BinnedDiscriminator::new(-3.0, 4.0, 0.25);
    let mut rng = Rng::new(seed);
    let (steps, m) = (3000, 256);
    for t in 0..steps {
        let real: Vec<f64> = (0..m).map(|_| rng.normal(DATA.0, DATA.1)).collect();
        let fakes: Vec<f64> = (0..m).map(|_| rng.normal(fake.0, fake.1)).collect();
        let lr = 0.05 * (0.01f64).powf(t as f64 / steps as f64);
        d.step(&real, &fakes, lr);
    }
    d
}

fn density((mean, std): (f64, f64), x: f64) -> f64 {
    normal_pdf((x - mean) / std) / std
}

/// V(D, G) = E_data log D + E_g log(1 - D), exactly, for a D that is constant on each bin.
fn value(d: &[f64], data: &[f64], fake: &[f64]) -> f64 {
    (0..d.len())
        .map(|b| data[b] * d[b].ln() + fake[b] * (1.0 - d[b]).ln())
        .sum()
}

#[test]
fn a_trained_discriminator_approaches_the_optimal_one() {
    let mut d = train_binned(FAKE, 87);
    let trained = d.probabilities();
    let (p_data, p_g) = (d.masses(DATA), d.masses(FAKE));
    let (mut worst_binned, mut worst_formula) = (0.0f64, 0.0f64);
    println!(
        "{:>6} {:>9} {:>9} {:>9} {:>9}",
        "x", "p_data", "p_g", "D*(x)", "trained"
    );
    for b in 1..d.bins() - 1 {
        let x = (d.edges[b - 1] + d.edges[b]) / 2.0;
        let (pd, pg) = (density(DATA, x), density(FAKE, x));
        // Compare where a bin holds at least 1% of either distribution's mass: elsewhere D
        // sees too few samples to learn anything, and it does not matter to V either.
        if p_data[b].max(p_g[b]) < 0.01 {
            continue;
        }
        let d_star = pd / (pd + pg);
        let binned = p_data[b] / (p_data[b] + p_g[b]);
        println!(
            "{x:>6.3} {pd:>9.4} {pg:>9.4} {d_star:>9.4} {:>9.4}",
            trained[b]
        );
        worst_binned = worst_binned.max((trained[b] - binned).abs());
        worst_formula = worst_formula.max((trained[b] - d_star).abs());
    }
    println!(
        "largest |trained D - D*|: {worst_formula:.4} (D* at the bin's centre), \
         {worst_binned:.4} (the bin's own optimum)"
    );
    assert!(worst_binned < 0.02, "{worst_binned}");
    assert!(worst_formula < 0.02, "{worst_formula}");

    // The value at this D is close to the best a per-bin D can reach, -log 4 + 2 JSD of the
    // binned distributions, which is above -log 4 since p_g != p_data.
    let best: Vec<f64> = (0..d.bins())
        .map(|b| p_data[b] / (p_data[b] + p_g[b]))
        .collect();
    let (v_trained, v_best) = (value(&trained, &p_data, &p_g), value(&best, &p_data, &p_g));
    println!(
        "V(trained D, G) = {v_trained:.5}, V(D*, G) = {v_best:.5}, -log 4 = {:.5}",
        -(4f64.ln())
    );
    assert!(v_trained <= v_best + 1e-12 && v_best - v_trained < 2e-3);
    assert!(v_best > -(4f64.ln()) + 0.1);
}

#[test]
fn the_value_at_the_optimum_is_minus_log_4_when_the_generator_matches_the_data() {
    let mut d = train_binned(DATA, 88);
    let trained = d.probabilities();
    let masses = d.masses(DATA);
    let v = value(&trained, &masses, &masses);
    let worst = (0..d.bins())
        .filter(|&b| masses[b] > 0.01)
        .map(|b| (trained[b] - 0.5).abs())
        .fold(0.0, f64::max);
    println!(
        "p_g = p_data: largest |D - 1/2| = {worst:.4}, V = {v:.6}, -log 4 = {:.6}",
        -(4f64.ln())
    );
    assert!(worst < 0.02, "D* = 1/2 everywhere: {worst}");
    // V(D, G) <= -log 4 for every D when p_g = p_data, with equality only at D = 1/2.
    assert!(v <= -(4f64.ln()) && v > -(4f64.ln()) - 1e-3, "{v}");
}

// ---- exercises ---------------------------------------------------------------------------------

#[test]
fn exercise_grad_g_loss_minimax_passes_the_gradient_check() {
    for shape in [vec![4, 1, 1, 1], vec![2, 1, 3, 3]] {
        let logits = Tensor::from_fn(&shape, |i| 6.0 * (1.3 * i as f64 + 0.4).sin());
        let yours = grad_g_loss_minimax(&logits);
        assert_eq!(yours.shape(), logits.shape(), "one gradient per logit");
        let report = grad_check(
            &["logits"],
            &mut [logits.clone()],
            &[yours],
            |v| g_loss(GeneratorLoss::Minimax, &v[0]),
            &CheckOptions::default(),
        );
        assert!(
            report.worst_rel_error() < 1e-6,
            "grad_g_loss_minimax disagrees with central differences of \
             g_loss(Minimax) = mean log(1 - sigmoid(l)) for logits of shape {shape:?}:\n{report}\
             Look at the sign (log(1 - D) falls as D rises), at sigmoid'(l) = sigmoid(l) (1 - \
             sigmoid(l)), and at the 1 / count of the mean."
        );
    }
    // It saturates: at l = -30 the gradient is e^-30 / count, tiny but not 0 or NaN.
    let far = Tensor::<f32>::full(&[2, 1, 1, 1], -30.0);
    let g = grad_g_loss_minimax(&far)[0];
    assert!(
        g < 0.0 && (g / (-30f32).exp() * 2.0 + 1.0).abs() < 1e-5,
        "at logit -30 (D(G(z)) = 9.4e-14) the gradient should be -sigmoid(-30) / 2, found {g}: \
         compute it from sigmoid(l), which is accurate there, not from 1 - sigmoid(-l)"
    );
}

#[test]
fn exercise_optimal_discriminator() {
    for (a, b, expected) in [
        (1.0, 1.0, 0.5),
        (3.0, 1.0, 0.75),
        (0.2, 0.6, 0.25),
        (0.0, 2.0, 0.0),
    ] {
        let yours = optimal_discriminator(a, b);
        assert!(
            (yours - expected).abs() < 1e-15,
            "optimal_discriminator(p_data {a}, p_g {b}) = {yours}, expected {expected}: maximise \
             p_data log y + p_g log(1 - y) over y"
        );
    }
    assert_eq!(
        optimal_discriminator(0.0, 0.0),
        0.5,
        "no mass at x: any D is optimal; say 1/2"
    );
    // It is the maximiser: no y on a fine grid does better.
    for (a, b) in [(0.3, 0.1), (0.05, 0.4), (1.7, 1.1)] {
        let f = |y: f64| a * y.ln() + b * (1.0 - y).ln();
        let best = f(optimal_discriminator(a, b));
        for k in 1..1000 {
            let y = k as f64 / 1000.0;
            assert!(
                f(y) <= best + 1e-15,
                "D = {y} beats yours at p_data {a}, p_g {b}"
            );
        }
    }
    // And a discriminator trained on samples lands on it (the chapter's experiment).
    let mut d = train_binned(FAKE, 87);
    let trained = d.probabilities();
    let (p_data, p_g) = (d.masses(DATA), d.masses(FAKE));
    for b in 1..d.bins() - 1 {
        if p_data[b].max(p_g[b]) >= 0.01 {
            let x = (d.edges[b - 1] + d.edges[b]) / 2.0;
            let yours = optimal_discriminator(density(DATA, x), density(FAKE, x));
            assert!(
                (trained[b] - yours).abs() < 0.02,
                "at x = {x}: trained {}, yours {yours}",
                trained[b]
            );
        }
    }
}
