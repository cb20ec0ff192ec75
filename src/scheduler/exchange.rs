//! The exchange thread of a run over several ranks: the one thread that talks to the
//! [`Transport`](super::ranks::Transport). It sends each finished chunk other ranks read
//! (once per rank, as soon as its task finishes) and installs each chunk that arrives as
//! if its task had finished here, so the workers never block on a message: a task whose
//! input is on another rank is simply not ready until the chunk is here.
//!
//! Messages are copies of chunks in host memory, so both ends count them in the host
//! tier: a send reserves room for its one copy (shared by every rank it goes to) before
//! making it, a receive before taking the message from MPI; when there is no room, idle
//! chunks spill to disk, or the message waits (a waiting receive holds its sender's
//! request open, so the sender waits too) — the host limit holds on every rank.

use super::ranks::{decode, encode, Transport};
use super::store::{NewCopy, Room};
use super::trace::{Kind, EXCHANGE_ROW};
use super::workers::Run;
use crate::backend::Buffer;
use crate::error::{Error, Result, Tier};
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long the exchange waits for host room with nothing here able to make any before
/// it reports the limit (a task just released may not have been picked yet).
const STALL: Duration = Duration::from_secs(2);

impl Run<'_> {
    /// Sends and receives until every task is done here and every send has left; an
    /// error stops it (the caller then aborts the job).
    pub fn exchange_loop(&self) {
        self.guarded("the exchange thread", "exchange", || {
            if let Err(e) = self.exchange() {
                let mut st = self.lock();
                self.fail(&mut st, e);
            }
        });
    }

    fn exchange(&self) -> Result<()> {
        let tr = self.transport.expect("a ranked run has a transport");
        let mut received = vec![false; self.g.tasks.len()];
        // Messages in flight are copies of chunks: they count in the host tier until
        // MPI is done with them (`in_flight` is what is counted now).
        let mut in_flight = 0u64;
        // Finished tasks whose chunk waits for host room to be copied into a message.
        let mut waiting: VecDeque<usize> = VecDeque::new();
        // Since when nothing here could move while a send or a receive waited for room.
        let mut stalled: Option<(Instant, String)> = None;
        loop {
            let (outbox, done, busy) = {
                let mut st = self.lock();
                if st.error.is_some() {
                    return Ok(());
                }
                (
                    std::mem::take(&mut st.outbox),
                    st.done == self.g.tasks.len(),
                    st.running > 0 || st.io > 0 || !st.ready.is_empty(),
                )
            };
            waiting.extend(outbox);
            let mut worked = false;
            let mut blocked = None;
            while let Some(&t) = waiting.front() {
                match self.send_chunk(tr, t)? {
                    Some(bytes) => {
                        in_flight += bytes;
                        waiting.pop_front();
                        worked = true;
                    }
                    None => {
                        blocked = Some(format!("sending chunk {}", self.chunk_name(t)));
                        break;
                    }
                }
            }
            loop {
                let mut admit = |from: usize, bytes: u64| -> Result<bool> {
                    let ok = self.host_room(bytes)?;
                    if !ok {
                        blocked = Some(format!("receiving {bytes} bytes from rank {from}"));
                    }
                    Ok(ok)
                };
                let Some((from, msg)) = tr.receive(&mut admit)? else {
                    break;
                };
                worked = true;
                self.trace.span(
                    Kind::Receive,
                    EXCHANGE_ROW,
                    msg.len() as u64,
                    || format!("receive from rank {from}"),
                    || self.receive_chunk(from, &msg, &mut received),
                )?;
            }
            let (sends, bytes) = tr.pending()?;
            if bytes != in_flight {
                let mut st = self.lock();
                st.store.sub(Tier::Host, in_flight.saturating_sub(bytes));
                in_flight = bytes;
            }
            if done && !worked && sends == 0 && waiting.is_empty() {
                return Ok(());
            }
            // Waiting for room is a hang when nothing here can make any: no task running
            // or ready, no spill or read in progress, no send left to complete. Give it a
            // moment (a task may be about to be picked), then fail with the limit.
            match (&blocked, worked || busy || sends > 0) {
                (Some(what), false) => {
                    let since = stalled.get_or_insert_with(|| (Instant::now(), what.clone()));
                    if since.0.elapsed() > STALL {
                        return Err(self.no_host_room(&since.1));
                    }
                }
                _ => stalled = None,
            }
            if !worked {
                std::thread::sleep(Duration::from_micros(100));
            }
        }
    }

    /// Reserves `bytes` in the host tier, spilling idle chunks to disk if that makes
    /// room; false when the tier has no room now.
    fn host_room(&self, bytes: u64) -> Result<bool> {
        let mut st = self.lock();
        loop {
            let cap = st.store.tier(Tier::Host).cap(1.0);
            match st.store.reserve(Tier::Host, bytes, cap, &[]) {
                Room::Granted => return Ok(true),
                Room::Full => return Ok(false),
                Room::Evict(v) => {
                    drop(st);
                    let freed = self.evict(v, Some(EXCHANGE_ROW));
                    st = self.lock();
                    if let Some(e) = st.error.take() {
                        return Err(e);
                    }
                    if !freed {
                        return Ok(false);
                    }
                }
            }
        }
    }

    fn no_host_room(&self, what: &str) -> Error {
        let st = self.lock();
        let h = st.store.tier(Tier::Host);
        Error::OutOfMemory {
            tier: Tier::Host,
            what: format!("{what} (rank {})", self.ranked.as_ref().map_or(0, |r| r.rank)),
            needed: h.held,
            limit: h.limit.unwrap_or(u64::MAX),
            fix: "raise host_memory_limit on every rank (a message between ranks is a copy of its chunk in host memory), or use smaller chunks".into(),
        }
    }

    /// Sends task `t`'s chunk to every rank that reads it (one copy, shared by the
    /// sends), then lets it go; returns the bytes of that copy (counted in the host
    /// tier until the sends complete), or `None` when the host has no room for it now.
    fn send_chunk(&self, tr: &dyn Transport, t: usize) -> Result<Option<u64>> {
        let to = &self.ranked.as_ref().expect("ranked").send_to[t];
        let (mem, file, size) = {
            let st = self.lock();
            (
                st.store.memory_copy(t),
                st.store.slots[t].disk.clone(),
                st.store.chunk_bytes(t).unwrap_or(0),
            )
        };
        // Room for the message (its header is a few words per part), and for the host
        // copy a device chunk is downloaded into first.
        let on_device = matches!(mem.as_deref(), Some(Buffer::Device(_)));
        let reserved = size + 4096 + if on_device { size } else { 0 };
        if !self.host_room(reserved)? {
            return Ok(None);
        }
        let msg = match (mem, file) {
            (Some(b), _) => match &*b {
                Buffer::Host(c) => Ok(encode(t, c)),
                Buffer::Device(_) => {
                    super::placement::move_to(&b, None, &self.devices).map(|h| match h {
                        Buffer::Host(c) => encode(t, &c),
                        Buffer::Device(_) => unreachable!("a download lands on the host"),
                    })
                }
            },
            (None, Some(f)) => f.read().map(|c| encode(t, &c)),
            (None, None) => Err(Error::Backend {
                device: "ranks".into(),
                op: "send".into(),
                reason: format!("chunk {} has no copy to send", self.chunk_name(t)),
            }),
        };
        let mut st = self.lock();
        st.store.sub(Tier::Host, reserved);
        let msg = Arc::new(msg?);
        let bytes = msg.len() as u64;
        st.store.add(Tier::Host, bytes);
        drop(st);
        for &r in to {
            self.trace.span(
                Kind::Send,
                EXCHANGE_ROW,
                bytes,
                || format!("send {} to rank {r}", self.chunk_name(t)),
                || tr.send(r, msg.clone()),
            )?;
        }
        let mut st = self.lock();
        st.store.slots[t].pins -= 1;
        for _ in to {
            self.consumed(&mut st, t);
        }
        st.sent.0 += to.len();
        st.sent.1 += bytes * to.len() as u64;
        Ok(Some(bytes))
    }

    /// Installs a chunk another rank made, as if its task had finished here.
    fn receive_chunk(&self, from: usize, msg: &[u8], received: &mut [bool]) -> Result<()> {
        let ranked = self.ranked.as_ref().expect("ranked");
        let (t, chunk) = decode(msg)?;
        if t >= received.len() || !ranked.expected[t] || received[t] {
            return Err(Error::Backend {
                device: "ranks".into(),
                op: "receive".into(),
                reason: format!(
                    "rank {from} sent chunk {t}, which rank {} did not expect (or had already); the ranks' graphs disagree",
                    ranked.rank
                ),
            });
        }
        received[t] = true;
        let buf = Arc::new(Buffer::Host(chunk));
        let mut st = self.lock();
        // The message's bytes were reserved when it was admitted; the chunk replaces them.
        st.store.settle(
            t,
            Tier::Host,
            msg.len() as u64,
            Some(NewCopy::Memory(buf.clone())),
        );
        st.store.finish(t);
        st.done += 1;
        st.received.0 += 1;
        st.received.1 += msg.len() as u64;
        self.release_consumers(&mut st, t);
        // On rank 0, an output block goes into the result now.
        if let (Some(sink), Buffer::Host(c)) = (&self.sink, &*buf) {
            if !sink.positions[t].is_empty() {
                drop(st);
                let placed = sink.place(t, c);
                st = self.lock();
                placed?;
                for _ in 0..sink.positions[t].len() {
                    self.consumed(&mut st, t);
                }
            }
        }
        self.cv.notify_all();
        Ok(())
    }
}
