//! Chapter 5. A network as a list of layers: forward in order, backward in exact reverse.
//!
//! Parameters get stable names, `<network>.<index>.<parameter>` (e.g. `generator.3.weight`), the
//! names PyTorch gives the same `nn.Sequential`, so a checkpoint written here loads there.

use super::{Layer, Param};
use crate::profile;
use crate::scalar::Real;
use crate::tensor::Tensor;

pub struct Sequential<T: Real> {
    /// The prefix of every parameter name, e.g. "generator".
    pub name: String,
    layers: Vec<Box<dyn Layer<T>>>,
}

/// Which gradients a backward pass must produce.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Gradients {
    All,
    InputOnly,
    ParamsOnly,
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
        let mut h: Option<Tensor<T>> = None;
        for (i, layer) in self.layers.iter_mut().enumerate() {
            let input = h.as_ref().unwrap_or(x);
            let timer = profile::enabled().then(|| {
                let macs = layer.multiply_adds(input.shape());
                profile::start(&self.name, i, layer.describe(), "forward", macs)
            });
            let y = layer.forward(input);
            if let Some(timer) = timer {
                profile::finish(timer);
            }
            h = Some(y);
        }
        h.unwrap_or_else(|| x.clone())
    }

    /// dL/dy -> ... -> layer 1 -> layer 0 -> dL/dx: the layers' backward passes in exact reverse.
    pub fn backward(&mut self, grad_output: &Tensor<T>) -> Tensor<T> {
        self.backward_with(grad_output, Gradients::All)
            .expect("a full backward pass returns dL/dx")
    }

    /// The backward pass through a frozen network (D during G's step): dL/dx only. The
    /// parameter gradients are not computed, which saves each product layer a third of its work.
    pub fn backward_input_only(&mut self, grad_output: &Tensor<T>) -> Tensor<T> {
        self.backward_with(grad_output, Gradients::InputOnly)
            .expect("an input-only backward pass returns dL/dx")
    }

    /// The backward pass when nothing needs dL/dx (the network is fed by data): every
    /// parameter gradient, but the first layer skips its input gradient.
    pub fn backward_params_only(&mut self, grad_output: &Tensor<T>) {
        self.backward_with(grad_output, Gradients::ParamsOnly);
    }

    fn backward_with(&mut self, grad_output: &Tensor<T>, wanted: Gradients) -> Option<Tensor<T>> {
        let mut g: Option<Tensor<T>> = None;
        for (i, layer) in self.layers.iter_mut().enumerate().rev() {
            let grad = g.as_ref().unwrap_or(grad_output);
            let pass = match wanted {
                Gradients::InputOnly => "backward-input",
                Gradients::ParamsOnly if i == 0 => "backward-params",
                _ => "backward",
            };
            // The bench counts the multiply-adds of a backward pass from its forward pass's:
            // each gradient (input or weight) is one product of the same size.
            let timer = profile::enabled()
                .then(|| profile::start(&self.name, i, layer.describe(), pass, 0));
            g = match pass {
                "backward-input" => Some(layer.backward_input_only(grad)),
                "backward-params" => {
                    layer.backward_params_only(grad);
                    None
                }
                _ => Some(layer.backward(grad)),
            };
            if let Some(timer) = timer {
                profile::finish(timer);
            }
        }
        match wanted {
            Gradients::ParamsOnly if !self.layers.is_empty() => None,
            _ => Some(g.unwrap_or_else(|| grad_output.clone())),
        }
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
    fn backward_input_only(&mut self, grad_output: &Tensor<T>) -> Tensor<T> {
        Sequential::backward_input_only(self, grad_output)
    }
    fn backward_params_only(&mut self, grad_output: &Tensor<T>) {
        Sequential::backward_params_only(self, grad_output)
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
