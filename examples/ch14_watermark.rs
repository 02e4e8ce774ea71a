use gan::data::Dataset;
use gan::watermark::*;
use std::time::Instant;
fn main() {
    let data = Dataset::builtin("digits", 4000, 5).unwrap();
    let steps: usize = std::env::args().nth(1).map(|s| s.parse().unwrap()).unwrap_or(300);
    let mut t = WatermarkTrainer::<f32>::new(WatermarkConfig { steps, lambda: std::env::args().nth(2).map(|s| s.parse().unwrap()).unwrap_or(0.0), perturb: std::env::args().nth(3).is_some(), ..Default::default() }, data).unwrap();
    let start = Instant::now();
    for s in 0..steps {
        let st = t.train_step();
        if s % 25 == 0 || s + 1 == steps {
            println!("{s} {:.2}s loss {:.4} bce {:.4} mse {:.5} clean {:.4} acc {:.3}", start.elapsed().as_secs_f64(), st.loss, st.bce, st.mse, st.clean_bce, st.bit_accuracy);
        }
    }
}
