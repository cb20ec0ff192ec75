//! Virtual block expressions: what one output block is, before it becomes a task.
//!
//! Lowering describes each block of an elementwise/view node as a tree whose leaves are
//! task outputs or generators seen through affine views. Transposes, slices and
//! broadcasting only rewrite the views; a tree becomes a task (one fused kernel) only
//! where a non-elementwise consumer needs it.

use crate::dtype::{DType, Scalar};
use crate::kernel::{BinaryOp, FusedExpr, Generator, Instr, Leaf, LeafSource, UnaryOp};

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum VSrc {
    Task(usize),
    Gen(Generator),
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum VExpr {
    Leaf {
        src: VSrc,
        dtype: DType,
        offset: i64,
        strides: Vec<i64>,
    },
    Const(Scalar, DType),
    Unary(UnaryOp, DType, Box<VExpr>),
    Binary(BinaryOp, DType, Box<VExpr>, Box<VExpr>),
    Where(DType, Box<VExpr>, Box<VExpr>, Box<VExpr>),
    Cast(DType, Box<VExpr>),
}

impl VExpr {
    /// Rewrites the view of every leaf.
    pub fn map_views(&mut self, f: &impl Fn(&mut i64, &mut Vec<i64>)) {
        match self {
            VExpr::Leaf {
                offset, strides, ..
            } => f(offset, strides),
            VExpr::Const(..) => {}
            VExpr::Unary(_, _, a) | VExpr::Cast(_, a) => a.map_views(f),
            VExpr::Binary(_, _, a, b) => {
                a.map_views(f);
                b.map_views(f);
            }
            VExpr::Where(_, c, a, b) => {
                c.map_views(f);
                a.map_views(f);
                b.map_views(f);
            }
        }
    }

    /// True when no leaf reads a task: the region is generated from nothing, so it is
    /// cheaper to regenerate per consumer than to store and share.
    pub fn task_free(&self) -> bool {
        match self {
            VExpr::Leaf { src, .. } => matches!(src, VSrc::Gen(_)),
            VExpr::Const(..) => true,
            VExpr::Unary(_, _, a) | VExpr::Cast(_, a) => a.task_free(),
            VExpr::Binary(_, _, a, b) => a.task_free() && b.task_free(),
            VExpr::Where(_, c, a, b) => c.task_free() && a.task_free() && b.task_free(),
        }
    }

    /// When the expression is exactly a whole task output read in C order, that task.
    pub fn as_whole_task(&self, shape: &[usize], dtype: DType) -> Option<usize> {
        match self {
            VExpr::Leaf {
                src: VSrc::Task(t),
                dtype: d,
                offset: 0,
                strides,
            } if *d == dtype && *strides == crate::chunks::c_strides(shape) => Some(*t),
            _ => None,
        }
    }

    /// Flattens into a [`FusedExpr`] plus the tasks its input slots refer to, sharing
    /// identical leaves and subexpressions.
    pub fn flatten(&self) -> (FusedExpr, Vec<usize>) {
        let mut f = Flat {
            expr: FusedExpr {
                leaves: vec![],
                instrs: vec![],
            },
            inputs: vec![],
        };
        f.go(self);
        (f.expr, f.inputs)
    }
}

struct Flat {
    expr: FusedExpr,
    inputs: Vec<usize>,
}

impl Flat {
    fn push(&mut self, i: Instr, d: DType) -> usize {
        let key = (i, d);
        if let Some(p) = self.expr.instrs.iter().position(|x| *x == key) {
            return p;
        }
        self.expr.instrs.push(key);
        self.expr.instrs.len() - 1
    }

    fn go(&mut self, e: &VExpr) -> usize {
        match e {
            VExpr::Leaf {
                src,
                dtype,
                offset,
                strides,
            } => {
                let source = match src {
                    VSrc::Gen(g) => LeafSource::Gen(*g),
                    VSrc::Task(t) => {
                        let slot = match self.inputs.iter().position(|x| x == t) {
                            Some(s) => s,
                            None => {
                                self.inputs.push(*t);
                                self.inputs.len() - 1
                            }
                        };
                        LeafSource::Input(slot)
                    }
                };
                let leaf = Leaf {
                    source,
                    dtype: *dtype,
                    offset: *offset,
                    strides: strides.clone(),
                };
                let l = match self.expr.leaves.iter().position(|x| *x == leaf) {
                    Some(l) => l,
                    None => {
                        self.expr.leaves.push(leaf);
                        self.expr.leaves.len() - 1
                    }
                };
                self.push(Instr::Leaf(l), *dtype)
            }
            VExpr::Const(s, d) => self.push(Instr::Const(*s), *d),
            VExpr::Unary(op, d, a) => {
                let a = self.go(a);
                self.push(Instr::Unary(*op, a), *d)
            }
            VExpr::Binary(op, d, a, b) => {
                let a = self.go(a);
                let b = self.go(b);
                self.push(Instr::Binary(*op, a, b), *d)
            }
            VExpr::Where(d, c, a, b) => {
                let c = self.go(c);
                let a = self.go(a);
                let b = self.go(b);
                self.push(Instr::Where(c, a, b), *d)
            }
            VExpr::Cast(d, a) => {
                let a = self.go(a);
                self.push(Instr::Cast(a), *d)
            }
        }
    }
}
