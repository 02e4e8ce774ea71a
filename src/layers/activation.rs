//! Chapter 5. The activations of DCGAN: ReLU and Tanh in the generator, LeakyReLU in the
//! discriminator, Sigmoid for reading a logit as a probability; and Flatten/Reshape, which only
//! change how a batch is viewed.
//!
//! Each is an element-wise y = f(x), so backward is grad_input = grad_output * f'(x). ReLU and
//! LeakyReLU only need to know which side of 0 each x was on, so they keep one flag per value
//! (a quarter of the memory traffic of a copy of x in f32); Tanh and Sigmoid keep y, because
//! their derivatives are cheapest written in the output: tanh' = 1 - y^2, sigmoid' = y (1 - y).

use super::{pointwise, Layer};
use crate::scalar::Real;
use crate::tensor::Tensor;

/// The logistic function 1 / (1 + e^-x), without overflow for any x.
///
/// For x >= 0, e^-x <= 1 cannot overflow. For x < 0 the same value is written e^x / (1 + e^x),
/// where e^x < 1 cannot overflow either, and for very negative x it underflows gracefully to 0.
pub fn sigmoid<T: Real>(x: T) -> T {
    if x >= T::ZERO {
        T::ONE / (T::ONE + (-x).exp())
    } else {
        let e = x.exp();
        e / (T::ONE + e)
    }
}

/// The tensor a layer saved in forward, or a panic saying that forward came first.
fn saved<'a, T>(saved: &'a Option<Tensor<T>>, layer: &str) -> &'a Tensor<T> {
    saved
        .as_ref()
        .unwrap_or_else(|| panic!("{layer}::backward needs a training-mode forward first"))
}

/// For Tanh and Sigmoid: y = f(x) and, in training mode, y for backward (a clone shares the
/// values, it does not copy them).
fn forward_keeping_output<T: Real>(
    x: &Tensor<T>,
    f: impl Fn(T) -> T + Sync,
    training: bool,
    saved: &mut Option<Tensor<T>>,
) -> Tensor<T> {
    let y = with_shape(x, pointwise::map(x.as_slice(), f));
    *saved = training.then(|| y.clone());
    y
}

/// grad_input[i] = f(grad_output[i], saved[i]), on all threads.
fn backward_map<T: Real>(
    grad_output: &Tensor<T>,
    saved: &Tensor<T>,
    f: impl Fn(T, T) -> T + Sync,
) -> Tensor<T> {
    saved.assert_shape("activation backward: grad_output", grad_output.shape());
    with_shape(
        grad_output,
        pointwise::zip_map(grad_output.as_slice(), saved.as_slice(), f),
    )
}

/// `values` as a tensor of `like`'s shape.
fn with_shape<T: Real>(like: &Tensor<T>, values: Vec<T>) -> Tensor<T> {
    Tensor::from_vec(like.shape(), values).expect("one value per element")
}

/// For ReLU and LeakyReLU: y = f(x) and, in training mode, the flags x > 0 for backward.
fn forward_with_signs<T: Real>(
    x: &Tensor<T>,
    f: impl Fn(T) -> T + Sync,
    training: bool,
    positive: &mut Option<Vec<bool>>,
) -> Tensor<T> {
    let y = if training {
        let (y, signs) = pointwise::map_two(x.as_slice(), f, |v| v > T::ZERO);
        *positive = Some(signs);
        y
    } else {
        *positive = None;
        pointwise::map(x.as_slice(), f)
    };
    with_shape(x, y)
}

/// grad_input[i] = f(grad_output[i], positive[i]), on all threads.
fn backward_with_signs<T: Real>(
    grad_output: &Tensor<T>,
    positive: &Option<Vec<bool>>,
    f: impl Fn(T, bool) -> T + Sync,
    layer: &str,
) -> Tensor<T> {
    let positive = positive
        .as_ref()
        .unwrap_or_else(|| panic!("{layer}::backward needs a training-mode forward first"));
    assert_eq!(
        positive.len(),
        grad_output.len(),
        "{layer}::backward: grad_output {:?} is not the shape of the input",
        grad_output.shape()
    );
    with_shape(
        grad_output,
        pointwise::zip_map(grad_output.as_slice(), positive, f),
    )
}

/// max(0, x).
pub struct ReLU<T> {
    training: bool,
    /// x > 0, per value of the last training-mode input.
    positive: Option<Vec<bool>>,
    _real: std::marker::PhantomData<T>,
}

impl<T: Real> ReLU<T> {
    pub fn new() -> Self {
        ReLU {
            training: true,
            positive: None,
            _real: std::marker::PhantomData,
        }
    }
}

impl<T: Real> Default for ReLU<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: Real> Layer<T> for ReLU<T> {
    fn describe(&self) -> String {
        "ReLU".to_string()
    }
    // x: any shape -> y: the same shape
    fn forward(&mut self, x: &Tensor<T>) -> Tensor<T> {
        let f = |v: T| if v > T::ZERO { v } else { T::ZERO };
        forward_with_signs(x, f, self.training, &mut self.positive)
    }
    // f'(x) = 1 for x > 0, else 0 (PyTorch's choice at x = 0).
    fn backward(&mut self, grad_output: &Tensor<T>) -> Tensor<T> {
        let f = |g: T, positive: bool| if positive { g } else { T::ZERO };
        backward_with_signs(grad_output, &self.positive, f, "ReLU")
    }
    fn set_training(&mut self, training: bool) {
        self.training = training;
    }
}

/// x for x > 0, else negative_slope * x. DCGAN's discriminator uses negative_slope = 0.2.
pub struct LeakyReLU<T> {
    pub negative_slope: T,
    training: bool,
    /// x > 0, per value of the last training-mode input.
    positive: Option<Vec<bool>>,
}

impl<T: Real> LeakyReLU<T> {
    pub fn new(negative_slope: f64) -> Self {
        LeakyReLU {
            negative_slope: T::from_f64(negative_slope),
            training: true,
            positive: None,
        }
    }
}

impl<T: Real> Layer<T> for LeakyReLU<T> {
    fn describe(&self) -> String {
        format!("LeakyReLU({})", self.negative_slope)
    }
    fn forward(&mut self, x: &Tensor<T>) -> Tensor<T> {
        let slope = self.negative_slope;
        let f = move |v: T| if v > T::ZERO { v } else { slope * v };
        forward_with_signs(x, f, self.training, &mut self.positive)
    }
    // f'(x) = 1 for x > 0, else negative_slope.
    fn backward(&mut self, grad_output: &Tensor<T>) -> Tensor<T> {
        let slope = self.negative_slope;
        let f = move |g: T, positive: bool| if positive { g } else { slope * g };
        backward_with_signs(grad_output, &self.positive, f, "LeakyReLU")
    }
    fn set_training(&mut self, training: bool) {
        self.training = training;
    }
}

/// tanh(x), in (-1, 1): the generator's last activation, matching images scaled to [-1, 1].
pub struct Tanh<T> {
    training: bool,
    output: Option<Tensor<T>>,
}

impl<T: Real> Tanh<T> {
    pub fn new() -> Self {
        Tanh {
            training: true,
            output: None,
        }
    }
}

impl<T: Real> Default for Tanh<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: Real> Layer<T> for Tanh<T> {
    fn describe(&self) -> String {
        "Tanh".to_string()
    }
    fn forward(&mut self, x: &Tensor<T>) -> Tensor<T> {
        forward_keeping_output(x, T::tanh_layer, self.training, &mut self.output)
    }
    // f'(x) = 1 - tanh(x)^2 = 1 - y^2.
    fn backward(&mut self, grad_output: &Tensor<T>) -> Tensor<T> {
        let y = saved(&self.output, "Tanh");
        backward_map(grad_output, y, |g, y| g * (T::ONE - y * y))
    }
    fn set_training(&mut self, training: bool) {
        self.training = training;
    }
}

/// sigmoid(x) = 1 / (1 + e^-x), in (0, 1). (D outputs a logit; the loss applies the sigmoid
/// itself, stably, so a discriminator needs this layer only to *show* probabilities.)
pub struct Sigmoid<T> {
    training: bool,
    output: Option<Tensor<T>>,
}

impl<T: Real> Sigmoid<T> {
    pub fn new() -> Self {
        Sigmoid {
            training: true,
            output: None,
        }
    }
}

impl<T: Real> Default for Sigmoid<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: Real> Layer<T> for Sigmoid<T> {
    fn describe(&self) -> String {
        "Sigmoid".to_string()
    }
    fn forward(&mut self, x: &Tensor<T>) -> Tensor<T> {
        forward_keeping_output(x, sigmoid, self.training, &mut self.output)
    }
    // f'(x) = sigmoid(x) (1 - sigmoid(x)) = y (1 - y).
    fn backward(&mut self, grad_output: &Tensor<T>) -> Tensor<T> {
        let y = saved(&self.output, "Sigmoid");
        backward_map(grad_output, y, |g, y| g * y * (T::ONE - y))
    }
    fn set_training(&mut self, training: bool) {
        self.training = training;
    }
}

/// Views each sample under a new shape: [N, ...] -> [N, shape...], as PyTorch's `view`.
///
/// The generator needs it after its first Linear ([N, C*4*4] -> [N, C, 4, 4]); `Flatten`
/// ([N, C, H, W] -> [N, C*H*W]) is the opposite direction. No value changes, so backward only
/// restores the input's shape.
pub struct Reshape {
    /// The shape of one sample after the layer; None flattens it to one dimension.
    sample_shape: Option<Vec<usize>>,
    input_shape: Vec<usize>,
}

impl Reshape {
    /// [N, ...] -> [N, sample_shape...].
    pub fn new(sample_shape: &[usize]) -> Self {
        Reshape {
            sample_shape: Some(sample_shape.to_vec()),
            input_shape: Vec::new(),
        }
    }

    /// [N, d1, d2, ...] -> [N, d1 * d2 * ...], PyTorch's `nn.Flatten()`.
    pub fn flatten() -> Self {
        Reshape {
            sample_shape: None,
            input_shape: Vec::new(),
        }
    }
}

impl<T: Real> Layer<T> for Reshape {
    fn describe(&self) -> String {
        match &self.sample_shape {
            Some(s) => format!("Reshape(N, {s:?})"),
            None => "Flatten".to_string(),
        }
    }
    fn forward(&mut self, x: &Tensor<T>) -> Tensor<T> {
        let n = x.rows();
        let mut shape = vec![n];
        match &self.sample_shape {
            Some(s) => shape.extend_from_slice(s),
            None => shape.push(x.cols()),
        }
        self.input_shape = x.shape().to_vec();
        let describe = <Self as Layer<T>>::describe(self);
        x.clone()
            .reshape(&shape)
            .unwrap_or_else(|e| panic!("{describe}: {e}"))
    }
    fn backward(&mut self, grad_output: &Tensor<T>) -> Tensor<T> {
        let describe = <Self as Layer<T>>::describe(self);
        grad_output
            .clone()
            .reshape(&self.input_shape)
            .unwrap_or_else(|e| panic!("{describe} backward: {e}"))
    }
}
