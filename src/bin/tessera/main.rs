//! The `tessera` command: `info`, `demo`, `bench` and `ranks`, one module each.

mod bench;
mod demo;
mod info;
mod memory;
mod ranks;
mod signals;
mod suite;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "tessera",
    version,
    about = "Lazy chunked n-dimensional arrays on GPUs and CPUs"
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    Info(info::InfoArgs),
    Ranks(ranks::RanksArgs),
    Demo(demo::DemoArgs),
    Bench(bench::BenchArgs),
}

fn main() {
    let runtime_dir = runtime_dir();
    // Declines, reroutes and spills are logged through `tracing`; RUST_LOG=info shows them.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .try_init();
    // TESSERA_MALLOC=default keeps glibc's own settings (for A/B measurements).
    if std::env::var("TESSERA_MALLOC").as_deref() != Ok("default") {
        tessera::scheduler::tune_allocator();
    }
    let cli = Cli::parse();
    let cancel = signals::install();
    let result = match cli.cmd {
        Cmd::Info(a) => info::run(a),
        Cmd::Ranks(a) => ranks::run(a, &cancel),
        Cmd::Demo(a) => demo::run(a, &cancel),
        Cmd::Bench(a) => bench::run(a, &cancel),
    };
    // Everything the command made (persisted arrays, spill directories, staging) is
    // dropped by now; only the runtime directory is left to remove.
    if let Some(dir) = runtime_dir {
        let _ = std::fs::remove_dir_all(dir);
    }
    if let Some(code) = signals::exit_code() {
        if let Err(e) = &result {
            eprintln!("{e}");
        }
        std::process::exit(code);
    }
    if let Err(e) = result {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

/// The Vulkan loader and Mesa complain on stderr when XDG_RUNTIME_DIR is unset (root
/// shells, containers): this run gets a private directory, removed at the end. Those
/// that killed runs of this machine left (`tessera-xdg-PID-HOST` of a process that is
/// gone) are removed.
fn runtime_dir() -> Option<std::path::PathBuf> {
    if std::env::var_os("XDG_RUNTIME_DIR").is_some() {
        return None;
    }
    let tmp = std::env::temp_dir();
    let host = tessera::storage::host_tag();
    for e in std::fs::read_dir(&tmp).into_iter().flatten().flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let pid = name
            .strip_prefix("tessera-xdg-")
            .and_then(|r| r.strip_suffix(host))
            .and_then(|r| r.strip_suffix('-'))
            .and_then(|p| p.parse::<u32>().ok());
        if pid.is_some_and(|p| !tessera::storage::process_alive(p)) {
            let _ = std::fs::remove_dir_all(e.path());
        }
    }
    let dir = tmp.join(format!("tessera-xdg-{}-{host}", std::process::id()));
    std::fs::create_dir_all(&dir).ok()?;
    use std::os::unix::fs::PermissionsExt;
    let _ = std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700));
    std::env::set_var("XDG_RUNTIME_DIR", &dir);
    Some(dir)
}
