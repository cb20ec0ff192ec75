//! The task stream as Chrome-trace JSON (`chrome://tracing`, Perfetto): one row per
//! worker, one for the I/O thread and, in a run over ranks, one for the exchange thread
//! (sends and receives), with compute, transfer and spill events; a process per rank.
//!
//! Why our own writer: the format is a flat list of complete events ("ph":"X"), and the
//! run records only while a trace was asked for, so nothing is paid otherwise.

use std::io::Write;
use std::sync::Mutex;
use std::time::Instant;

/// The kind of work an event was (its category in the trace).
#[derive(Debug, Clone, Copy)]
pub(super) enum Kind {
    Compute,
    Transfer,
    Spill,
    ReadBack,
    Send,
    Receive,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Compute => "compute",
            Kind::Transfer => "transfer",
            Kind::Spill => "spill",
            Kind::ReadBack => "read-back",
            Kind::Send => "send",
            Kind::Receive => "receive",
        }
    }
}

struct Event {
    name: String,
    kind: Kind,
    row: usize,
    start_us: f64,
    dur_us: f64,
    bytes: u64,
}

/// Events of one compute (a no-op when no trace was asked for).
pub(super) struct Trace {
    t0: Instant,
    events: Option<Mutex<Vec<Event>>>,
}

/// The row of the I/O thread (workers are rows `0..workers`).
pub(super) const IO_ROW: usize = usize::MAX;
/// The row of the exchange thread of a run over ranks.
pub(super) const EXCHANGE_ROW: usize = usize::MAX - 1;

impl Trace {
    pub fn new(on: bool) -> Trace {
        Trace {
            t0: Instant::now(),
            events: on.then(|| Mutex::new(vec![])),
        }
    }

    /// Runs `f`, recording it as one event when tracing.
    pub fn span<T>(
        &self,
        kind: Kind,
        row: usize,
        bytes: u64,
        name: impl FnOnce() -> String,
        f: impl FnOnce() -> T,
    ) -> T {
        let Some(ev) = &self.events else {
            return f();
        };
        let s = Instant::now();
        let out = f();
        let e = Event {
            name: name(),
            kind,
            row,
            start_us: (s - self.t0).as_secs_f64() * 1e6,
            dur_us: s.elapsed().as_secs_f64() * 1e6,
            bytes,
        };
        if let Ok(mut v) = ev.lock() {
            v.push(e);
        }
        out
    }

    /// Whether events are being recorded.
    pub fn on(&self) -> bool {
        self.events.is_some()
    }

    /// This process's rows and events as JSON objects (a comma before each), as
    /// process `pid` (the rank) named `name`.
    pub fn render(&self, pid: usize, name: &str, workers: usize) -> String {
        let Some(ev) = &self.events else {
            return String::new();
        };
        let ev = ev.lock().unwrap_or_else(|p| p.into_inner());
        let tid = |row: usize| match row {
            IO_ROW => workers,
            EXCHANGE_ROW => workers + 1,
            w => w,
        };
        let mut out = format!(
            ",\n{{\"ph\":\"M\",\"pid\":{pid},\"name\":\"process_name\",\"args\":{{\"name\":\"{name}\"}}}}"
        );
        for w in 0..=workers + 1 {
            let label = match w {
                _ if w == workers => "I/O".to_string(),
                _ if w == workers + 1 => "exchange".to_string(),
                _ => format!("worker {w}"),
            };
            out.push_str(&format!(
                ",\n{{\"ph\":\"M\",\"pid\":{pid},\"tid\":{w},\"name\":\"thread_name\",\"args\":{{\"name\":\"{label}\"}}}}"
            ));
        }
        for e in ev.iter() {
            out.push_str(&format!(
                ",\n{{\"ph\":\"X\",\"pid\":{pid},\"tid\":{},\"ts\":{:.3},\"dur\":{:.3},\"cat\":\"{}\",\"name\":\"{}\",\"args\":{{\"bytes\":{}}}}}",
                tid(e.row),
                e.start_us,
                e.dur_us,
                e.kind.name(),
                e.name.replace('\\', "\\\\").replace('"', "'"),
                e.bytes
            ));
        }
        out
    }

    /// Writes processes rendered by [`Trace::render`] as one JSON file.
    pub fn write_all(path: &std::path::Path, processes: &[String]) -> crate::Result<()> {
        let io = |e: std::io::Error| crate::Error::Io {
            op: "trace",
            reason: format!("{}: {e}", path.display()),
        };
        let mut f = std::io::BufWriter::new(std::fs::File::create(path).map_err(io)?);
        let body: String = processes.concat();
        let out = format!(
            "{{\"traceEvents\":[\n{}\n]}}\n",
            body.trim_start_matches(",\n")
        );
        f.write_all(out.as_bytes()).map_err(io)?;
        f.flush().map_err(io)
    }

    /// Writes the JSON (when tracing) to `path`.
    pub fn write(&self, path: &std::path::Path, workers: usize) -> crate::Result<()> {
        if !self.on() {
            return Ok(());
        }
        Trace::write_all(path, &[self.render(0, "tessera", workers)])
    }
}
