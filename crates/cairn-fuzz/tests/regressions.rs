//! Every saved fuzz input through its target, in the normal test suite: the seeds
//! (`fuzz/seeds/<target>/`) and the inputs of crashes found and fixed
//! (`fuzz/regressions/<target>/`, each named for what it broke). Then a short deterministic
//! mutation pass over the seeds, so that the targets' assertions run on more than the seeds
//! even where `cargo fuzz` is not installed.

use std::path::{Path, PathBuf};

fn inputs(kind: &str, target: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz")
        .join(kind)
        .join(target);
    let Ok(rd) = std::fs::read_dir(&dir) else {
        return Vec::new();
    };
    let mut v: Vec<PathBuf> = rd
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    v.sort();
    v
}

#[test]
fn every_seed_and_regression_input_passes() {
    let mut seen = 0;
    for (name, run) in cairn_fuzz::TARGETS {
        let seeds = inputs("seeds", name);
        assert!(!seeds.is_empty(), "{name} has no seed in fuzz/seeds/{name}");
        for p in seeds.iter().chain(&inputs("regressions", name)) {
            let data = std::fs::read(p).unwrap();
            let r = std::panic::catch_unwind(|| run(&data));
            assert!(r.is_ok(), "{name} fails on {}", p.display());
            seen += 1;
        }
    }
    assert!(seen >= cairn_fuzz::TARGETS.len());
}

/// xorshift64*: a fixed sequence, so a failure here is reproducible.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

const INTERESTING: &[&[u8]] = &[
    b"\"",
    b"{",
    b"}",
    b"[",
    b"]",
    b":",
    b",",
    b"\\",
    b"\\u0000",
    b"\\ud800",
    b"1e999",
    b"null",
    b"\x00",
    b"\xff",
    b"\x1f\x8b",
    b" AND ",
    b"(",
    b")",
    b"*",
    b"=",
    b"/",
    b"%",
];

fn mutate(rng: &mut Rng, data: &[u8]) -> Vec<u8> {
    let mut d = data.to_vec();
    for _ in 0..=rng.below(4) {
        let at = rng.below(d.len() + 1);
        match rng.below(5) {
            0 if !d.is_empty() => {
                let i = at.min(d.len() - 1);
                d[i] ^= 1 << rng.below(8);
            }
            1 if !d.is_empty() => {
                let end = (at + rng.below(16)).min(d.len());
                d.drain(at.min(end)..end);
            }
            2 => {
                let s = INTERESTING[rng.below(INTERESTING.len())];
                d.splice(at..at, s.iter().copied());
            }
            3 if !d.is_empty() => {
                let from = rng.below(d.len());
                let len = rng.below(32).min(d.len() - from);
                let chunk = d[from..from + len].to_vec();
                d.splice(at..at, chunk);
            }
            _ => d.truncate(at),
        }
    }
    d
}

#[test]
fn mutated_seeds_pass() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for (name, run) in cairn_fuzz::TARGETS {
        let seeds: Vec<Vec<u8>> = inputs("seeds", name)
            .iter()
            .map(|p| std::fs::read(p).unwrap())
            .collect();
        for i in 0..300 {
            let input = mutate(&mut rng, &seeds[i % seeds.len()]);
            let r = std::panic::catch_unwind(|| run(&input));
            assert!(
                r.is_ok(),
                "{name} fails on a mutated seed: {:?}",
                String::from_utf8_lossy(&input)
            );
        }
    }
}
