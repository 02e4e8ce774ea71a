//! Chapters 3-5. Layers with hand-written backpropagation.
//!
//! Every layer keeps, in `forward`, what its `backward` needs, and `backward` returns the
//! gradient with respect to the layer's input while *accumulating* (+=) the gradients of its
//! parameters, so that a gradient can be summed over several passes before an optimiser step;
//! [`Layer::zero_grad`] resets them. All layers are generic over f32 (training) and f64
//! (gradient checks), work on NCHW batches, and use PyTorch's weight layouts and names.

use crate::scalar::Real;
use crate::tensor::Tensor;

/// A learnable tensor of a layer, with its gradient, named as in PyTorch ("weight", "bias").
pub struct Param<'a, T> {
    pub name: &'static str,
    pub value: &'a mut Tensor<T>,
    pub grad: &'a mut Tensor<T>,
}

/// One step of a network: y = f(x; parameters).
pub trait Layer<T: Real>: Send {
    /// A short description for tables and error messages, e.g. "Conv2d(3, 64, k4, s2, p1)".
    fn describe(&self) -> String;

    /// x -> y. In training mode, keeps what `backward` needs.
    fn forward(&mut self, x: &Tensor<T>) -> Tensor<T>;

    /// dL/dy -> dL/dx, adding dL/d(parameter) into each parameter's gradient.
    /// Must follow a training-mode `forward` on the same input.
    fn backward(&mut self, grad_output: &Tensor<T>) -> Tensor<T>;

    /// The backward pass when the parameters are frozen (D during G's step): only dL/dx.
    /// Parameter gradients may be left untouched, since nobody reads them. By default, the
    /// full pass.
    fn backward_input_only(&mut self, grad_output: &Tensor<T>) -> Tensor<T> {
        self.backward(grad_output)
    }

    /// The backward pass when nobody needs dL/dx (a first layer fed by data or noise): only the
    /// parameter gradients. By default, the full pass with its input gradient thrown away.
    fn backward_params_only(&mut self, grad_output: &Tensor<T>) {
        self.backward(grad_output);
    }

    /// Multiply-adds of one forward pass on an input of `input_shape` (for the bench's FLOP
    /// counts: 0 for layers that are not products, such as activations and BatchNorm).
    fn multiply_adds(&self, _input_shape: &[usize]) -> u64 {
        0
    }

    /// The learnable parameters with their gradients (none by default).
    fn params(&mut self) -> Vec<Param<'_, T>> {
        Vec::new()
    }

    /// State that is saved with the model but not learned by gradients, such as BatchNorm's
    /// running statistics ("running_mean", "running_var"), named as in PyTorch.
    fn buffers(&mut self) -> Vec<(&'static str, &mut Tensor<T>)> {
        Vec::new()
    }

    /// Training mode (the default) or evaluation mode, as PyTorch's `train()` / `eval()`.
    fn set_training(&mut self, _training: bool) {}

    /// Sets every parameter gradient to zero.
    fn zero_grad(&mut self) {
        for p in self.params() {
            p.grad.fill(T::ZERO);
        }
    }
}

// Chapter 5: ReLU, LeakyReLU, Tanh, Sigmoid, Reshape/Flatten.
pub mod activation;
// Chapter 5: BatchNorm2d / BatchNorm1d, train and eval.
pub mod batch_norm;
// Chapters 5 and 13: its per-channel sums, with AVX2 beside the plain loops.
mod channel_sums;
// Chapter 5: y = x W^T + b.
pub mod linear;
// Chapter 5: binary cross-entropy on logits, stable for any logit.
pub mod loss;
pub mod pointwise;
// Chapter 5: a network as a list of layers, with PyTorch's parameter names.
pub mod sequential;
// Chapter 3: Conv2d, im2col + GEMM, with the direct-loop reference.
pub mod conv;
// Chapter 4: ConvTranspose2d, the adjoint of Conv2d.
pub mod conv_transpose;
// Chapters 3-4: im2col and col2im, shared by both.
mod im2col;
