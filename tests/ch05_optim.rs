//! Chapter 5 "Building blocks": optimisers and composition. Proves that SGD with momentum and
//! Adam take exactly PyTorch's steps (checked against hand-computed values and Adam's closed-form
//! first step), that their state round-trips exactly (a resumed optimiser continues bit for bit),
//! and that a `Sequential` runs backward in exact reverse and names parameters as PyTorch does.

use gan::layers::sequential::Sequential;
use gan::layers::{Layer, Param};
use gan::optim::{Adam, Optimizer, ParamRef, Sgd};
use gan::Tensor;

fn tensor(values: &[f64]) -> Tensor<f64> {
    Tensor::from_vec(&[values.len()], values.to_vec()).unwrap()
}

#[test]
fn sgd_with_momentum_matches_hand_computed_steps() {
    // lr 0.1, momentum 0.9, gradients 1, 2, 3 in turn on one weight starting at 0:
    // v1 = 1, p1 = -0.1; v2 = 0.9 + 2 = 2.9, p2 = -0.39; v3 = 2.61 + 3 = 5.61, p3 = -0.951.
    let mut p = tensor(&[0.0]);
    let mut sgd = Sgd::new(0.1, 0.9);
    let expected = [-0.1, -0.39, -0.951];
    for (g, want) in [1.0, 2.0, 3.0].iter().zip(expected) {
        let g = tensor(&[*g]);
        sgd.step(&mut [ParamRef {
            value: &mut p,
            grad: &g,
        }]);
        assert!(
            (p[0] - want).abs() < 1e-15,
            "SGD: expected {want}, found {}",
            p[0]
        );
    }
    // Without momentum it is plain gradient descent.
    let mut q = tensor(&[1.0]);
    let mut plain = Sgd::new(0.5, 0.0);
    plain.step(&mut [ParamRef {
        value: &mut q,
        grad: &tensor(&[4.0]),
    }]);
    assert_eq!(q[0], -1.0);
}

#[test]
fn adam_first_step_is_lr_times_the_sign_of_the_gradient() {
    // After one step m_hat = g and sqrt(v_hat) = |g|, so p1 = p0 - lr * g / (|g| + eps).
    let g = tensor(&[3.0, -0.25, 1e-3]);
    let mut p = tensor(&[1.0, 1.0, 1.0]);
    let mut adam = Adam::new(0.01, 0.5, 0.999);
    adam.step(&mut [ParamRef {
        value: &mut p,
        grad: &g,
    }]);
    for i in 0..3 {
        let want = 1.0 - 0.01 * g[i] / (g[i].abs() + 1e-8);
        assert!(
            (p[i] - want).abs() < 1e-14,
            "Adam step 1, coordinate {i}: expected {want}, found {}",
            p[i]
        );
    }
}

#[test]
fn adam_second_step_matches_the_formula() {
    // Gradients 2 then 4, lr 0.1, betas (0.5, 0.999), eps 1e-8, starting at 0.
    let mut p = tensor(&[0.0]);
    let mut adam = Adam::new(0.1, 0.5, 0.999);
    adam.step(&mut [ParamRef {
        value: &mut p,
        grad: &tensor(&[2.0]),
    }]);
    adam.step(&mut [ParamRef {
        value: &mut p,
        grad: &tensor(&[4.0]),
    }]);
    let (m, v) = (
        0.5 * (0.5 * 2.0) + 0.5 * 4.0,
        0.999 * (0.001 * 4.0) + 0.001 * 16.0,
    );
    let step2 = (0.1 / (1.0 - 0.25)) * m / (f64::sqrt(v) / (1.0 - 0.999f64.powi(2)).sqrt() + 1e-8);
    let want = -0.1 * 2.0 / (2.0 + 1e-8) - step2;
    assert!(
        (p[0] - want).abs() < 1e-14,
        "expected {want}, found {}",
        p[0]
    );
}

#[test]
fn adam_minimises_a_quadratic() {
    // L = sum (p - target)^2, gradient 2 (p - target).
    let target = tensor(&[3.0, -2.0, 0.5]);
    let mut p = tensor(&[0.0, 0.0, 0.0]);
    let mut adam = Adam::new(0.05, 0.9, 0.999);
    for _ in 0..2000 {
        let g = p.zip_map(&target, |a, b| 2.0 * (a - b));
        adam.step(&mut [ParamRef {
            value: &mut p,
            grad: &g,
        }]);
    }
    assert!(p.max_abs_diff(&target) < 1e-3, "Adam ended at {p:?}");
}

fn run_steps(opt: &mut dyn Optimizer<f32>, p: &mut Tensor<f32>, from: usize, to: usize) {
    for s in from..to {
        let g = Tensor::from_fn(p.shape(), |i| ((i * 7 + s * 13) % 11) as f32 / 11.0 - 0.4);
        opt.step(&mut [ParamRef { value: p, grad: &g }]);
    }
}

#[test]
fn a_restored_optimiser_continues_bit_for_bit() {
    type Make = fn() -> Box<dyn Optimizer<f32>>;
    let fresh: [Make; 2] = [|| Box::new(Adam::dcgan()), || Box::new(Sgd::new(0.01, 0.9))];
    for make in fresh {
        let mut straight = make();
        let mut p_straight = Tensor::<f32>::full(&[5], 0.3);
        run_steps(straight.as_mut(), &mut p_straight, 0, 10);

        let mut first = make();
        let mut p_resumed = Tensor::<f32>::full(&[5], 0.3);
        run_steps(first.as_mut(), &mut p_resumed, 0, 5);
        let mut second = make();
        second.load_state(first.state()).unwrap();
        run_steps(second.as_mut(), &mut p_resumed, 5, 10);

        assert_eq!(p_straight, p_resumed, "resume changed the trajectory");
        assert_eq!(straight.state(), second.state());
    }
}

#[test]
fn a_state_of_the_wrong_kind_is_refused() {
    let mut sgd = Sgd::<f32>::new(0.1, 0.9);
    let mut p = Tensor::<f32>::zeros(&[2]);
    run_steps(&mut sgd, &mut p, 0, 1);
    let mut adam = Adam::<f32>::dcgan();
    let err = adam.load_state(sgd.state()).unwrap_err();
    assert!(err.to_string().contains("exp_avg"), "{err}");
}

/// A layer that multiplies by a learnable scalar and logs the order of calls.
struct Scale {
    weight: Tensor<f64>,
    grad_weight: Tensor<f64>,
    input: Option<Tensor<f64>>,
    log: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    id: usize,
}

impl Layer<f64> for Scale {
    fn describe(&self) -> String {
        format!("Scale({})", self.weight[0])
    }
    fn forward(&mut self, x: &Tensor<f64>) -> Tensor<f64> {
        self.log
            .lock()
            .unwrap()
            .push(format!("forward {}", self.id));
        self.input = Some(x.clone());
        x.map(|v| v * self.weight[0])
    }
    fn backward(&mut self, grad_output: &Tensor<f64>) -> Tensor<f64> {
        self.log
            .lock()
            .unwrap()
            .push(format!("backward {}", self.id));
        let x = self.input.as_ref().expect("backward before forward");
        self.grad_weight[0] += grad_output.dot(x);
        grad_output.map(|g| g * self.weight[0])
    }
    fn params(&mut self) -> Vec<Param<'_, f64>> {
        vec![Param {
            name: "weight",
            value: &mut self.weight,
            grad: &mut self.grad_weight,
        }]
    }
}

#[test]
fn sequential_runs_backward_in_reverse_and_names_like_pytorch() {
    let log = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let scale = |id: usize, w: f64| Scale {
        weight: tensor(&[w]),
        grad_weight: tensor(&[0.0]),
        input: None,
        log: log.clone(),
        id,
    };
    let mut net = Sequential::new("generator")
        .with(scale(0, 2.0))
        .with(scale(1, 3.0))
        .with(scale(2, -1.0));
    let x = tensor(&[1.0, 2.0]);
    let y = net.forward(&x);
    assert_eq!(y.as_slice(), &[-6.0, -12.0]);
    let grad_x = net.backward(&tensor(&[1.0, 1.0]));
    assert_eq!(grad_x.as_slice(), &[-6.0, -6.0]);
    assert_eq!(
        *log.lock().unwrap(),
        [
            "forward 0",
            "forward 1",
            "forward 2",
            "backward 2",
            "backward 1",
            "backward 0"
        ]
    );
    let names: Vec<String> = net.named_params().into_iter().map(|p| p.name).collect();
    assert_eq!(
        names,
        [
            "generator.0.weight",
            "generator.1.weight",
            "generator.2.weight"
        ]
    );
    // L = sum(y) = w0 w1 w2 sum(x) with sum(x) = 3: dL/dw0 = w1 w2 3 = -9, dL/dw1 = -6, dL/dw2 = 18.
    let grads: Vec<f64> = net.named_params().into_iter().map(|p| p.grad[0]).collect();
    assert_eq!(grads, [-9.0, -6.0, 18.0]);
    net.zero_grad();
    assert!(net.named_params().iter().all(|p| p.grad[0] == 0.0));
}
