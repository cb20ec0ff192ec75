//! Property tests: random shapes (0-d to 4-d, with size-0 and size-1 axes), random
//! chunkings and random op chains, compared with the dense ndarray reference.

mod common;

use common::*;
use ndarray::{ArrayD, Axis};
use proptest::prelude::*;
use tessera::kernel::Reduction;
use tessera::Index;

#[derive(Debug, Clone)]
enum Step {
    AddB,
    MulB,
    MaxB,
    Scale(f64),
    Abs,
    Exp,
    Neg,
}

#[derive(Debug, Clone)]
struct Case {
    shape: Vec<usize>,
    chunks_a: Vec<usize>,
    chunks_b: Vec<usize>,
    /// Per axis: keep it in B, or make it length 1 (broadcast).
    b_keep: Vec<bool>,
    /// Leading axes B lacks entirely.
    b_drop: usize,
    generated: bool,
    steps: Vec<Step>,
    perm: Option<Vec<usize>>,
    slices: Option<Vec<(i64, i64, i64)>>,
    reduce: Option<(usize, Vec<bool>, bool)>,
}

fn case() -> impl Strategy<Value = Case> {
    (0usize..=4)
        .prop_flat_map(|d| {
            (
                proptest::collection::vec(0usize..=5, d),
                proptest::collection::vec(1usize..=4, d),
                proptest::collection::vec(1usize..=4, d),
                proptest::collection::vec(any::<bool>(), d),
                0..=d,
                any::<bool>(),
                proptest::collection::vec(
                    prop_oneof![
                        Just(Step::AddB),
                        Just(Step::MulB),
                        Just(Step::MaxB),
                        (-3.0f64..3.0).prop_map(Step::Scale),
                        Just(Step::Abs),
                        Just(Step::Exp),
                        Just(Step::Neg)
                    ],
                    0..4,
                ),
                Just(d).prop_perturb(|d, mut rng| {
                    let mut p: Vec<usize> = (0..d).collect();
                    for i in (1..d).rev() {
                        p.swap(i, rng.random_range(0..=i));
                    }
                    rng.random_bool(0.5).then_some(p)
                }),
                proptest::option::of(proptest::collection::vec(
                    (-7i64..7, -7i64..7, prop_oneof![-3i64..0, 1i64..4]),
                    d,
                )),
                proptest::option::of((
                    0usize..8,
                    proptest::collection::vec(any::<bool>(), d),
                    any::<bool>(),
                )),
            )
        })
        .prop_map(
            |(
                shape,
                chunks_a,
                chunks_b,
                b_keep,
                b_drop,
                generated,
                steps,
                perm,
                slices,
                reduce,
            )| Case {
                shape,
                chunks_a,
                chunks_b,
                b_keep,
                b_drop,
                generated,
                steps,
                perm,
                slices,
                reduce,
            },
        )
}

const REDS: [Reduction; 8] = [
    Reduction::Sum,
    Reduction::Mean,
    Reduction::Var { ddof: 0 },
    Reduction::Std { ddof: 0 },
    Reduction::Min,
    Reduction::Max,
    Reduction::Prod,
    Reduction::Any,
];

fn reference_reduce(
    a: &ArrayD<f64>,
    red: Reduction,
    axes: &[usize],
    keepdims: bool,
) -> ArrayD<f64> {
    match red {
        Reduction::Sum => reduce_ref(a, axes, keepdims, |v| v.iter().sum()),
        Reduction::Prod => reduce_ref(a, axes, keepdims, |v| v.iter().product()),
        Reduction::Mean => reduce_ref(a, axes, keepdims, mean),
        Reduction::Var { .. } => reduce_ref(a, axes, keepdims, |v| var(v, 0)),
        Reduction::Std { .. } => reduce_ref(a, axes, keepdims, |v| var(v, 0).sqrt()),
        Reduction::Min => reduce_ref(a, axes, keepdims, |v| {
            v.iter().cloned().fold(f64::INFINITY, f64::min)
        }),
        Reduction::Max => reduce_ref(a, axes, keepdims, |v| {
            v.iter().cloned().fold(f64::NEG_INFINITY, f64::max)
        }),
        Reduction::Any => reduce_ref(a, axes, keepdims, |v| {
            v.iter().any(|&x| x != 0.0) as u8 as f64
        }),
        _ => unreachable!(),
    }
}

fn check(c: Case) -> Result<(), TestCaseError> {
    let d = c.shape.len();
    let (a_ref, mut x) = if c.generated {
        let x = tessera::random::uniform(&c.shape, &c.chunks_a[..], 99).unwrap();
        let full: Vec<usize> = c.shape.iter().map(|&n| n.max(1)).collect();
        let r = tessera::random::uniform(&c.shape, &full[..], 99)
            .unwrap()
            .compute::<f64>()
            .unwrap();
        (r, x)
    } else {
        let r = data(&c.shape, 5);
        (
            r.clone(),
            tessera::from_ndarray(r, &c.chunks_a[..]).unwrap(),
        )
    };
    let b_shape: Vec<usize> = (c.b_drop..d)
        .map(|k| if c.b_keep[k] { c.shape[k] } else { 1 })
        .collect();
    let b_ref = data(&b_shape, 6);
    let y = tessera::from_ndarray(b_ref.clone(), &c.chunks_b[c.b_drop..]).unwrap();
    let mut r = a_ref;
    for s in &c.steps {
        match s {
            Step::AddB => {
                x = &x + &y;
                r = &r + &b_ref;
            }
            Step::MulB => {
                x = &x * &y;
                r = &r * &b_ref;
            }
            Step::MaxB => {
                x = x.maximum(&y);
                r = ndarray::Zip::from(&r)
                    .and_broadcast(&b_ref)
                    .map_collect(|p, q| p.max(*q));
            }
            Step::Scale(k) => {
                x = &x * *k;
                r = r.mapv(|v| v * k);
            }
            Step::Abs => {
                x = x.abs();
                r = r.mapv(f64::abs);
            }
            Step::Exp => {
                x = (&x * 0.1).exp();
                r = r.mapv(|v| (v * 0.1).exp());
            }
            Step::Neg => {
                x = -&x;
                r = r.mapv(|v| -v);
            }
        }
    }
    if let Some(p) = &c.perm {
        x = x.permute_axes(p);
        r = r.view().permuted_axes(p.clone()).to_owned();
    }
    if let Some(sl) = &c.slices {
        let mut idx = vec![];
        for (k, &(s, e, st)) in sl.iter().enumerate() {
            let (s, e) = (s as isize, e as isize);
            let (s, e) = ((s != 0).then_some(s), (e != 0).then_some(e));
            let pos = slice_positions(r.shape()[k], s, e, st as isize);
            r = r.select(Axis(k), &pos);
            idx.push(Index::slice(s, e, st as isize));
        }
        x = x.slice(&idx);
    }
    if let Some((ri, mask, keepdims)) = &c.reduce {
        let red = REDS[*ri % REDS.len()];
        let axes: Vec<usize> = (0..d).filter(|&k| mask[k]).collect();
        let empty = axes.iter().map(|&k| r.shape()[k]).product::<usize>() == 0;
        let no_identity = matches!(red, Reduction::Min | Reduction::Max);
        let skip = axes.is_empty() || (empty && no_identity);
        if !skip {
            let ax: Vec<isize> = axes.iter().map(|&k| k as isize).collect();
            x = x.reduce(red, Some(&ax), *keepdims, 2);
            r = reference_reduce(&r, red, &axes, *keepdims);
        }
    }
    // On every device (the wgpu half checks its kernels, placement and transfers).
    for d in devices() {
        let got = x
            .compute_host_with(&opts(d))
            .map_err(|e| TestCaseError::fail(format!("{d}: {e}")))?
            .to_f64();
        prop_assert_eq!(got.shape(), r.shape());
        for (g, e) in got.iter().zip(r.iter()) {
            let ok = (g.is_nan() && e.is_nan()) || (g - e).abs() <= 1e-9 * e.abs().max(1.0);
            prop_assert!(ok, "{}: got {} expected {}", d, g, e);
        }
    }

    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn random_op_chains_match_reference(c in case()) {
        check(c)?;
    }

    #[test]
    fn random_arrays_do_not_depend_on_chunks(shape in proptest::collection::vec(0usize..7, 0..4), c1 in 1usize..5, c2 in 1usize..5, seed in any::<u64>()) {
        // Uniform f64 is generated by the device where it has f64; normal f64 on the CPU.
        for d in devices() {
            type Gen = fn(&[usize], usize, u64) -> tessera::Result<tessera::Array>;
            let gens: [Gen; 2] = [
                |s, c, k| tessera::random::normal(s, c, k),
                |s, c, k| tessera::random::uniform(s, c, k),
            ];
            for gen in gens {
                // `* 1.0`: a map task, so the device (not a host source) generates them.
                let a = (gen(&shape, c1, seed).unwrap() * 1.0).compute_with::<f64>(&opts(d)).unwrap();
                let b = gen(&shape, c2, seed).unwrap().compute_with::<f64>(&opts(tessera::Device::Cpu)).unwrap();
                prop_assert_eq!(a, b, "{}", d);
            }
        }
    }
}
