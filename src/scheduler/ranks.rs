//! Running one graph over several processes (SPMD ranks): every rank holds the same graph
//! and runs only the tasks it owns; a chunk another rank consumes is sent to it once,
//! when the task that made it finishes; output blocks go to rank 0.
//!
//! The scheduler knows ranks only through [`Transport`] (bytes to a rank, bytes from any
//! rank, a gather of one word, abort), which `distributed` implements with MPI. Ownership
//! is static and computed identically on every rank from the graph alone, so no message
//! says who runs what: owner computes (the rank owning most of a task's input bytes; ties,
//! and tasks without inputs, go to the block's owner, a fixed hash of the block index).
//! A chunk is pinned from the moment its task finishes until its last send completes,
//! so spilling never races a send, and counts as a consumer of its own until then.

use crate::backend::PeerChunk;
use crate::dtype::{DType, HostArray};
use crate::error::{Error, Result};
use crate::graph::TaskGraph;
use crate::kernel::{Chunk, Reduction};
use std::sync::Arc;

/// How ranks reach each other. Implemented by `distributed` over MPI; the scheduler
/// calls it from one thread at a time.
pub trait Transport: Send + Sync {
    /// This process's rank.
    fn rank(&self) -> usize;
    /// The number of ranks.
    fn size(&self) -> usize;
    /// `value` from every rank, in rank order (a collective: every rank calls it).
    fn all_gather(&self, value: u64) -> Result<Vec<u64>>;
    /// Starts sending `bytes` to rank `to`; the transport keeps them until sent (one
    /// message to several ranks shares its bytes).
    fn send(&self, to: usize, bytes: Arc<Vec<u8>>) -> Result<()>;
    /// Sends not yet complete, and the bytes they hold (each message once; progressing
    /// them).
    fn pending(&self) -> Result<(usize, u64)>;
    /// A message that has arrived and that `admit(from, bytes)` lets in, if any:
    /// `(from, bytes)`. One not admitted stays with the transport (and its sender
    /// waits), to be offered again on a later call.
    fn receive(
        &self,
        admit: &mut dyn FnMut(usize, u64) -> Result<bool>,
    ) -> Result<Option<(usize, Vec<u8>)>>;
    /// `bytes` from every rank on rank 0, in rank order (empty elsewhere); a
    /// collective, called after the chunks' exchange has ended.
    fn gather(&self, bytes: Vec<u8>) -> Result<Vec<Vec<u8>>>;
    /// Rank 0's `bytes` on every rank (the others' are ignored); a collective.
    fn broadcast(&self, bytes: Vec<u8>) -> Result<Vec<u8>>;
    /// Ends every rank of the job after `why` went wrong here (a rank that simply
    /// returned would leave the others waiting for its chunks).
    fn abort(&self, why: &str) -> !;
}

/// What this rank does in a ranked run.
pub(super) struct Ranked {
    pub rank: usize,
    pub size: usize,
    /// Tasks other ranks run.
    pub remote: Vec<bool>,
    /// Remote tasks whose chunk comes here (a task here reads it, or it is an output
    /// block and this is rank 0).
    pub expected: Vec<bool>,
    /// For each task run here, the ranks its chunk is sent to.
    pub send_to: Vec<Vec<usize>>,
    /// The rank that runs each task.
    pub owner: Vec<usize>,
}

impl Ranked {
    /// This rank's part; `gather` sends output blocks to rank 0 (a compute), else
    /// each stays where it was made (a store: every rank writes its own blocks).
    pub fn new(g: &TaskGraph, transport: &dyn Transport, gather: bool) -> Ranked {
        let (rank, size) = (transport.rank(), transport.size());
        let own = owners(g, size);
        let n = g.tasks.len();
        let mut output = vec![false; n];
        for o in &g.outputs {
            for &b in &o.blocks {
                output[b] = true;
            }
        }
        let mut send_to: Vec<Vec<usize>> = vec![vec![]; n];
        let mut expected = vec![false; n];
        for (c, task) in g.tasks.iter().enumerate() {
            for &j in &task.inputs {
                if own[j] == rank && own[c] != rank {
                    send_to[j].push(own[c]);
                }
                if own[j] != rank && own[c] == rank {
                    expected[j] = true;
                }
            }
        }
        for j in 0..n {
            if gather && output[j] && rank != 0 && own[j] == rank {
                send_to[j].push(0);
            }
            if gather && output[j] && rank == 0 && own[j] != 0 {
                expected[j] = true;
            }
            send_to[j].sort_unstable();
            send_to[j].dedup();
        }
        Ranked {
            rank,
            size,
            remote: own.iter().map(|&o| o != rank).collect(),
            expected,
            send_to,
            owner: own,
        }
    }
}

/// The rank that owns each task. Tasks with inputs run where most of their input bytes
/// are (ties, and inputs not placed yet, go to the block's owner). Tasks without inputs
/// (generators, reads) cost nothing to place, so they are placed last, with their first
/// consumer: a random block regenerated for each product of a matmul is made where that
/// product runs, not made elsewhere and sent.
pub(super) fn owners(g: &TaskGraph, size: usize) -> Vec<usize> {
    const FREE: usize = usize::MAX;
    let hash = |block: &[usize]| {
        block
            .iter()
            .fold(0usize, |h, &b| h.wrapping_mul(31).wrapping_add(b))
            % size.max(1)
    };
    let n = g.tasks.len();
    let mut own = vec![FREE; n];
    // A block of an array persisted over the ranks is where it is held.
    for (t, p, b) in &g.stored {
        if let Some(r) = p.holder(*b) {
            own[*t] = r;
        }
    }
    let mut bytes = vec![0u64; size];
    for (t, task) in g.tasks.iter().enumerate() {
        if task.inputs.is_empty() {
            continue;
        }
        let block_owner = hash(&task.block);
        bytes.iter_mut().for_each(|b| *b = 0);
        for &j in task.inputs.iter().filter(|&&j| own[j] != FREE) {
            bytes[own[j]] += g.tasks[j].nbytes.max(1);
        }
        let most = *bytes.iter().max().expect("at least one rank");
        own[t] = if bytes[block_owner] == most {
            block_owner
        } else {
            bytes
                .iter()
                .position(|&b| b == most)
                .expect("a rank holds most")
        };
    }
    let mut first_consumer = vec![FREE; n];
    for (c, task) in g.tasks.iter().enumerate().rev() {
        for &j in &task.inputs {
            first_consumer[j] = c;
        }
    }
    for t in (0..n).rev() {
        if own[t] == FREE {
            own[t] = match first_consumer[t] {
                FREE => hash(&g.tasks[t].block),
                c => own[c],
            };
        }
    }
    own
}

/// A fingerprint of the graph's structure (ops, blocks, inputs, shapes): ranks that built
/// different graphs would wait for chunks that never come, so they compare this first.
pub(super) fn fingerprint(g: &TaskGraph) -> u64 {
    let mut h = 0xcbf2_9ce4_8422_2325u64;
    let mut mix = |x: u64| {
        h ^= x;
        h = h.wrapping_mul(0x0100_0000_01b3);
    };
    for t in &g.tasks {
        t.op.name().bytes().for_each(|b| mix(b as u64));
        t.block.iter().for_each(|&b| mix(b as u64));
        t.inputs.iter().for_each(|&j| mix(j as u64));
        t.shape.iter().for_each(|&n| mix(n as u64));
        mix(t.nbytes);
    }
    for o in &g.outputs {
        o.blocks.iter().for_each(|&b| mix(b as u64));
    }
    h
}

/// Refuses what ranked runs cannot do yet, the same way on every rank.
pub(super) fn check(g: &TaskGraph, transport: &dyn Transport) -> Result<()> {
    if let Some((_, p, _)) = g
        .stored
        .iter()
        .find(|(_, p, _)| p.ranks() != transport.size())
    {
        return Err(Error::arg(
            "compute",
            match p.ranks() {
                1 => "an array persisted in one process (Array::persist) is an input of a compute over MPI ranks; persist it over the ranks with World::persist".to_string(),
                n => format!("an array persisted over {n} ranks is an input of a compute over {} ranks; use it with as many ranks as persisted it", transport.size()),
            },
        ));
    }
    let mine = fingerprint(g);
    let all = transport.all_gather(mine)?;
    if let Some(r) = all.iter().position(|&f| f != mine) {
        return Err(Error::arg(
            "compute",
            format!(
                "rank {r} built a different graph than rank {}; every rank must build the same arrays in the same order (SPMD)",
                transport.rank()
            ),
        ));
    }
    Ok(())
}

/// Refuses, in a run of one process, an array persisted over MPI ranks: this process
/// holds only its own blocks of it.
pub(super) fn check_alone(g: &TaskGraph) -> Result<()> {
    match g.stored.iter().find(|(_, p, _)| p.ranks() > 1) {
        Some((_, p, _)) => Err(Error::arg(
            "compute",
            format!(
                "an array persisted over {} MPI ranks (World::persist) is an input of a compute in one process, which holds only its own blocks; compute with the World (world.compute_all) on the same ranks",
                p.ranks()
            ),
        )),
        None => Ok(()),
    }
}

/// A chunk as one message: task id, parts (dtype, shape), then each part's bytes.
pub(crate) fn encode(task: usize, chunk: &Chunk) -> Vec<u8> {
    let header: usize = 9 + chunk
        .parts
        .iter()
        .map(|p| 2 + 8 * p.shape().len())
        .sum::<usize>();
    let mut out = Vec::with_capacity(header + chunk.nbytes());
    out.extend_from_slice(&(task as u64).to_le_bytes());
    crate::spill::describe_parts(chunk, &mut out);
    for p in &chunk.parts {
        out.extend_from_slice(&p.element_bytes());
    }
    out
}

/// Set in a message's task word when the chunk's bytes travel over the device link
/// (the message is then only its description); task indices fit 32 bits.
const ON_LINK: u64 = 1 << 63;

/// The message announcing that task `task`'s chunk, described by `what`, was queued on
/// the device link: the receiver queues its receive from the link in the same order.
pub(crate) fn encode_on_link(task: usize, what: &PeerChunk) -> Vec<u8> {
    let mut out = (task as u64 | ON_LINK).to_le_bytes().to_vec();
    out.push(what.shapes.len() as u8);
    for shape in &what.shapes {
        out.push(crate::spill::dtype_code(what.dtype));
        out.push(shape.len() as u8);
        for &n in shape {
            out.extend_from_slice(&(n as u64).to_le_bytes());
        }
    }
    let (code, ddof) = what.partial.map_or((0, 0), reduction_code);
    out.push(code);
    out.extend_from_slice(&ddof.to_le_bytes());
    out.extend_from_slice(&what.bytes.to_le_bytes());
    out
}

/// A reduction as a byte (0 for none) and its ddof, for [`encode_on_link`].
fn reduction_code(r: Reduction) -> (u8, u32) {
    match r {
        Reduction::Sum => (1, 0),
        Reduction::Prod => (2, 0),
        Reduction::Min => (3, 0),
        Reduction::Max => (4, 0),
        Reduction::ArgMin => (5, 0),
        Reduction::ArgMax => (6, 0),
        Reduction::Any => (7, 0),
        Reduction::All => (8, 0),
        Reduction::Mean => (9, 0),
        Reduction::Var { ddof } => (10, ddof),
        Reduction::Std { ddof } => (11, ddof),
    }
}

/// The inverse of [`reduction_code`]: `Ok(None)` for 0, `Err` for a code it never makes.
fn reduction_of(code: u8, ddof: u32) -> std::result::Result<Option<Reduction>, u8> {
    Ok(Some(match code {
        0 => return Ok(None),
        1 => Reduction::Sum,
        2 => Reduction::Prod,
        3 => Reduction::Min,
        4 => Reduction::Max,
        5 => Reduction::ArgMin,
        6 => Reduction::ArgMax,
        7 => Reduction::Any,
        8 => Reduction::All,
        9 => Reduction::Mean,
        10 => Reduction::Var { ddof },
        11 => Reduction::Std { ddof },
        other => return Err(other),
    }))
}

/// What a message carries: the chunk itself, or the description of one coming over the
/// device link.
#[derive(Debug)]
pub(crate) enum Carried {
    Chunk(Chunk),
    OnLink(PeerChunk),
}

/// The task and chunk of a message [`encode`] made.
pub(crate) fn decode(msg: &[u8]) -> Result<(usize, Chunk)> {
    match decode_any(msg)? {
        (t, Carried::Chunk(c)) => Ok((t, c)),
        (_, Carried::OnLink(_)) => Err(Error::Backend {
            device: "ranks".into(),
            op: "receive".into(),
            reason: "a device-link message where a chunk was expected".into(),
        }),
    }
}

/// The task and what a message [`encode`] or [`encode_on_link`] made carries.
pub(crate) fn decode_any(msg: &[u8]) -> Result<(usize, Carried)> {
    let bad = |why: &str| Error::Backend {
        device: "ranks".into(),
        op: "receive".into(),
        reason: format!("malformed chunk message ({} bytes): {why}", msg.len()),
    };
    let mut at = 0usize;
    let mut take = |n: usize| -> Result<&[u8]> {
        let s = msg.get(at..at + n).ok_or_else(|| bad("truncated"))?;
        at += n;
        Ok(s)
    };
    let word = |s: &[u8]| u64::from_le_bytes(s.try_into().expect("8 bytes"));
    let head = word(take(8)?);
    let task = (head & !ON_LINK) as usize;
    let nparts = take(1)?[0];
    let mut metas = vec![];
    for _ in 0..nparts {
        let code = take(1)?[0] as usize;
        let dtype = *DType::ALL.get(code).ok_or_else(|| bad("unknown dtype"))?;
        let ndim = take(1)?[0];
        let mut shape = vec![];
        for _ in 0..ndim {
            shape.push(word(take(8)?) as usize);
        }
        metas.push((dtype, shape));
    }
    if head & ON_LINK != 0 {
        let code = take(1)?[0];
        let ddof = u32::from_le_bytes(take(4)?.try_into().expect("4 bytes"));
        let bytes = word(take(8)?);
        let partial = reduction_of(code, ddof).map_err(|_| bad("unknown reduction"))?;
        let dtype = metas.first().map_or(DType::F64, |m| m.0);
        if metas.iter().any(|m| m.0 != dtype) || metas.is_empty() || at != msg.len() {
            return Err(bad(
                "a device-link description with no parts, mixed dtypes or bytes",
            ));
        }
        let shapes = metas.into_iter().map(|m| m.1).collect();
        return Ok((
            task,
            Carried::OnLink(PeerChunk {
                dtype,
                shapes,
                partial,
                bytes,
            }),
        ));
    }
    let mut parts = vec![];
    for (dtype, shape) in metas {
        let n = shape
            .iter()
            .try_fold(dtype.size(), |a, &n| a.checked_mul(n))
            .ok_or_else(|| bad("shape overflows"))?;
        parts.push(HostArray::from_element_bytes(take(n)?, dtype, &shape).map_err(|e| bad(&e))?);
    }
    if at != msg.len() {
        return Err(bad("trailing bytes"));
    }
    Ok((task, Carried::Chunk(Chunk { parts })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_round_trip_every_dtype_and_refuse_damage() {
        for d in DType::ALL {
            let a = HostArray::zeros(d, &[3, 2]);
            let c = Chunk {
                parts: vec![a.clone(), HostArray::zeros(DType::F64, &[4])],
            };
            let m = encode(7, &c);
            let (t, back) = decode(&m).unwrap();
            assert_eq!(t, 7);
            assert_eq!(back.parts[0].element_bytes(), a.element_bytes());
            assert_eq!(back.parts[1].shape(), &[4]);
            assert!(decode(&m[..m.len() - 1]).is_err());
        }
        let dense = PeerChunk::dense(DType::BF16, vec![vec![5, 3], vec![3, 3]]);
        let partial = PeerChunk {
            dtype: DType::F64,
            shapes: vec![vec![7]],
            partial: Some(Reduction::Std { ddof: 1 }),
            bytes: 7 * 3 * 8,
        };
        for what in [dense, partial] {
            let m = encode_on_link(1 << 31, &what);
            match decode_any(&m).unwrap() {
                (t, Carried::OnLink(w)) => assert_eq!((t, w), (1 << 31, what)),
                other => panic!("{other:?}"),
            }
            assert!(decode(&m).is_err(), "a description is not a chunk");
            assert!(decode_any(&m[..m.len() - 1]).is_err());
        }
        for code in 0..12 {
            let r = reduction_of(code, 2).unwrap();
            assert_eq!(r.map_or(0, |r| reduction_code(r).0), code);
        }
        assert!(reduction_of(12, 0).is_err());
    }

    #[test]
    fn ownership_follows_the_bytes_and_spreads_generators() {
        let x = crate::random::uniform(&[40, 40], 10, 1).unwrap();
        let g = TaskGraph::build(&[&(&x * 2.0).sum()]).unwrap();
        let own = owners(&g, 2);
        assert!(own.contains(&0) && own.contains(&1), "{own:?}");
        assert_eq!(owners(&g, 1), vec![0; g.tasks.len()]);
        assert_eq!(
            fingerprint(&g),
            fingerprint(&TaskGraph::build(&[&(&x * 2.0).sum()]).unwrap())
        );
        // A matmul's operand blocks are regenerated where each product runs: no task
        // reads a chunk made on another rank, and the ranks share the products.
        let w = crate::distributed::workload("matmul", 400, 100).unwrap();
        let g = TaskGraph::build(&[&w[0]]).unwrap();
        let own = owners(&g, 4);
        for (t, task) in g.tasks.iter().enumerate() {
            assert!(task.inputs.iter().all(|&j| own[j] == own[t]), "task {t}");
        }
        for r in 0..4 {
            assert_eq!(own.iter().filter(|&&o| o == r).count() * 4, own.len());
        }
    }
}
