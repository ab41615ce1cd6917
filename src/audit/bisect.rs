//! `audit --bisect CHECK`: the first release where one row fails, in about
//! log2(N) client runs, like `git bisect run`. The first release of the
//! range is taken as good and the last must be bad; a release that cannot
//! run is skipped (`git bisect skip`).

use super::{Audit, matrix, run_pair};
use crate::error::{Error, Result, exit};

#[derive(Debug, Clone, PartialEq, Eq)]
enum Verdict {
    Good,
    Bad(String),
    Skip(String),
}

/// The row CHECK names: an exact row id, `NAME` for `invariant:NAME` or
/// `scenario:NAME`, or the one row containing it.
pub fn resolve(check: &str, rows: &[String]) -> Result<String> {
    for candidate in [
        check.to_string(),
        format!("invariant:{check}"),
        format!("scenario:{check}"),
    ] {
        if rows.contains(&candidate) {
            return Ok(candidate);
        }
    }
    let matching: Vec<&String> = rows.iter().filter(|r| r.contains(check)).collect();
    match matching.as_slice() {
        [one] => Ok((*one).clone()),
        [] => Err(Error::Usage(format!(
            "--bisect `{check}` names no row (rows: {})",
            rows.join(", ")
        ))),
        many => Err(Error::Usage(format!(
            "--bisect `{check}` names {} rows ({}); be more precise",
            many.len(),
            many.iter()
                .map(|r| r.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}

async fn probe(audit: &mut Audit, index: usize, row: &str) -> Result<(Verdict, u64)> {
    let release = audit.releases[index].clone();
    let version = release.version.to_string();
    let judged = match audit.judged(&release) {
        Ok(j) => j,
        Err(why) => return Ok((Verdict::Skip(why), 0)),
    };
    let own = judged.contract.version().to_string();
    let servers = audit.servers_for(&own)?;
    let rows = vec![row.to_string()];
    let env = audit.pair_env();
    let mut verdict = Verdict::Good;
    let mut runs = 0;
    for (server, served) in servers {
        runs += 1;
        let cells = match run_pair(&env, &judged, served, audit.jobs).await {
            Ok(report) => matrix::cells_of(&version, &server, &rows, &report),
            Err(e) => matrix::could_not_run_cells(&version, &server, &rows, &e.to_string()),
        };
        for c in cells {
            // The failed check says more than the step header above it.
            let why = || {
                c.detail
                    .iter()
                    .find(|l| l.starts_with('✗'))
                    .or(c.detail.first())
                    .cloned()
                    .unwrap_or_default()
            };
            match c.state {
                matrix::State::Fail => verdict = Verdict::Bad(why()),
                matrix::State::CouldNotRun if verdict == Verdict::Good => {
                    verdict = Verdict::Skip(why());
                }
                _ => {}
            }
        }
    }
    Ok((verdict, runs))
}

fn say(line: &str) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}").and_then(|()| out.flush());
}

fn shorten(text: &str) -> String {
    if text.chars().count() > 160 {
        format!("{}…", text.chars().take(160).collect::<String>())
    } else {
        text.to_string()
    }
}

pub async fn run(audit: &mut Audit, check: &str) -> Result<i32> {
    let n = audit.releases.len();
    if n < 2 {
        return Err(Error::Usage(
            "--bisect needs at least two releases (a good first, a bad last)".into(),
        ));
    }
    let ids = super::client_scenario_ids(audit);
    let row = resolve(check, &matrix::rows_of(&ids))?;
    let versions: Vec<String> = audit
        .releases
        .iter()
        .map(|r| r.version.to_string())
        .collect();
    say(&format!(
        "bisect {}: {} releases, {} good (assumed) … {} bad (to confirm)",
        matrix::row_title(&row, "own"),
        n,
        versions[0],
        versions[n - 1]
    ));
    let mut probes = 0u64;
    let mut runs = 0u64;
    let step = |i: usize, verdict: &Verdict, probes: &mut u64| {
        *probes += 1;
        let text = match verdict {
            Verdict::Good => "good".to_string(),
            Verdict::Bad(why) => format!("bad: {}", shorten(why)),
            Verdict::Skip(why) => format!("skip, could not run: {}", shorten(why)),
        };
        say(&format!("probe {}: {} → {text}", probes, versions[i]));
    };
    let (last, r) = probe(audit, n - 1, &row).await?;
    runs += r;
    step(n - 1, &last, &mut probes);
    if !matches!(last, Verdict::Bad(_)) {
        say(&format!(
            "verdict: none: the last release {} is not bad for this row",
            versions[n - 1]
        ));
        return Ok(exit::INVALID_INPUT);
    }
    let (mut lo, mut hi) = (0usize, n - 1);
    let mut lo_probed = false;
    let mut skipped = vec![false; n];
    loop {
        let open: Vec<usize> = (lo + 1..hi).filter(|&i| !skipped[i]).collect();
        if open.is_empty() {
            break;
        }
        let middle = (lo + hi) / 2;
        let Some(&mid) = open.iter().min_by_key(|&&i| i.abs_diff(middle)) else {
            break;
        };
        let (verdict, r) = probe(audit, mid, &row).await?;
        runs += r;
        step(mid, &verdict, &mut probes);
        match verdict {
            Verdict::Bad(_) => hi = mid,
            Verdict::Good => {
                lo = mid;
                lo_probed = true;
            }
            Verdict::Skip(_) => skipped[mid] = true,
        }
    }
    if !lo_probed {
        // Nothing before the first bad one was seen good: confirm the
        // range's first release really is.
        let (first, r) = probe(audit, 0, &row).await?;
        runs += r;
        step(0, &first, &mut probes);
        match first {
            Verdict::Good => {}
            Verdict::Bad(_) => {
                say(&format!(
                    "verdict: already bad in the first release {} — widen --range",
                    versions[0]
                ));
                return Ok(exit::CHECK_FAILED);
            }
            Verdict::Skip(_) => {
                say(&format!(
                    "verdict: the first release {} could not run; first bad is {} or earlier",
                    versions[0], versions[hi]
                ));
                return Ok(exit::TARGET_UNREACHABLE);
            }
        }
    }
    let unknown: Vec<&str> = (lo + 1..hi).map(|i| versions[i].as_str()).collect();
    if unknown.is_empty() {
        say(&format!(
            "verdict: first bad release {} (last good {}) · {probes} probes, {runs} client runs",
            versions[hi], versions[lo]
        ));
    } else {
        say(&format!(
            "verdict: first bad release {} or one before it that could not run ({}); last good {} · {probes} probes, {runs} client runs",
            versions[hi],
            unknown.join(", "),
            versions[lo]
        ));
    }
    Ok(exit::CHECK_FAILED)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_check_names_exactly_one_row() {
        let rows = matrix::rows_of(&["client-checkout/stripe".into(), "client-errors/bad".into()]);
        assert_eq!(
            resolve("stripe-fragment", &rows).ok().as_deref(),
            Some("invariant:stripe-fragment")
        );
        assert_eq!(
            resolve("client-checkout/stripe", &rows).ok().as_deref(),
            Some("scenario:client-checkout/stripe")
        );
        assert_eq!(
            resolve("errors", &rows).ok().as_deref(),
            Some("scenario:client-errors/bad")
        );
        assert!(resolve("client", &rows).is_err());
        assert!(resolve("nothing", &rows).is_err());
    }
}
