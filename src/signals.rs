//! Stop signals. SIGINT (Ctrl-C), SIGTERM (what CI runners, Docker and
//! Kubernetes send) and SIGHUP (a closed terminal) all stop a run the same
//! way: no new step starts, running clients are killed, the reports of what
//! ran are written marked interrupted. A second signal exits at once.

use crate::exec::Interrupt;
use crate::{Error, Result, error::exit};

/// Starts watching for stop signals on behalf of `interrupt`.
///
/// On a thread of its own, not a task: a run with one job is on a
/// current-thread runtime, which a busy step or a blocking report write
/// (a FIFO nobody reads) holds, and the second signal must still exit.
#[cfg(unix)]
pub fn watch(interrupt: Interrupt) -> Result<()> {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP])
        .map_err(|e| Error::Usage(format!("cannot listen for stop signals: {e}")))?;
    std::thread::Builder::new()
        .name("conform-signals".into())
        .spawn(move || {
            for _ in signals.forever() {
                if interrupt.is_set() {
                    stop_now();
                }
                interrupt.trigger();
            }
        })
        .map_err(|e| Error::Usage(format!("cannot start the stop-signal watcher: {e}")))?;
    Ok(())
}

#[cfg(not(unix))]
pub fn watch(interrupt: Interrupt) -> Result<()> {
    let mut stops = Stops::new()?;
    tokio::spawn(async move {
        loop {
            stops.next().await;
            if interrupt.is_set() {
                stop_now();
            }
            interrupt.trigger();
        }
    });
    Ok(())
}

/// The first signal is being honoured and someone wants out now.
fn stop_now() -> ! {
    crate::exec::command::kill_all_clients();
    eprintln!("conform: second stop signal, exiting without reports");
    std::process::exit(exit::INTERRUPTED);
}

/// Completes at the first stop signal (`conform mock` serves until then).
pub async fn wait() -> Result<()> {
    Stops::new()?.next().await;
    Ok(())
}

#[cfg(unix)]
struct Stops {
    int: tokio::signal::unix::Signal,
    term: tokio::signal::unix::Signal,
    hup: tokio::signal::unix::Signal,
}

#[cfg(unix)]
impl Stops {
    fn new() -> Result<Stops> {
        use tokio::signal::unix::{SignalKind, signal};
        let listen = |kind: SignalKind, name: &str| {
            signal(kind).map_err(|e| Error::Usage(format!("cannot listen for {name}: {e}")))
        };
        Ok(Stops {
            int: listen(SignalKind::interrupt(), "SIGINT")?,
            term: listen(SignalKind::terminate(), "SIGTERM")?,
            hup: listen(SignalKind::hangup(), "SIGHUP")?,
        })
    }

    async fn next(&mut self) {
        tokio::select! {
            _ = self.int.recv() => {}
            _ = self.term.recv() => {}
            _ = self.hup.recv() => {}
        }
    }
}

#[cfg(not(unix))]
struct Stops;

#[cfg(not(unix))]
impl Stops {
    fn new() -> Result<Stops> {
        Ok(Stops)
    }

    async fn next(&mut self) {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}
