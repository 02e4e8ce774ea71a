//! Chapter 11 "Your own data and your own runs": durable runs. Proves that a run stopped halfway
//! and resumed from its checkpoint ends bitwise identical to one that ran straight through
//! (weights, optimiser states, random streams and the log), that a diverging run stops naming
//! the step and the player and keeps the last good checkpoint, and that damaged or foreign
//! checkpoints are refused with a clear message.

use gan::gan::checkpoint::Checkpoint;
use gan::gan::run::{self, checkpoint_path, load_training_data, RunOptions};
use gan::gan::train::{TrainConfig, Trainer};
use gan::io::safetensors::SafeTensors;
use std::path::{Path, PathBuf};

/// A tiny conditional DCGAN on 64 digits: a few seconds for a handful of steps.
fn tiny(steps: usize) -> TrainConfig {
    TrainConfig {
        data_size: 64,
        steps,
        batch: 8,
        nz: 8,
        ngf: 4,
        ndf: 4,
        seed: 5,
        ..TrainConfig::default()
    }
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("gan-ch11-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn options(out: &Path) -> RunOptions {
    RunOptions {
        out: out.to_path_buf(),
        sample_every: 0,
        save_every: 0,
        quiet: true,
    }
}

#[test]
fn stop_and_resume_is_bitwise_identical_to_a_straight_run() {
    let (straight, halves) = (temp_dir("straight"), temp_dir("halves"));
    run::train(tiny(6), &options(&straight)).unwrap();
    run::train(tiny(3), &options(&halves)).unwrap();
    run::resume(Some(6), &options(&halves)).unwrap();

    let a = SafeTensors::load(&checkpoint_path(&straight)).unwrap();
    let b = SafeTensors::load(&checkpoint_path(&halves)).unwrap();
    assert_eq!(a.tensors.len(), b.tensors.len());
    for ((name_a, ta), (name_b, tb)) in a.tensors.iter().zip(&b.tensors) {
        assert_eq!(name_a, name_b);
        assert!(ta == tb, "{name_a} differs after stop and resume");
    }
    assert_eq!(a.metadata, b.metadata);
    let log = |dir: &PathBuf| std::fs::read_to_string(dir.join("log.csv")).unwrap();
    assert_eq!(log(&straight), log(&halves), "the logs differ");
    assert_eq!(log(&straight).lines().count(), 7, "a header and six rows");
    for dir in [straight, halves] {
        std::fs::remove_dir_all(dir).unwrap();
    }
}

#[test]
fn a_diverging_run_names_the_step_and_the_player_and_keeps_the_last_checkpoint() {
    let out = temp_dir("diverge");
    run::train(tiny(2), &options(&out)).unwrap();
    let good = std::fs::read(checkpoint_path(&out)).unwrap();

    // Resume it with one of G's weights poisoned.
    let saved = Checkpoint::load(&checkpoint_path(&out)).unwrap();
    let config = TrainConfig {
        steps: 4,
        ..saved.config.clone()
    };
    let mut trainer =
        Trainer::<f32>::new(config.clone(), load_training_data(&config).unwrap()).unwrap();
    saved.restore_trainer(&mut trainer).unwrap();
    trainer.g.net.named_params()[0].value[0] = f32::NAN;
    let err = run::run(trainer, Vec::new(), &options(&out))
        .unwrap_err()
        .to_string();
    assert!(err.contains("diverged at step 3"), "{err}");
    assert!(
        err.contains("generator's parameter generator.0.weight"),
        "{err}"
    );
    assert!(err.contains("last good checkpoint is kept"), "{err}");
    assert_eq!(
        std::fs::read(checkpoint_path(&out)).unwrap(),
        good,
        "the checkpoint was overwritten"
    );
    std::fs::remove_dir_all(out).unwrap();
}

#[test]
fn damaged_and_foreign_checkpoints_are_refused() {
    let out = temp_dir("damaged");
    run::train(tiny(1), &options(&out)).unwrap();
    let path = checkpoint_path(&out);
    let bytes = std::fs::read(&path).unwrap();

    // Cut short anywhere: refused, naming the file.
    for cut in [0, 7, 100, bytes.len() / 2, bytes.len() - 1] {
        std::fs::write(&path, &bytes[..cut]).unwrap();
        let err = run::resume(None, &options(&out)).unwrap_err().to_string();
        assert!(
            err.contains("checkpoint.safetensors: expected"),
            "cut at {cut}: {err}"
        );
    }

    // A checkpoint of another configuration (ngf 8 instead of 4) does not fit this model.
    std::fs::write(&path, &bytes).unwrap();
    let saved = Checkpoint::load(&path).unwrap();
    let other = TrainConfig {
        ngf: 8,
        ..saved.config.clone()
    };
    let mut trainer =
        Trainer::<f32>::new(other.clone(), load_training_data(&other).unwrap()).unwrap();
    let err = saved
        .restore_trainer(&mut trainer)
        .expect_err("refused")
        .to_string();
    assert!(
        err.contains("generator.0.weight") && err.contains("shape"),
        "{err}"
    );

    // Not a checkpoint of this program at all.
    let mut foreign = SafeTensors::default();
    foreign.metadata.push(("format".into(), "pt".into()));
    foreign.save(&path).unwrap();
    let err = Checkpoint::load(&path).err().expect("refused").to_string();
    assert!(err.contains("a checkpoint of this program"), "{err}");
    std::fs::remove_dir_all(out).unwrap();
}
