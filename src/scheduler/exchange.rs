//! The exchange thread of a run over several ranks: the one thread that talks to the
//! [`Transport`](super::ranks::Transport). It sends each finished chunk other ranks read
//! (once per rank, as soon as its task finishes) and installs each chunk that arrives as
//! if its task had finished here, so the workers never block on a message: a task whose
//! input is on another rank is simply not ready until the chunk is here.

use super::ranks::{decode, encode, Transport};
use super::store::NewCopy;
use super::trace::{Kind, EXCHANGE_ROW};
use super::workers::Run;
use crate::backend::Buffer;
use crate::error::{Error, Result, Tier};
use std::sync::Arc;
use std::time::Duration;

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
        loop {
            let (outbox, done) = {
                let mut st = self.lock();
                if st.error.is_some() {
                    return Ok(());
                }
                (
                    std::mem::take(&mut st.outbox),
                    st.done == self.g.tasks.len(),
                )
            };
            let mut worked = !outbox.is_empty();
            for t in outbox {
                in_flight += self.send_chunk(tr, t)?;
            }
            while let Some((from, msg)) = tr.receive()? {
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
            if done && !worked && sends == 0 {
                return Ok(());
            }
            if !worked {
                std::thread::sleep(Duration::from_micros(100));
            }
        }
    }

    /// Sends task `t`'s chunk to every rank that reads it, then lets it go; returns the
    /// bytes of the messages now in flight (counted in the host tier).
    fn send_chunk(&self, tr: &dyn Transport, t: usize) -> Result<u64> {
        let to = &self.ranked.as_ref().expect("ranked").send_to[t];
        let (mem, file) = {
            let st = self.lock();
            (st.store.memory_copy(t), st.store.slots[t].disk.clone())
        };
        let msg = match (mem, file) {
            (Some(b), _) => match &*b {
                Buffer::Host(c) => encode(t, c),
                Buffer::Device(_) => match super::placement::move_to(&b, None, &self.devices)? {
                    Buffer::Host(c) => encode(t, &c),
                    Buffer::Device(_) => unreachable!("a download lands on the host"),
                },
            },
            (None, Some(f)) => encode(t, &f.read()?),
            (None, None) => {
                return Err(Error::Backend {
                    device: "ranks".into(),
                    op: "send".into(),
                    reason: format!("chunk {} has no copy to send", self.chunk_name(t)),
                })
            }
        };
        let bytes = msg.len() as u64;
        self.lock().store.add(Tier::Host, bytes * to.len() as u64);
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
        Ok(bytes * to.len() as u64)
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
        st.store
            .settle(t, Tier::Host, 0, Some(NewCopy::Memory(buf.clone())));
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
