//! Chapters 8 and 9. The game and how it is learned: the minimax objective (`loss`), the noise
//! prior (`prior`), and Algorithm 1 of Goodfellow et al. (2014), alternating minibatch SGD
//! (`train`).

pub mod checkpoint;
pub mod loss;
pub mod prior;
pub mod run;
pub mod train;
