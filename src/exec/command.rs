//! Command execution: runs the client under test once per cli step, with a
//! clean environment, a fresh HOME, and a hard timeout.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use tokio::io::AsyncReadExt;

/// One run of the client under test.
#[derive(Debug, Clone)]
pub struct ClientRun {
    pub argv: Vec<String>,
    /// The whole environment of the child: nothing else is inherited.
    pub env: Vec<(String, String)>,
    pub cwd: PathBuf,
    pub timeout: Duration,
    /// Bytes kept of stdout and of stderr each; the rest is drained.
    pub max_output: usize,
}

#[derive(Debug, Clone)]
pub struct ClientOutput {
    /// `None` when a signal ended the client.
    pub exit_code: Option<i32>,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    pub truncated: bool,
    /// stdout alone went over the cap (`--max-body`): an input-size error.
    pub over_cap: bool,
}

/// Runs the client. `Err` says in plain words why there is no result
/// (cannot start, hung past the timeout, interrupted); a non-zero exit is a
/// result. When `cancel` completes first, the client's process group is
/// killed.
pub async fn run_client(
    run: &ClientRun,
    cancel: impl std::future::Future<Output = ()>,
) -> Result<ClientOutput, String> {
    let Some((program, args)) = run.argv.split_first() else {
        return Err("no client command given".into());
    };
    let mut cmd = tokio::process::Command::new(program);
    cmd.args(args)
        .env_clear()
        .envs(run.env.iter().map(|(k, v)| (k, v)))
        .current_dir(&run.cwd)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    // Its own process group, so a timeout kills what it spawned too.
    #[cfg(unix)]
    cmd.process_group(0);
    // Spawned under the lock, so `reap_orphans` never takes a client that
    // is starting for an orphan.
    let (mut child, _live) = {
        let mut live = live();
        let child = cmd
            .spawn()
            .map_err(|e| format!("cannot start `{program}`: {e}"))?;
        let pid = child.id();
        live.extend(pid);
        (child, LiveGroup(pid))
    };
    let pid = child.id();
    let (Some(mut stdout), Some(mut stderr)) = (child.stdout.take(), child.stderr.take()) else {
        return Err("cannot capture the client's output".into());
    };
    let max = run.max_output;
    let started = std::time::Instant::now();
    let mut status = None;
    let finished = async {
        let out = read_capped(&mut stdout, max);
        let err = read_capped(&mut stderr, max);
        tokio::pin!(out, err);
        let (mut got_out, mut got_err) = (None, None);
        // Wait for the client first; its output may still be open after.
        while status.is_none() || got_out.is_none() || got_err.is_none() {
            tokio::select! {
                s = child.wait(), if status.is_none() => status = Some(s),
                o = &mut out, if got_out.is_none() => got_out = Some(o),
                e = &mut err, if got_err.is_none() => got_err = Some(e),
            }
        }
        (got_out, got_err)
    };
    let outcome = tokio::select! {
        done = tokio::time::timeout(run.timeout, finished) => Some(done),
        () = cancel => None,
    };
    let Some(outcome) = outcome else {
        kill_group(pid);
        // Reaped here: on a current-thread runtime nothing else may poll
        // tokio's reaper before the run exits, and a zombie outlives us.
        let _ = tokio::time::timeout(Duration::from_secs(2), child.wait()).await;
        return Err("interrupted; the client was killed".into());
    };
    let outcome = match outcome {
        Ok((Some(out), Some(err))) => Ok((out, err)),
        _ => Err(()),
    };
    // Whatever happened, nothing the client started outlives its step.
    kill_group(pid);
    reap_orphans();
    match (outcome, status) {
        (Ok((out, err)), Some(status)) => {
            let status = status.map_err(|e| format!("cannot wait for the client: {e}"))?;
            let (stdout, cut_out) =
                out.map_err(|e| format!("cannot read the client's stdout: {e}"))?;
            let (stderr, cut_err) =
                err.map_err(|e| format!("cannot read the client's stderr: {e}"))?;
            Ok(ClientOutput {
                exit_code: status.code(),
                stdout,
                stderr,
                truncated: cut_out || cut_err,
                over_cap: cut_out,
            })
        }
        (_, Some(Ok(status))) => Err(format!(
            "the client exited {}, but a process it started kept stdout open past \
             {:.0}s (--step-timeout); that process was killed",
            status
                .code()
                .map_or_else(|| "on a signal".to_string(), |c| c.to_string()),
            started
                .elapsed()
                .as_secs_f64()
                .max(run.timeout.as_secs_f64())
        )),
        _ => Err(format!(
            "the client did not finish within {}s (--step-timeout) and was killed",
            run.timeout.as_secs_f64()
        )),
    }
}

/// Reads everything, keeping at most `max` bytes, so a chatty client
/// neither blocks on a full pipe nor fills memory.
async fn read_capped<R: tokio::io::AsyncRead + Unpin>(
    reader: &mut R,
    max: usize,
) -> std::io::Result<(Vec<u8>, bool)> {
    let mut kept = Vec::new();
    let mut buf = [0u8; 8192];
    let mut truncated = false;
    loop {
        let n = reader.read(&mut buf).await?;
        if n == 0 {
            return Ok((kept, truncated));
        }
        let room = max.saturating_sub(kept.len());
        kept.extend_from_slice(&buf[..n.min(room)]);
        truncated |= n > room;
    }
}

/// Process groups of clients running now, so a second stop signal (which
/// exits at once) still kills them.
static LIVE: std::sync::Mutex<Vec<u32>> = std::sync::Mutex::new(Vec::new());

/// Whether [`adopt_orphans`] made conform the reaper of its clients' orphans.
static ADOPTING: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Removes a client's group from [`LIVE`] when its run ends.
struct LiveGroup(Option<u32>);

impl Drop for LiveGroup {
    fn drop(&mut self) {
        if let Some(pid) = self.0 {
            live().retain(|p| *p != pid);
        }
    }
}

fn live() -> std::sync::MutexGuard<'static, Vec<u32>> {
    LIVE.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Kills the process group of every client still running.
pub fn kill_all_clients() {
    let pids: Vec<u32> = live().clone();
    for pid in pids {
        kill_group(Some(pid));
    }
    reap_orphans();
}

/// Makes this process the reaper of orphans it caused (Linux), so a client
/// that daemonises (a grandchild calling `setsid` leaves the process group)
/// is found by [`reap_orphans`] instead of surviving conform.
pub fn adopt_orphans() {
    #[cfg(target_os = "linux")]
    match rustix::process::set_child_subreaper(Some(rustix::process::getpid())) {
        Ok(()) => ADOPTING.store(true, std::sync::atomic::Ordering::Relaxed),
        Err(e) => eprintln!("warning: cannot become the reaper of client processes: {e}"),
    }
}

#[cfg(unix)]
fn kill_group(pid: Option<u32>) {
    let Some(pid) = pid
        .and_then(|p| i32::try_from(p).ok())
        .and_then(rustix::process::Pid::from_raw)
    else {
        return;
    };
    // The group the client leads (process_group(0) above). ESRCH (already
    // gone) is the common, fine case.
    let _ = rustix::process::kill_process_group(pid, rustix::process::Signal::KILL);
}

#[cfg(not(unix))]
fn kill_group(_pid: Option<u32>) {}

/// Kills and reaps orphans re-parented to conform (see [`adopt_orphans`]):
/// a child of ours that is not a client running now can only be a process
/// a finished client left behind, whatever session it moved to.
#[cfg(target_os = "linux")]
fn reap_orphans() {
    use rustix::process::{Pid, Signal, WaitOptions, kill_process, waitpid};
    // Only a process that asked for orphans may treat children as such
    // (a test binary running trials in-process has children of its own).
    if !ADOPTING.load(std::sync::atomic::Ordering::Relaxed) {
        return;
    }
    let me = std::process::id();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return;
    };
    // Held for the scan: no client starts meanwhile.
    let live = live();
    for entry in entries.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        if live.contains(&pid) || parent_of(pid) != Some(me) {
            continue;
        }
        let Some(p) = i32::try_from(pid).ok().and_then(Pid::from_raw) else {
            continue;
        };
        // A child tokio spawned and still waits for is a client; the
        // `live` list covers those. Anything else of ours is an orphan.
        let _ = kill_process(p, Signal::KILL);
        let _ = waitpid(Some(p), WaitOptions::empty());
    }
}

#[cfg(not(target_os = "linux"))]
fn reap_orphans() {}

/// The parent pid from `/proc/PID/stat` (the field after the `)` of comm).
#[cfg(target_os = "linux")]
fn parent_of(pid: u32) -> Option<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(1)?.parse().ok()
}

/// Where `program` would be found, so a missing client is an input error
/// before the run starts, not a failure of every step. The `which` crate
/// does what the OS does (executable bit, PATHEXT on Windows), which a
/// hand-written `is_file` walk of PATH did not.
pub fn resolve_program(program: &str, path_var: Option<&std::ffi::OsStr>) -> Option<PathBuf> {
    let cwd = std::env::current_dir().ok()?;
    which::which_in(program, path_var, cwd).ok()
}
