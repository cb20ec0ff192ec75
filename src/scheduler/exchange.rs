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

use super::ranks::{decode_any, encode, encode_on_link, Carried, Transport};
use super::store::{NewCopy, Room};
use super::trace::{Kind, EXCHANGE_ROW};
use super::workers::Run;
use crate::backend::{Buffer, PeerChunk, PeerCollectives, PeerLink};
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
        let mut stalled: Option<(Instant, Tier, String)> = None;
        let link = self.peer_link(tr)?;
        // Chunks announced on the device link, in arrival order (which is each sender's
        // order), waiting for device room before their receive is queued.
        let mut on_link: VecDeque<(usize, usize, PeerChunk)> = VecDeque::new();
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
                match self.send_chunk(tr, link, t)? {
                    Some(bytes) => {
                        in_flight += bytes;
                        waiting.pop_front();
                        worked = true;
                    }
                    None => {
                        blocked =
                            Some((Tier::Host, format!("sending chunk {}", self.chunk_name(t))));
                        break;
                    }
                }
            }
            loop {
                let mut admit = |from: usize, bytes: u64| -> Result<bool> {
                    let ok = self.room(Tier::Host, bytes)?;
                    if !ok {
                        blocked = Some((
                            Tier::Host,
                            format!("receiving {bytes} bytes from rank {from}"),
                        ));
                    }
                    Ok(ok)
                };
                let Some((from, msg)) = tr.receive(&mut admit)? else {
                    break;
                };
                worked = true;
                let announced = self.trace.span(
                    Kind::Receive,
                    EXCHANGE_ROW,
                    msg.len() as u64,
                    || format!("receive from rank {from}"),
                    || self.receive_chunk(from, &msg, &mut received),
                )?;
                on_link.extend(announced);
            }
            while let Some((from, t, what)) = on_link.front() {
                let (from, t) = (*from, *t);
                let Some((d, l)) = link else {
                    return Err(link_error(from, "this rank has no device link"));
                };
                let tier = Tier::Device(d);
                let bytes = what.bytes;
                if !self.room(tier, bytes)? {
                    blocked = Some((
                        tier,
                        format!(
                            "receiving chunk {} from rank {from} on {}",
                            self.chunk_name(t),
                            self.targets.devices[d].device()
                        ),
                    ));
                    break;
                }
                let buf = self.trace.span(
                    Kind::Receive,
                    EXCHANGE_ROW,
                    bytes,
                    || {
                        format!(
                            "receive {} from rank {from} on the device link",
                            self.chunk_name(t)
                        )
                    },
                    || l.recv(from, what),
                )?;
                self.install(t, tier, bytes, Arc::new(buf), bytes)?;
                on_link.pop_front();
                worked = true;
            }
            let (sends, bytes) = tr.pending()?;
            if bytes != in_flight {
                let mut st = self.lock();
                st.store.sub(Tier::Host, in_flight.saturating_sub(bytes));
                in_flight = bytes;
            }
            if done && !worked && sends == 0 && waiting.is_empty() && on_link.is_empty() {
                // The link's queued sends must land before this rank may exit.
                if let Some((_, l)) = link {
                    l.flush()?;
                }
                return Ok(());
            }
            // Waiting for room is a hang when nothing here can make any: no task running
            // or ready, no spill or read in progress, no send left to complete. Give it a
            // moment (a task may be about to be picked), then fail with the limit.
            match (&blocked, worked || busy || sends > 0) {
                (Some((tier, what)), false) => {
                    let since =
                        stalled.get_or_insert_with(|| (Instant::now(), *tier, what.clone()));
                    if since.0.elapsed() > STALL {
                        return Err(self.no_room(since.1, &since.2));
                    }
                }
                _ => stalled = None,
            }
            if !worked {
                std::thread::sleep(Duration::from_micros(100));
            }
        }
    }

    /// Reserves `bytes` in `tier`, moving idle chunks down a tier if that makes room;
    /// false when the tier has no room now.
    fn room(&self, tier: Tier, bytes: u64) -> Result<bool> {
        let mut st = self.lock();
        loop {
            let cap = st.store.tier(tier).cap(1.0);
            match st.store.reserve(tier, bytes, cap, &[]) {
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

    fn no_room(&self, tier: Tier, what: &str) -> Error {
        let st = self.lock();
        let h = st.store.tier(tier);
        Error::OutOfMemory {
            tier,
            what: format!("{what} (rank {})", self.ranked.as_ref().map_or(0, |r| r.rank)),
            needed: h.held,
            limit: h.limit.unwrap_or(u64::MAX),
            fix: match tier {
                Tier::Host => "raise host_memory_limit on every rank (a message between ranks is a copy of its chunk in host memory), or use smaller chunks",
                _ => "raise device_memory_limit on every rank, or use smaller chunks",
            }
            .into(),
        }
    }

    /// Sends task `t`'s chunk to every rank that reads it (one copy, shared by the
    /// sends), then lets it go; returns the bytes of that copy (counted in the host
    /// tier until the sends complete), or `None` when the host has no room for it now.
    fn send_chunk(&self, tr: &dyn Transport, link: Link<'_>, t: usize) -> Result<Option<u64>> {
        let to = &self.ranked.as_ref().expect("ranked").send_to[t];
        let (mem, file, size) = {
            let st = self.lock();
            (
                st.store.memory_copy(t),
                st.store.slots[t].disk.clone(),
                st.store.chunk_bytes(t).unwrap_or(0),
            )
        };
        if let (Some((d, l)), Some(b)) = (link, &mem) {
            let here =
                matches!(&**b, Buffer::Device(db) if db.device == self.targets.devices[d].device());
            if here {
                if let Some(bytes) = self.send_on_link(tr, l, t, b)? {
                    return Ok(Some(bytes));
                }
            }
        }
        // Room for the message (its header is a few words per part), and for the host
        // copy a device chunk is downloaded into first.
        let on_device = matches!(mem.as_deref(), Some(Buffer::Device(_)));
        let reserved = size + 4096 + if on_device { size } else { 0 };
        if !self.room(Tier::Host, reserved)? {
            return Ok(None);
        }
        let msg = match (mem, file) {
            (Some(b), _) => match &*b {
                Buffer::Host(c) => Ok(encode(t, c)),
                Buffer::Device(_) => super::placement::move_to(&b, None, &self.targets.devices)
                    .map(|h| match h {
                        Buffer::Host(c) => encode(t, &c),
                        Buffer::Device(_) => unreachable!("a download lands on the host"),
                    }),
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
        self.sent(t, bytes);
        Ok(Some(bytes))
    }

    /// Lets task `t`'s chunk go once it was sent to every rank that reads it, `bytes`
    /// to each (the send held a pin, and each rank counted as a consumer).
    fn sent(&self, t: usize, bytes: u64) {
        let to = self.ranked.as_ref().expect("ranked").send_to[t].len();
        let mut st = self.lock();
        st.store.slots[t].pins -= 1;
        for _ in 0..to {
            self.consumed(&mut st, t);
        }
        st.counters.sent.0 += to;
        st.counters.sent.1 += bytes * to as u64;
    }

    /// Queues task `t`'s device chunk `b` on the device link to every rank that reads it,
    /// and announces it to each with a small message; returns the bytes of that message,
    /// or `None` when the link does not move such a chunk, which then goes through the
    /// host.
    fn send_on_link(
        &self,
        tr: &dyn Transport,
        l: &dyn PeerLink,
        t: usize,
        b: &Buffer,
    ) -> Result<Option<u64>> {
        let to = &self.ranked.as_ref().expect("ranked").send_to[t];
        let mut what = None;
        for &r in to {
            let w = self.trace.span(
                Kind::Send,
                EXCHANGE_ROW,
                b.nbytes() as u64,
                || format!("send {} to rank {r} on the device link", self.chunk_name(t)),
                || l.send(r, b),
            )?;
            match (w, &what) {
                (Some(w), _) => what = Some(w),
                (None, None) => return Ok(None),
                (None, Some(_)) => {
                    return Err(link_error(
                        r,
                        "the link took a chunk for one rank, not another",
                    ))
                }
            }
        }
        let Some(what) = what else {
            return Ok(None);
        };
        let msg = Arc::new(encode_on_link(t, &what));
        let bytes = msg.len() as u64;
        self.lock().store.add(Tier::Host, bytes);
        for &r in to {
            tr.send(r, msg.clone())?;
        }
        self.sent(t, what.bytes);
        Ok(Some(bytes))
    }

    /// The device link every rank can use in this run, connected, with the index of its
    /// device; `None` (chunks go through the host) unless every rank has one, each on a
    /// device of its own. A collective: every rank's exchange asks at its start.
    fn peer_link(&self, tr: &dyn Transport) -> Result<Link<'_>> {
        let size = tr.size();
        if size < 2 {
            return Ok(None);
        }
        let mine = self
            .targets
            .devices
            .iter()
            .enumerate()
            .find_map(|(i, d)| d.peers().map(|l| (i, l)));
        let id = mine.map_or(0, |(_, l)| l.identity() >> 1);
        let ready = mine.is_some_and(|(_, l)| l.connected(size));
        let all = tr.all_gather(id << 1 | ready as u64)?;
        let mut ids: Vec<u64> = all.iter().map(|v| v >> 1).collect();
        if ids.contains(&0) {
            return Ok(None);
        }
        ids.sort_unstable();
        ids.dedup();
        if ids.len() < size {
            tracing::info!("ranks share a device: chunks cross ranks through the host");
            return Ok(None);
        }
        let Some((d, l)) = mine else {
            return Ok(None);
        };
        if !all.iter().all(|v| v & 1 == 1) {
            l.connect(tr.rank(), size, &Collectives(tr))?;
            tracing::info!(
                "device link connected: {size} ranks, chunks on {} cross GPU to GPU",
                self.targets.devices[d].device()
            );
        }
        Ok(Some((d, l)))
    }

    /// Takes a message another rank sent: installs the chunk it carries, as if its task
    /// had finished here, or returns the chunk it announces on the device link.
    fn receive_chunk(
        &self,
        from: usize,
        msg: &[u8],
        received: &mut [bool],
    ) -> Result<Option<(usize, usize, PeerChunk)>> {
        let ranked = self.ranked.as_ref().expect("ranked");
        let (t, carried) = decode_any(msg)?;
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
        let reserved = msg.len() as u64;
        match carried {
            Carried::Chunk(c) => {
                // The message's bytes were reserved when it was admitted; the chunk
                // replaces them.
                self.install(t, Tier::Host, reserved, Arc::new(Buffer::Host(c)), reserved)?;
                Ok(None)
            }
            Carried::OnLink(what) => {
                self.lock().store.sub(Tier::Host, reserved);
                Ok(Some((from, t, what)))
            }
        }
    }

    /// Installs task `t`'s chunk in `tier` (whose `reserved` bytes it replaces), as if
    /// the task had finished here; `wire` bytes count as received.
    fn install(
        &self,
        t: usize,
        tier: Tier,
        reserved: u64,
        buf: Arc<Buffer>,
        wire: u64,
    ) -> Result<()> {
        let mut st = self.lock();
        st.store
            .settle(t, tier, reserved, Some(NewCopy::Memory(buf.clone())));
        st.store.finish(t);
        st.done += 1;
        st.counters.received.0 += 1;
        st.counters.received.1 += wire;
        self.release_consumers(&mut st, t);
        // On rank 0, an output block goes into the result now (from the host: a block
        // that came over the device link is downloaded for it).
        if let Some(sink) = &self.sink {
            if !sink.positions[t].is_empty() {
                drop(st);
                let placed = match &*buf {
                    Buffer::Host(c) => sink.place(t, c),
                    Buffer::Device(_) => {
                        super::placement::move_to(&buf, None, &self.targets.devices).and_then(|h| {
                            match h {
                                Buffer::Host(c) => sink.place(t, &c),
                                Buffer::Device(_) => unreachable!("a download lands on the host"),
                            }
                        })
                    }
                };
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

/// A device link usable in this run, and the index of its device among the run's.
type Link<'a> = Option<(usize, &'a dyn PeerLink)>;

/// The ranks' transport, as the collectives a link needs while it connects.
struct Collectives<'a>(&'a dyn Transport);

impl PeerCollectives for Collectives<'_> {
    fn all_gather(&self, value: u64) -> Result<Vec<u64>> {
        self.0.all_gather(value)
    }
    fn broadcast(&self, bytes: Vec<u8>) -> Result<Vec<u8>> {
        self.0.broadcast(bytes)
    }
}

fn link_error(rank: usize, why: &str) -> Error {
    Error::Backend {
        device: "ranks".into(),
        op: "device link".into(),
        reason: format!("with rank {rank}: {why}"),
    }
}
