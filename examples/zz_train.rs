use gan::data::Dataset;
use gan::gan::train::{TrainConfig, Trainer, TrainingData};
use gan::io::png::{image_grid, save_png};
use gan::rng::{noise, Rng};
use std::time::Instant;
fn main() {
    let steps: usize = std::env::args()
        .nth(1)
        .map(|s| s.parse().unwrap())
        .unwrap_or(300);
    let t0 = Instant::now();
    let data = Dataset::builtin("digits", 60000, 1).unwrap();
    println!("data {:.2}s", t0.elapsed().as_secs_f64());
    let config = TrainConfig {
        steps,
        ..TrainConfig::default()
    };
    let mut tr = Trainer::<f32>::new(config, TrainingData::Images(data)).unwrap();
    let eps = noise::<f32>(&mut Rng::new(99), 100, 100, 1.0);
    let labels: Vec<usize> = (0..100).map(|i| i / 10).collect();
    let t = Instant::now();
    for s in 0..steps {
        let st = tr.train_step();
        if s % 50 == 0 || s + 1 == steps {
            println!(
                "step {} d_loss {:.3} g_loss {:.3} D(x) {:.3} D(G(z)) {:.3}  {:.3}s/step",
                st.step,
                st.d_loss,
                st.g_loss,
                st.d_x,
                st.d_g_z,
                t.elapsed().as_secs_f64() / (s + 1) as f64
            );
        }
    }
    let x = tr.sample(&eps, Some(&labels));
    let (w, h, c, px) = image_grid(&x, 10);
    save_png("/tmp/scratch/samples.png", w, h, c, &px).unwrap();
}
