//! Chapter 5. A network as a list of layers: forward in order, backward in exact reverse.
//!
//! Parameters get stable names, `<network>.<index>.<parameter>` (e.g. `generator.3.weight`), the
//! names PyTorch gives the same `nn.Sequential`, so a checkpoint written here loads there.

use super::{Layer, Param};
use crate::scalar::Real;
use crate::tensor::Tensor;

pub struct Sequential<T: Real> {
    /// The prefix of every parameter name, e.g. "generator".
    pub name: String,
    layers: Vec<Box<dyn Layer<T>>>,
}

/// A parameter with its full name, e.g. "discriminator.0.weight".
pub struct NamedParam<'a, T> {
    pub name: String,
    pub value: &'a mut Tensor<T>,
    pub grad: &'a mut Tensor<T>,
}

impl<T: Real> Sequential<T> {
    pub fn new(name: impl Into<String>) -> Self {
        Sequential {
            name: name.into(),
            layers: Vec::new(),
        }
    }

    /// Appends a layer (builder style).
    pub fn with(mut self, layer: impl Layer<T> + 'static) -> Self {
        self.layers.push(Box::new(layer));
        self
    }

    pub fn push(&mut self, layer: Box<dyn Layer<T>>) {
        self.layers.push(layer);
    }

    pub fn len(&self) -> usize {
        self.layers.len()
    }

    pub fn is_empty(&self) -> bool {
        self.layers.is_empty()
    }

    pub fn layers(&self) -> &[Box<dyn Layer<T>>] {
        &self.layers
    }

    pub fn layers_mut(&mut self) -> &mut [Box<dyn Layer<T>>] {
        &mut self.layers
    }

    /// x -> layer 0 -> layer 1 -> ... -> y.
    pub fn forward(&mut self, x: &Tensor<T>) -> Tensor<T> {
        let mut layers = self.layers.iter_mut();
        let Some(first) = layers.next() else {
            return x.clone();
        };
        layers.fold(first.forward(x), |h, layer| layer.forward(&h))
    }

    /// dL/dy -> ... -> layer 1 -> layer 0 -> dL/dx: the layers' backward passes in exact reverse.
    pub fn backward(&mut self, grad_output: &Tensor<T>) -> Tensor<T> {
        let mut layers = self.layers.iter_mut().rev();
        let Some(last) = layers.next() else {
            return grad_output.clone();
        };
        layers.fold(last.backward(grad_output), |g, layer| layer.backward(&g))
    }

    /// Every parameter, in order, with its full name.
    pub fn named_params(&mut self) -> Vec<NamedParam<'_, T>> {
        let prefix = &self.name;
        self.layers
            .iter_mut()
            .enumerate()
            .flat_map(|(i, layer)| {
                layer.params().into_iter().map(move |p| NamedParam {
                    name: format!("{prefix}.{i}.{}", p.name),
                    value: p.value,
                    grad: p.grad,
                })
            })
            .collect()
    }

    /// Every buffer (e.g. BatchNorm running statistics), in order, with its full name.
    pub fn named_buffers(&mut self) -> Vec<(String, &mut Tensor<T>)> {
        let prefix = &self.name;
        self.layers
            .iter_mut()
            .enumerate()
            .flat_map(|(i, layer)| {
                layer
                    .buffers()
                    .into_iter()
                    .map(move |(name, t)| (format!("{prefix}.{i}.{name}"), t))
            })
            .collect()
    }

    /// The number of learnable values.
    pub fn param_count(&mut self) -> usize {
        self.named_params().iter().map(|p| p.value.len()).sum()
    }

    pub fn set_training(&mut self, training: bool) {
        self.layers
            .iter_mut()
            .for_each(|l| l.set_training(training));
    }

    pub fn zero_grad(&mut self) {
        self.layers.iter_mut().for_each(|l| l.zero_grad());
    }

    /// One line per layer, for `--help`-style summaries and chapter tables.
    pub fn describe(&self) -> String {
        self.layers
            .iter()
            .enumerate()
            .map(|(i, l)| format!("{}.{i}: {}", self.name, l.describe()))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// A Sequential is itself a layer, so networks nest.
impl<T: Real> Layer<T> for Sequential<T> {
    fn describe(&self) -> String {
        format!("Sequential({} layers)", self.layers.len())
    }
    fn forward(&mut self, x: &Tensor<T>) -> Tensor<T> {
        Sequential::forward(self, x)
    }
    fn backward(&mut self, grad_output: &Tensor<T>) -> Tensor<T> {
        Sequential::backward(self, grad_output)
    }
    fn params(&mut self) -> Vec<Param<'_, T>> {
        // Nested parameters keep their own short names; use `named_params` for full names.
        self.layers.iter_mut().flat_map(|l| l.params()).collect()
    }
    fn set_training(&mut self, training: bool) {
        Sequential::set_training(self, training)
    }
    fn zero_grad(&mut self) {
        Sequential::zero_grad(self)
    }
}
