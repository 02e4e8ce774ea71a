//! Chapter 8: the minimax game.
//!
//! cargo run --release --example ch08_minimax
//!
//! 1. The two generator losses and their gradients as D(G(z)) goes from 0 to 1: the saturation
//!    picture (runs/ch08_generator_losses.svg, runs/ch08_generator_gradients.svg).
//! 2. The optimal discriminator on 1-D Gaussians: a per-bin D and a small MLP trained on
//!    samples, against D*(x) = p_data / (p_data + p_g) (runs/ch08_optimal_discriminator.svg);
//!    the value V(D*, G) against -log 4 + 2 JSD, and -log 4 when p_g = p_data.
//! 3. The reparameterisation z = mu + sigma * eps: d g_loss / d(mu, sigma) through a small G and
//!    D, checked by central differences.

use gan::check::{CheckOptions, Checked};
use gan::gan::loss::{g_loss, grad_d_loss_fake, grad_d_loss_real, grad_g_loss, GeneratorLoss};
use gan::gan::prior::NoisePrior;
use gan::io::svg::{Plot, Series};
use gan::layers::activation::{sigmoid, LeakyReLU};
use gan::layers::linear::Linear;
use gan::layers::sequential::Sequential;
use gan::models::{Discriminator, Generator};
use gan::optim::{Adam, Optimizer, ParamRef};
use gan::rng::Rng;
use gan::stats::{normal_cdf, normal_pdf};
use gan::Tensor;
use std::path::Path;

/// (mean, std) of the data and of the generator's fixed output distribution.
const DATA: (f64, f64) = (0.0, 1.0);
const FAKE: (f64, f64) = (1.0, 0.75);

fn main() -> gan::Result<()> {
    std::fs::create_dir_all("runs").map_err(|e| gan::Error::io(Path::new("runs"), e))?;
    saturation()?;
    optimal_discriminator()?;
    reparameterisation()
}

// ---- 1. saturation --------------------------------------------------------------------------------

fn saturation() -> gan::Result<()> {
    // One fake per logit, so that count = 1 and the gradients are per sample.
    let d_values: Vec<f64> = (1..1000).map(|k| k as f64 / 1000.0).collect();
    let logits: Vec<f64> = d_values.iter().map(|d| (d / (1.0 - d)).ln()).collect();
    let curve = |kind: GeneratorLoss| -> (Vec<f64>, Vec<f64>) {
        logits
            .iter()
            .map(|&l| {
                let t = Tensor::full(&[1, 1, 1, 1], l);
                (g_loss(kind, &t), grad_g_loss(kind, &t)[0])
            })
            .unzip()
    };
    let (mm_loss, mm_grad) = curve(GeneratorLoss::Minimax);
    let (ns_loss, ns_grad) = curve(GeneratorLoss::NonSaturating);

    println!("G's two losses for one fake, and their gradients with respect to D's logit l:");
    println!(
        "  {:>8} {:>8} {:>15} {:>15} {:>15} {:>15}",
        "D(G(z))", "l", "log(1 - D)", "-log D", "minimax grad", "non-sat. grad"
    );
    for d in [0.001, 0.01, 0.1, 0.5, 0.9, 0.99] {
        let i = (d * 1000.0) as usize - 1;
        println!(
            "  {d:>8} {:>8.3} {:>15.4} {:>15.4} {:>15.4} {:>15.4}",
            logits[i], mm_loss[i], ns_loss[i], mm_grad[i], ns_grad[i]
        );
    }
    Plot::new("what G minimises, for one fake")
        .x_label("D(G(z)): D's belief that the fake is real")
        .y_label("generator loss")
        .y_range(-5.0, 5.0)
        .draw(Series::line("minimax: log(1 - D)", &d_values, &mm_loss))
        .draw(Series::line("non-saturating: -log D", &d_values, &ns_loss))
        .save(Path::new("runs/ch08_generator_losses.svg"))?;
    println!("wrote runs/ch08_generator_losses.svg");
    Plot::new("the gradient G receives, d loss / d logit")
        .x_label("D(G(z)): D's belief that the fake is real")
        .y_label("d g_loss / d l")
        .y_range(-1.05, 0.05)
        .draw(Series::line("minimax: -D", &d_values, &mm_grad))
        .draw(Series::line(
            "non-saturating: -(1 - D)",
            &d_values,
            &ns_grad,
        ))
        .save(Path::new("runs/ch08_generator_gradients.svg"))?;
    println!("wrote runs/ch08_generator_gradients.svg");
    println!(
        "  early in training D rejects fakes (left end): the minimax gradient vanishes there, \
         the non-saturating one is -1"
    );
    Ok(())
}

// ---- 2. the optimal discriminator -------------------------------------------------------------------

fn optimal_discriminator() -> gan::Result<()> {
    println!(
        "\nthe optimal discriminator: p_data = N(0, 1), p_g = N(1, 0.75^2), D trained on samples"
    );
    let mut binned = Binned::new(-3.0, 4.0, 0.25);
    let mut mlp = mlp(32, &mut Rng::new(5));
    let mut mlp_opt = Adam::new(2e-3, 0.5, 0.999);
    let mut rng = Rng::new(87);
    let (steps, m) = (3000, 256);
    for t in 0..steps {
        let real: Vec<f64> = (0..m).map(|_| rng.normal(DATA.0, DATA.1)).collect();
        let fake: Vec<f64> = (0..m).map(|_| rng.normal(FAKE.0, FAKE.1)).collect();
        let decay = (0.01f64).powf(t as f64 / steps as f64);
        binned.step(&real, &fake, 0.05 * decay);
        let as_column = |xs: &[f64]| Tensor::from_vec(&[xs.len(), 1], xs.to_vec()).unwrap();
        d_step(
            &mut mlp,
            &mut mlp_opt,
            &as_column(&real),
            &as_column(&fake),
            2e-3 * decay,
        );
        if (t + 1) % 1000 == 0 {
            println!("  step {}", t + 1);
        }
    }

    let trained = binned.probabilities();
    let centres: Vec<f64> = (1..binned.bins() - 1)
        .map(|b| (binned.edges[b - 1] + binned.edges[b]) / 2.0)
        .collect();
    let grid: Vec<f64> = (0..=140).map(|i| -3.0 + i as f64 * 0.05).collect();
    mlp.set_training(false);
    let mlp_d: Vec<f64> = mlp
        .forward(&Tensor::from_vec(&[grid.len(), 1], grid.clone())?)
        .as_slice()
        .iter()
        .map(|&l| sigmoid(l))
        .collect();
    let d_star = |x: f64| density(DATA, x) / (density(DATA, x) + density(FAKE, x));

    println!(
        "  {:>6} {:>8} {:>8} {:>8} {:>9} {:>9}",
        "x", "p_data", "p_g", "D*(x)", "per-bin", "MLP"
    );
    let (mut worst_bin, mut worst_mlp) = (0.0f64, 0.0f64);
    for (b, &x) in centres.iter().enumerate() {
        let g = grid.iter().position(|&v| (v - x).abs() < 0.026).unwrap();
        let (pd, pg) = (density(DATA, x), density(FAKE, x));
        let dense = pd.max(pg) > 0.04; // at least 1% of the mass in a 0.25-wide bin
        if dense {
            worst_bin = worst_bin.max((trained[b + 1] - d_star(x)).abs());
            worst_mlp = worst_mlp.max((mlp_d[g] - d_star(x)).abs());
        }
        if b % 2 == 1 {
            println!(
                "  {x:>6.3} {pd:>8.4} {pg:>8.4} {:>8.4} {:>9.4} {:>9.4}{}",
                d_star(x),
                trained[b + 1],
                mlp_d[g],
                if dense { "" } else { "   (few samples)" }
            );
        }
    }
    println!(
        "  largest |D - D*| where either density is above 0.04: per-bin {worst_bin:.4}, MLP \
         {worst_mlp:.4}"
    );

    // The value at the optimum: -log 4 + 2 JSD(p_data || p_g), by quadrature.
    let (p_data, p_g) = (binned.masses(DATA), binned.masses(FAKE));
    let v_trained = value(&trained, &p_data, &p_g);
    let jsd = jensen_shannon(DATA, FAKE);
    println!(
        "  V(per-bin D, G) = {v_trained:.4}; V(D*, G) = -log 4 + 2 JSD = {:.4} + 2 x {jsd:.4} = \
         {:.4}",
        -(4f64.ln()),
        -(4f64.ln()) + 2.0 * jsd
    );

    let plot = Plot::new("the optimal discriminator D*(x) = p_data / (p_data + p_g)")
        .x_label("x")
        .y_label("probability / density")
        .x_range(-3.0, 4.0)
        .y_range(0.0, 1.02)
        .draw(
            Series::line(
                "p_data = N(0, 1)",
                &grid,
                &grid.iter().map(|&x| density(DATA, x)).collect::<Vec<_>>(),
            )
            .color("#999999"),
        )
        .draw(
            Series::line(
                "p_g = N(1, 0.75^2)",
                &grid,
                &grid.iter().map(|&x| density(FAKE, x)).collect::<Vec<_>>(),
            )
            .color("#e6a0c4"),
        )
        .draw(
            Series::line(
                "D*(x)",
                &grid,
                &grid.iter().map(|&x| d_star(x)).collect::<Vec<_>>(),
            )
            .color("black"),
        )
        .draw(Series::line("MLP D, trained", &grid, &mlp_d).color("#1f77b4"))
        .draw(
            Series::points(
                "per-bin D, trained",
                &centres,
                &trained[1..trained.len() - 1],
            )
            .color("#d62728"),
        );
    plot.save(Path::new("runs/ch08_optimal_discriminator.svg"))?;
    println!("wrote runs/ch08_optimal_discriminator.svg");

    // When G has won, p_g = p_data: D* = 1/2 everywhere and V = -log 4.
    let mut equal = Binned::new(-3.0, 4.0, 0.25);
    let mut rng = Rng::new(88);
    for t in 0..steps {
        let real: Vec<f64> = (0..m).map(|_| rng.normal(DATA.0, DATA.1)).collect();
        let fake: Vec<f64> = (0..m).map(|_| rng.normal(DATA.0, DATA.1)).collect();
        equal.step(&real, &fake, 0.05 * (0.01f64).powf(t as f64 / steps as f64));
    }
    let d = equal.probabilities();
    let masses = equal.masses(DATA);
    println!(
        "  p_g = p_data: D ranges over [{:.4}, {:.4}] where a bin holds 1% of the mass; \
         V = {:.5} (-log 4 = {:.5})",
        (0..d.len())
            .filter(|&b| masses[b] > 0.01)
            .map(|b| d[b])
            .fold(1.0, f64::min),
        (0..d.len())
            .filter(|&b| masses[b] > 0.01)
            .map(|b| d[b])
            .fold(0.0, f64::max),
        value(&d, &masses, &masses),
        -(4f64.ln())
    );
    Ok(())
}

fn density((mean, std): (f64, f64), x: f64) -> f64 {
    normal_pdf((x - mean) / std) / std
}

/// JSD(p || q) = 1/2 KL(p || m) + 1/2 KL(q || m), m = (p + q) / 2, by the midpoint rule.
fn jensen_shannon(p: (f64, f64), q: (f64, f64)) -> f64 {
    let dx = 1e-3;
    (0..20_000)
        .map(|i| {
            let x = -10.0 + (i as f64 + 0.5) * dx;
            let (a, b) = (density(p, x), density(q, x));
            let m = (a + b) / 2.0;
            let term = |u: f64| if u > 0.0 { u * (u / m).ln() } else { 0.0 };
            0.5 * (term(a) + term(b)) * dx
        })
        .sum()
}

/// V(D, G) = E_data log D + E_g log(1 - D), exactly, for a D constant on each bin.
fn value(d: &[f64], data: &[f64], fake: &[f64]) -> f64 {
    (0..d.len())
        .map(|b| data[b] * d[b].ln() + fake[b] * (1.0 - d[b]).ln())
        .sum()
}

/// A D that may be any function on a grid: one free logit per bin, read through a one-hot
/// indicator by `Linear(bins, 1)`. The first and last bins reach to -inf and +inf.
struct Binned {
    edges: Vec<f64>,
    net: Sequential<f64>,
    opt: Adam<f64>,
}

impl Binned {
    fn new(lo: f64, hi: f64, width: f64) -> Self {
        let count = ((hi - lo) / width).round() as usize;
        let edges: Vec<f64> = (0..=count).map(|i| lo + i as f64 * width).collect();
        let bins = edges.len() + 1;
        Binned {
            edges,
            net: Sequential::new("discriminator").with(Linear::new(bins, 1)),
            opt: Adam::new(0.05, 0.5, 0.999),
        }
    }

    fn bins(&self) -> usize {
        self.edges.len() + 1
    }

    fn one_hot(&self, xs: &[f64]) -> Tensor<f64> {
        let bins = self.bins();
        let mut t = Tensor::zeros(&[xs.len(), bins]);
        for (i, &x) in xs.iter().enumerate() {
            t[i * bins + self.edges.partition_point(|&e| e <= x)] = 1.0;
        }
        t
    }

    fn step(&mut self, real: &[f64], fake: &[f64], lr: f64) {
        let (real, fake) = (self.one_hot(real), self.one_hot(fake));
        d_step(&mut self.net, &mut self.opt, &real, &fake, lr);
    }

    fn probabilities(&mut self) -> Vec<f64> {
        let bins = self.bins();
        let all = Tensor::from_fn(&[bins, bins], |k| f64::from(u8::from(k / bins == k % bins)));
        self.net
            .forward(&all)
            .as_slice()
            .iter()
            .map(|&l| sigmoid(l))
            .collect()
    }

    fn masses(&self, (mean, std): (f64, f64)) -> Vec<f64> {
        let cdf = |x: f64| normal_cdf((x - mean) / std);
        let mut bounds = vec![f64::NEG_INFINITY];
        bounds.extend(&self.edges);
        bounds.push(f64::INFINITY);
        bounds.windows(2).map(|w| cdf(w[1]) - cdf(w[0])).collect()
    }
}

/// One discriminator step of Algorithm 1 with G fixed: descend d_loss_real + d_loss_fake.
fn d_step(
    net: &mut Sequential<f64>,
    opt: &mut Adam<f64>,
    real: &Tensor<f64>,
    fake: &Tensor<f64>,
    lr: f64,
) {
    net.zero_grad();
    let real_logits = net.forward(real);
    net.backward(&grad_d_loss_real(&real_logits));
    let fake_logits = net.forward(fake);
    net.backward(&grad_d_loss_fake(&fake_logits));
    opt.lr = lr;
    let mut params: Vec<ParamRef<f64>> =
        net.named_params().into_iter().map(ParamRef::from).collect();
    opt.step(&mut params);
}

/// A small MLP discriminator on the line: 1 -> hidden -> hidden -> 1 logit, with PyTorch's
/// default initialisation (uniform on +-1/sqrt(fan-in)).
fn mlp(hidden: usize, rng: &mut Rng) -> Sequential<f64> {
    let mut linear = |inputs: usize, outputs: usize| {
        let mut layer = Linear::new(inputs, outputs);
        let bound = 1.0 / (inputs as f64).sqrt();
        for w in layer
            .weight
            .as_mut_slice()
            .iter_mut()
            .chain(layer.bias.as_mut_slice())
        {
            *w = rng.uniform_range(-bound, bound);
        }
        layer
    };
    Sequential::new("discriminator")
        .with(linear(1, hidden))
        .with(LeakyReLU::new(0.2))
        .with(linear(hidden, hidden))
        .with(LeakyReLU::new(0.2))
        .with(linear(hidden, 1))
}

// ---- 3. reparameterisation ----------------------------------------------------------------------------

fn reparameterisation() -> gan::Result<()> {
    println!(
        "\nthe reparameterisation z = mu + sigma * eps, through the small fully connected G and D \
         of chapter 9 (points in the plane), in f64:"
    );
    let mut rng = Rng::new(81);
    let mut g = Generator::<f64>::mlp_2d(3, 16, &mut rng);
    let mut d = Discriminator::<f64>::mlp_2d(16, &mut rng);
    let mut prior = NoisePrior::<f64>::new(3, 1.0, true);
    prior.mu = Tensor::from_vec(&[3], vec![0.3, -0.2, 0.1])?;
    prior.sigma = Tensor::from_vec(&[3], vec![0.8, 1.3, 1.1])?;
    let (z, eps) = prior.sample(&mut Rng::new(86), 4);
    let kind = GeneratorLoss::NonSaturating;

    // Forward: z -> G -> D -> g_loss. Backward: D hands dL/d(image) to G, G hands dL/dz to the
    // prior, and the prior turns it into dL/dmu = sum dL/dz and dL/dsigma = sum dL/dz * eps.
    let logits = d.forward(&g.forward(&z, None), None);
    let grad_fake = d.backward(&grad_g_loss(kind, &logits));
    let grad_z = g.backward(&grad_fake);
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
    print!("{report}");
    Ok(())
}
