//! Chapter 5. Optimisers: what "take a gradient step" means in practice.
//!
//! - [`Sgd`] with momentum, the GAN paper's choice ("we used momentum in our experiments");
//! - [`Adam`], DCGAN's choice (lr 2e-4, betas 0.5 and 0.999).
//!
//! Both follow PyTorch's update formulas to the operation, so that a run here and a run there
//! take the same steps. Their state (velocities, moment estimates, step count) can be exported
//! and restored exactly, so that a stopped run resumes bit for bit.

use crate::error::{Error, Result};
use crate::parallel::for_each_task;
use crate::scalar::Real;
use crate::simd::with_avx2;
use crate::tensor::Tensor;
use std::sync::Mutex;

/// Values per task of an optimiser step.
const CHUNK: usize = 1 << 14;

/// One task's part of Adam's step: values, gradients, first and second moments.
type AdamChunk<'a, T> = (&'a mut [T], &'a [T], &'a mut [T], &'a mut [T]);

/// A parameter as an optimiser sees it: its value and its gradient.
pub struct ParamRef<'a, T> {
    pub value: &'a mut Tensor<T>,
    pub grad: &'a Tensor<T>,
}

impl<'a, T> From<crate::layers::sequential::NamedParam<'a, T>> for ParamRef<'a, T> {
    fn from(p: crate::layers::sequential::NamedParam<'a, T>) -> Self {
        ParamRef {
            value: p.value,
            grad: p.grad,
        }
    }
}

impl<'a, T> From<crate::layers::Param<'a, T>> for ParamRef<'a, T> {
    fn from(p: crate::layers::Param<'a, T>) -> Self {
        ParamRef {
            value: p.value,
            grad: p.grad,
        }
    }
}

/// The exported state of an optimiser: a step count and named tensors per parameter.
#[derive(Clone, Debug, PartialEq)]
pub struct OptimizerState<T: Real> {
    pub step: u64,
    /// For parameter i, its state tensors by name (e.g. "exp_avg", "exp_avg_sq").
    pub slots: Vec<Vec<(&'static str, Tensor<T>)>>,
}

/// Something that updates parameters from their gradients.
pub trait Optimizer<T: Real>: Send {
    /// One step: every parameter moves according to its gradient. The parameters must come in the
    /// same order, with the same shapes, at every step.
    fn step(&mut self, params: &mut [ParamRef<'_, T>]);
    fn state(&self) -> OptimizerState<T>;
    /// Restores a state exported by [`Optimizer::state`]; refuses one of another shape.
    fn load_state(&mut self, state: OptimizerState<T>) -> Result<()>;
    fn learning_rate(&self) -> f64;
}

/// Stochastic gradient descent with momentum (PyTorch's form, no dampening):
///
/// ```text
///   v <- mu * v + g        (v = g at the first step)
///   p <- p - lr * v
/// ```
pub struct Sgd<T> {
    pub lr: f64,
    pub momentum: f64,
    step: u64,
    velocity: Vec<Tensor<T>>,
}

impl<T: Real> Sgd<T> {
    pub fn new(lr: f64, momentum: f64) -> Self {
        Sgd {
            lr,
            momentum,
            step: 0,
            velocity: Vec::new(),
        }
    }
}

impl<T: Real> Optimizer<T> for Sgd<T> {
    fn step(&mut self, params: &mut [ParamRef<'_, T>]) {
        let (lr, mu) = (T::from_f64(self.lr), T::from_f64(self.momentum));
        if self.velocity.is_empty() && self.momentum != 0.0 {
            // PyTorch starts the buffer as a copy of the first gradient.
            self.velocity = params.iter().map(|p| p.grad.clone()).collect();
        } else if self.momentum != 0.0 {
            check_count("Sgd", self.velocity.len(), params.len());
            for (v, p) in self.velocity.iter_mut().zip(params.iter()) {
                for (v, &g) in v.as_mut_slice().iter_mut().zip(p.grad.as_slice()) {
                    *v = mu * *v + g;
                }
            }
        }
        for (i, p) in params.iter_mut().enumerate() {
            let direction = if self.momentum != 0.0 {
                &self.velocity[i]
            } else {
                p.grad
            };
            p.value.axpy(-lr, direction);
        }
        self.step += 1;
    }

    fn state(&self) -> OptimizerState<T> {
        OptimizerState {
            step: self.step,
            slots: self
                .velocity
                .iter()
                .map(|v| vec![("momentum_buffer", v.clone())])
                .collect(),
        }
    }

    fn load_state(&mut self, state: OptimizerState<T>) -> Result<()> {
        let mut velocity = Vec::new();
        for slot in state.slots {
            match <[_; 1]>::try_from(slot) {
                Ok([("momentum_buffer", v)]) => velocity.push(v),
                _ => {
                    return Err(Error::msg(
                        "SGD state: expected one 'momentum_buffer' per parameter",
                    ))
                }
            }
        }
        self.velocity = velocity;
        self.step = state.step;
        Ok(())
    }

    fn learning_rate(&self) -> f64 {
        self.lr
    }
}

/// Adam (Kingma and Ba, 2015), in PyTorch's arrangement of the arithmetic:
///
/// ```text
///   m <- b1 * m + (1 - b1) * g                  first moment ("exp_avg")
///   v <- b2 * v + (1 - b2) * g^2                second moment ("exp_avg_sq")
///   p <- p - (lr / (1 - b1^t)) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)
/// ```
pub struct Adam<T> {
    pub lr: f64,
    pub beta1: f64,
    pub beta2: f64,
    pub eps: f64,
    step: u64,
    exp_avg: Vec<Tensor<T>>,
    exp_avg_sq: Vec<Tensor<T>>,
}

impl<T: Real> Adam<T> {
    pub fn new(lr: f64, beta1: f64, beta2: f64) -> Self {
        Adam {
            lr,
            beta1,
            beta2,
            eps: 1e-8,
            step: 0,
            exp_avg: Vec::new(),
            exp_avg_sq: Vec::new(),
        }
    }

    /// DCGAN's settings: lr 2e-4, betas (0.5, 0.999).
    pub fn dcgan() -> Self {
        Self::new(2e-4, 0.5, 0.999)
    }
}

impl<T: Real> Optimizer<T> for Adam<T> {
    fn step(&mut self, params: &mut [ParamRef<'_, T>]) {
        if self.exp_avg.is_empty() {
            self.exp_avg = params
                .iter()
                .map(|p| Tensor::zeros(p.value.shape()))
                .collect();
            self.exp_avg_sq = self.exp_avg.clone();
        }
        check_count("Adam", self.exp_avg.len(), params.len());
        self.step += 1;
        let t = self.step as i32;
        let bias_correction1 = 1.0 - self.beta1.powi(t);
        let bias_correction2_sqrt = (1.0 - self.beta2.powi(t)).sqrt();
        let (b1, b2) = (T::from_f64(self.beta1), T::from_f64(self.beta2));
        let step_size = T::from_f64(self.lr / bias_correction1);
        let (bc2, eps) = (T::from_f64(bias_correction2_sqrt), T::from_f64(self.eps));
        // Every value's update reads and writes only its own slots, so the parameters are cut
        // into fixed chunks for the threads (the same bits on any thread count).
        let chunks: Vec<Mutex<AdamChunk<'_, T>>> = params
            .iter_mut()
            .zip(self.exp_avg.iter_mut().zip(&mut self.exp_avg_sq))
            .flat_map(|(p, (m, v))| {
                p.value
                    .as_mut_slice()
                    .chunks_mut(CHUNK)
                    .zip(p.grad.as_slice().chunks(CHUNK))
                    .zip(m.as_mut_slice().chunks_mut(CHUNK))
                    .zip(v.as_mut_slice().chunks_mut(CHUNK))
                    .map(|(((w, g), m), v)| Mutex::new((w, g, m, v)))
            })
            .collect();
        for_each_task(chunks.len(), |c| {
            let mut chunk = chunks[c].lock().unwrap_or_else(|e| e.into_inner());
            let (w, g, m, v) = &mut *chunk;
            // Square roots and divisions, twice as many per instruction with AVX2.
            with_avx2(|| {
                for (((w, &g), m), v) in w
                    .iter_mut()
                    .zip(g.iter())
                    .zip(m.iter_mut())
                    .zip(v.iter_mut())
                {
                    *m = b1 * *m + (T::ONE - b1) * g;
                    *v = b2 * *v + (T::ONE - b2) * g * g;
                    let denominator = v.sqrt() / bc2 + eps;
                    *w -= step_size * *m / denominator;
                }
            });
        });
    }

    fn state(&self) -> OptimizerState<T> {
        OptimizerState {
            step: self.step,
            slots: self
                .exp_avg
                .iter()
                .zip(&self.exp_avg_sq)
                .map(|(m, v)| vec![("exp_avg", m.clone()), ("exp_avg_sq", v.clone())])
                .collect(),
        }
    }

    fn load_state(&mut self, state: OptimizerState<T>) -> Result<()> {
        let (mut ms, mut vs) = (Vec::new(), Vec::new());
        for slot in state.slots {
            match <[_; 2]>::try_from(slot) {
                Ok([("exp_avg", m), ("exp_avg_sq", v)]) if m.shape() == v.shape() => {
                    ms.push(m);
                    vs.push(v);
                }
                _ => return Err(Error::msg(
                    "Adam state: expected 'exp_avg' and 'exp_avg_sq' of one shape per parameter",
                )),
            }
        }
        self.exp_avg = ms;
        self.exp_avg_sq = vs;
        self.step = state.step;
        Ok(())
    }

    fn learning_rate(&self) -> f64 {
        self.lr
    }
}

#[track_caller]
fn check_count(name: &str, expected: usize, found: usize) {
    assert_eq!(
        expected, found,
        "{name}: the state holds {expected} parameters, the step was given {found}"
    );
}
