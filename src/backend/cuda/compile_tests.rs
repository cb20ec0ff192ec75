//! Every CUDA kernel compiles: each `kernels/*.cu` family, and a generated kernel for
//! every instruction × dtype and every reduction kind × dtype (partials and finalized
//! results, both drivers, the combines), for sm_80 and sm_90 — NVRTC to PTX, then
//! `ptxas` to machine code, so what a driver would reject fails here.
//!
//! Needs NVRTC (`libnvrtc.so.12` on the library path) and `ptxas` (on PATH or
//! `TESSERA_PTXAS`); `.ci/run` installs both from PyPI wheels. Without them the test says
//! it skipped, unless `TESSERA_REQUIRE_NVRTC=1`. This proves the kernels compile, not
//! that they compute the right values: only a GPU can show that (scripts/gpu-check.sh).

use super::codegen::{self, KERNEL_FILES};
use super::compile::{compile, nvrtc_present, Image};
use crate::dtype::{DType, Scalar};
use crate::kernel::{
    BinaryOp, Dist, FusedExpr, Generator, Instr, Leaf, LeafSource, Reduction, UnaryOp,
};
use rayon::prelude::*;
use std::path::PathBuf;

const ARCHS: [&str; 2] = ["80", "90"];

fn required() -> bool {
    std::env::var("TESSERA_REQUIRE_NVRTC").is_ok_and(|v| v == "1")
}

fn ptxas() -> Option<PathBuf> {
    if let Ok(p) = std::env::var("TESSERA_PTXAS") {
        return Some(PathBuf::from(p));
    }
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join("ptxas"))
            .find(|p| p.is_file())
    })
}

/// Compiles `src` to PTX and assembles it for every arch; the error names `what`.
fn build(
    what: &str,
    src: &str,
    ptxas: &std::path::Path,
    dir: &std::path::Path,
) -> Result<(), String> {
    for arch in ARCHS {
        let ptx = match compile(src, &format!("compute_{arch}")) {
            Ok(Image::Ptx(p)) => p,
            Ok(Image::Cubin(_)) => unreachable!("compute_ gives PTX"),
            Err(e) => return Err(format!("{what}: {e}\n--- source ---\n{src}")),
        };
        let stem = what.replace(|c: char| !c.is_ascii_alphanumeric(), "_");
        let path = dir.join(format!("{stem}_{arch}.ptx"));
        std::fs::write(&path, &ptx).map_err(|e| e.to_string())?;
        let out = std::process::Command::new(ptxas)
            .arg(format!("-arch=sm_{arch}"))
            .arg(&path)
            .arg("-o")
            .arg(path.with_extension("cubin"))
            .output()
            .map_err(|e| format!("running {}: {e}", ptxas.display()))?;
        if !out.status.success() {
            return Err(format!(
                "{what}: ptxas sm_{arch}: {}",
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        let _ = std::fs::remove_file(&path);
        let _ = std::fs::remove_file(path.with_extension("cubin"));
    }
    Ok(())
}

fn leaf(source: LeafSource, dtype: DType) -> Leaf {
    Leaf {
        source,
        dtype,
        offset: 0,
        strides: vec![1, 7],
    }
}

fn input(d: DType) -> (Leaf, Instr) {
    (leaf(LeafSource::Input(0), d), Instr::Leaf(0))
}

/// A program of one instruction `ins` (dtype `out`) over inputs of dtype `d`.
fn program(d: DType, ins: Instr, out: DType, nin: usize) -> FusedExpr {
    let leaves: Vec<Leaf> = (0..nin).map(|k| leaf(LeafSource::Input(k), d)).collect();
    let mut instrs: Vec<(Instr, DType)> = (0..nin).map(|k| (Instr::Leaf(k), d)).collect();
    instrs.push((ins, out));
    FusedExpr { leaves, instrs }
}

/// Every generated map the walk produces for one instruction kind × dtype, with the
/// ones it declines (a function undefined on the dtype, as on the CPU).
fn maps() -> (Vec<(String, String)>, Vec<String>) {
    let mut out = vec![];
    // Complex tasks never reach the walk: `Backend::plan` declines them first.
    for d in DType::ALL.into_iter().filter(|d| !d.is_complex()) {
        let (l, i) = input(d);
        out.push((
            format!("leaf_{d}"),
            FusedExpr {
                leaves: vec![l],
                instrs: vec![(i, d)],
            },
        ));
        out.push((
            format!("const_{d}"),
            program(d, Instr::Const(Scalar::F64(1.5)), d, 1),
        ));
        for op in [
            UnaryOp::Neg,
            UnaryOp::Abs,
            UnaryOp::Exp,
            UnaryOp::Log,
            UnaryOp::Sqrt,
            UnaryOp::Sin,
            UnaryOp::Cos,
            UnaryOp::Tanh,
            UnaryOp::Floor,
            UnaryOp::Ceil,
            UnaryOp::Tan,
            UnaryOp::Sinh,
            UnaryOp::Cosh,
            UnaryOp::Asin,
            UnaryOp::Acos,
            UnaryOp::Atan,
            UnaryOp::Asinh,
            UnaryOp::Acosh,
            UnaryOp::Atanh,
            UnaryOp::Expm1,
            UnaryOp::Log1p,
            UnaryOp::Log2,
            UnaryOp::Log10,
            UnaryOp::Trunc,
            UnaryOp::Round,
            UnaryOp::Cbrt,
            UnaryOp::Exp2,
            UnaryOp::Sign,
            UnaryOp::BitNot,
            UnaryOp::Not,
        ] {
            if (op == UnaryOp::Not) != (d == DType::Bool) {
                continue;
            }
            out.push((format!("{op:?}_{d}"), program(d, Instr::Unary(op, 0), d, 1)));
        }
        if d.is_float() {
            for op in [
                UnaryOp::IsNan,
                UnaryOp::IsInf,
                UnaryOp::IsFinite,
                UnaryOp::SignBit,
            ] {
                let p = program(d, Instr::Unary(op, 0), DType::Bool, 1);
                out.push((format!("{op:?}_{d}"), p));
            }
        }
        for op in [
            BinaryOp::Add,
            BinaryOp::Sub,
            BinaryOp::Mul,
            BinaryOp::Div,
            BinaryOp::Pow,
            BinaryOp::Maximum,
            BinaryOp::Minimum,
            BinaryOp::Eq,
            BinaryOp::Ne,
            BinaryOp::Lt,
            BinaryOp::Le,
            BinaryOp::Gt,
            BinaryOp::Ge,
            BinaryOp::And,
            BinaryOp::Or,
            BinaryOp::Atan2,
            BinaryOp::Hypot,
            BinaryOp::Copysign,
            BinaryOp::FloorDiv,
            BinaryOp::Rem,
            BinaryOp::Fmod,
            BinaryOp::BitAnd,
            BinaryOp::BitOr,
            BinaryOp::BitXor,
            BinaryOp::Shl,
            BinaryOp::Shr,
            BinaryOp::LogAddExp,
            BinaryOp::NextAfter,
            BinaryOp::Fmax,
            BinaryOp::Fmin,
        ] {
            let res = if op.is_comparison() { DType::Bool } else { d };
            out.push((
                format!("{}_{d}", op.name()),
                program(d, Instr::Binary(op, 0, 1), res, 2),
            ));
        }
        let mut w = program(DType::Bool, Instr::Leaf(1), d, 1);
        w.leaves.push(leaf(LeafSource::Input(1), d));
        w.leaves.push(leaf(LeafSource::Input(2), d));
        w.instrs = vec![
            (Instr::Leaf(0), DType::Bool),
            (Instr::Leaf(1), d),
            (Instr::Leaf(2), d),
            (Instr::Where(0, 1, 2), d),
        ];
        out.push((format!("where_{d}"), w));
        for to in DType::ALL.into_iter().filter(|d| !d.is_complex()) {
            out.push((
                format!("cast_{d}_to_{to}"),
                program(d, Instr::Cast(0), to, 1),
            ));
        }
        for (name, g) in [
            (
                "uniform",
                Generator::Random {
                    seed: 7,
                    dist: Dist::Uniform {
                        low: -1.0,
                        high: 2.0,
                    },
                },
            ),
            (
                "normal",
                Generator::Random {
                    seed: 7,
                    dist: Dist::Normal {
                        mean: 0.0,
                        std: 1.0,
                    },
                },
            ),
            (
                "range",
                Generator::Range {
                    start: 0.5,
                    step: 0.25,
                    last: Some((9, 2.75)),
                },
            ),
            ("eye", Generator::Eye { ncols: 9, k: 1 }),
        ] {
            out.push((
                format!("{name}_{d}"),
                FusedExpr {
                    leaves: vec![leaf(LeafSource::Gen(g), d)],
                    instrs: vec![(Instr::Leaf(0), d)],
                },
            ));
        }
    }
    out.extend(complex_maps());
    let mut sources = vec![];
    let mut declined = vec![];
    for (name, e) in out {
        match codegen::map_source(&e, 2) {
            Ok(s) => sources.push((name, s)),
            Err(why) => declined.push(format!("{name}: {why}")),
        }
    }
    (sources, declined)
}

/// The complex programs the walk spells as pairs of reals (`codegen::complex`): each
/// op the devices compute, over complex64 and complex128, and the casts in and out.
fn complex_maps() -> Vec<(String, FusedExpr)> {
    let mut out = vec![];
    for c in [DType::C64, DType::C128] {
        let r = c.real_part();
        out.push((format!("leaf_{c}"), program(c, Instr::Leaf(0), c, 1)));
        out.push((
            format!("const_{c}"),
            program(
                c,
                Instr::Const(Scalar::C128(crate::Complex64::new(1.5, -2.0))),
                c,
                1,
            ),
        ));
        for op in [
            UnaryOp::Neg,
            UnaryOp::Conj,
            UnaryOp::Round,
            UnaryOp::Exp,
            UnaryOp::Log,
            UnaryOp::Log2,
            UnaryOp::Log10,
            UnaryOp::Sqrt,
            UnaryOp::Sin,
            UnaryOp::Cos,
            UnaryOp::Sinh,
            UnaryOp::Cosh,
        ] {
            out.push((format!("{op:?}_{c}"), program(c, Instr::Unary(op, 0), c, 1)));
        }
        for op in [UnaryOp::Real, UnaryOp::Imag, UnaryOp::Abs, UnaryOp::Angle] {
            out.push((format!("{op:?}_{c}"), program(c, Instr::Unary(op, 0), r, 1)));
        }
        for op in [UnaryOp::IsNan, UnaryOp::IsInf, UnaryOp::IsFinite] {
            let p = program(c, Instr::Unary(op, 0), DType::Bool, 1);
            out.push((format!("{op:?}_{c}"), p));
        }
        for op in [BinaryOp::Add, BinaryOp::Sub, BinaryOp::Mul, BinaryOp::Div] {
            let p = program(c, Instr::Binary(op, 0, 1), c, 2);
            out.push((format!("{}_{c}", op.name()), p));
        }
        for op in [BinaryOp::Eq, BinaryOp::Ne] {
            let p = program(c, Instr::Binary(op, 0, 1), DType::Bool, 2);
            out.push((format!("{}_{c}", op.name()), p));
        }
        let p = program(r, Instr::Binary(BinaryOp::Complex, 0, 1), c, 2);
        out.push((format!("complex_{c}"), p));
        for other in [
            DType::Bool,
            DType::I32,
            DType::F16,
            DType::F32,
            DType::F64,
            DType::C64,
            DType::C128,
        ] {
            if other != c {
                out.push((
                    format!("cast_{other}_to_{c}"),
                    program(other, Instr::Cast(0), c, 1),
                ));
                out.push((
                    format!("cast_{c}_to_{other}"),
                    program(c, Instr::Cast(0), other, 1),
                ));
            }
        }
    }
    out
}

const REDUCTIONS: [Reduction; 11] = [
    Reduction::Sum,
    Reduction::Prod,
    Reduction::Min,
    Reduction::Max,
    Reduction::ArgMin,
    Reduction::ArgMax,
    Reduction::Any,
    Reduction::All,
    Reduction::Mean,
    Reduction::Var { ddof: 1 },
    Reduction::Std { ddof: 0 },
];

/// The result dtype of `red` over `d` values, as the graph gives it.
fn result_dtype(red: Reduction, d: DType) -> DType {
    match red {
        Reduction::ArgMin | Reduction::ArgMax => DType::I64,
        Reduction::Any | Reduction::All => DType::Bool,
        Reduction::Mean | Reduction::Var { .. } | Reduction::Std { .. } if !d.is_float() => {
            DType::F64
        }
        Reduction::Sum | Reduction::Prod if matches!(d, DType::Bool | DType::I32 | DType::U32) => {
            DType::I64
        }
        _ => d,
    }
}

#[test]
fn every_kernel_and_generated_kernel_compiles_for_sm80_and_sm90() {
    let (Some(ptxas), true) = (ptxas(), nvrtc_present()) else {
        let why = "NVRTC (libnvrtc.so.12 on LD_LIBRARY_PATH) or ptxas (PATH / TESSERA_PTXAS) is missing; .ci/run installs both";
        assert!(!required(), "TESSERA_REQUIRE_NVRTC=1 but {why}");
        eprintln!("skipped: {why}");
        return;
    };
    let dir = std::env::temp_dir().join(format!("tessera-ptx-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut jobs: Vec<(String, String)> = KERNEL_FILES
        .iter()
        .map(|(name, _)| (format!("kernels/{name}"), codegen::prelude(name)))
        .collect();
    let (maps, declined) = maps();
    jobs.extend(maps);
    let mut reductions = 0;
    for d in DType::ALL.into_iter().filter(|d| !d.is_complex()) {
        let (l, i) = input(d);
        let e = FusedExpr {
            leaves: vec![l],
            instrs: vec![(i, d)],
        };
        for red in REDUCTIONS {
            if red.u64_keyed(d) {
                // The CPU's order-keyed partials; CUDA declines these (asserted here).
                assert!(codegen::reduce_source(&e, 2, red, None, false).is_err());
                assert!(codegen::combine_source(red, d, None).is_err());
                continue;
            }
            let fin = result_dtype(red, d);
            for (tag, fin, serial) in [
                ("partial_tree", None, false),
                ("final_serial", Some(fin), true),
            ] {
                let src = codegen::reduce_source(&e, 2, red, fin, serial)
                    .unwrap_or_else(|e| panic!("{} of {d} declined: {e}", red.name()));
                jobs.push((format!("{}_{d}_{tag}", red.name()), src));
            }
            for fin in [None, Some(fin)] {
                let src = codegen::combine_source(red, d, fin).unwrap();
                jobs.push((format!("combine_{}_{d}_{}", red.name(), fin.is_some()), src));
            }
            reductions += 1;
        }
    }
    // A user's kernel, as map_blocks_kernel compiles it (its own source, no prelude).
    jobs.push((
        "user kernel tests/kernels/laplacian.cu".into(),
        include_str!("../../../tests/kernels/laplacian.cu").into(),
    ));
    let failures: Vec<String> = jobs
        .par_iter()
        .filter_map(|(what, src)| build(what, src, &ptxas, &dir).err())
        .collect();
    let _ = std::fs::remove_dir_all(&dir);
    eprintln!(
        "compiled {} programs for sm_{} (NVRTC, then ptxas): {} kernel files, {reductions} reduction kind × dtype pairs; declined (generated on the CPU instead): {}",
        jobs.len(),
        ARCHS.join(" and sm_"),
        KERNEL_FILES.len(),
        declined.len()
    );
    assert!(
        failures.is_empty(),
        "{} failed:\n{}",
        failures.len(),
        failures.join("\n\n")
    );
    // Only what the CPU does not define either, or what must stay bit-identical.
    for d in &declined {
        let ok = d.contains("not defined on")
            || d.contains("is generated on the CPU")
            || d.contains("are generated on the CPU");
        assert!(ok, "unexpected decline: {d}");
    }
}
