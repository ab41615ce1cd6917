//! Command execution: runs the client under test once per cli step, with a
//! clean environment, a fresh HOME, and a hard timeout.

use std::path::{Path, PathBuf};
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
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("cannot start `{program}`: {e}"))?;
    let pid = child.id();
    let (Some(mut stdout), Some(mut stderr)) = (child.stdout.take(), child.stderr.take()) else {
        return Err("cannot capture the client's output".into());
    };
    let max = run.max_output;
    let finished = async {
        let (out, err, status) = tokio::join!(
            read_capped(&mut stdout, max),
            read_capped(&mut stderr, max),
            child.wait()
        );
        (out, err, status)
    };
    let outcome = tokio::select! {
        done = tokio::time::timeout(run.timeout, finished) => done,
        () = cancel => {
            kill_group(pid);
            return Err("interrupted; the client was killed".into());
        }
    };
    match outcome {
        Ok((out, err, status)) => {
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
            })
        }
        Err(_) => {
            kill_group(pid);
            Err(format!(
                "the client did not finish within {}s (--step-timeout) and was killed",
                run.timeout.as_secs_f64()
            ))
        }
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

#[cfg(unix)]
fn kill_group(pid: Option<u32>) {
    if let Some(pid) = pid.and_then(|p| i32::try_from(p).ok()) {
        // SAFETY: kill(2) with a negative pid signals the process group the
        // child leads (process_group(0) above); no memory is touched.
        unsafe {
            libc::kill(-pid, libc::SIGKILL);
        }
    }
}

#[cfg(not(unix))]
fn kill_group(_pid: Option<u32>) {}

/// Where `program` would be found, so a missing client is an input error
/// before the run starts, not a failure of every step.
pub fn resolve_program(program: &str, path_var: Option<&std::ffi::OsStr>) -> Option<PathBuf> {
    let candidate = Path::new(program);
    if candidate.components().count() > 1 {
        return candidate.is_file().then(|| candidate.to_path_buf());
    }
    std::env::split_paths(path_var?)
        .map(|dir| dir.join(program))
        .find(|p| p.is_file())
}
