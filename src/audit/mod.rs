//! `conform audit`: every release of a client at once, judged by its own
//! contract (or one), against its own server (or older ones), drawn as a
//! matrix with findings "broken in A – B (last good X, fixed in Y)".
//!
//! Pipeline: sources → releases; per release: contract → plan; per
//! release × server pair: one client run (conform's client mode: a fresh
//! mock and HOME per scenario) → cells; cells → findings → reports.

pub mod bisect;
pub mod matrix;
pub mod render;
pub mod source;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::{Args, Subcommand};

use crate::app;
use crate::contract::Contract;
use crate::error::{Error, Result};
use crate::exec::{ClientSetup, Interrupt, ServerContract};
use crate::mock::Profile;
use crate::plan::{Kind, Partition, Plan};
use crate::suite::{self, SuiteFormat};
use matrix::{AuditReport, Cell, ReleaseInfo};
use source::Release;

#[derive(Debug, Args)]
pub struct AuditArgs {
    /// A folder with one sub-folder (or `npm pack` .tgz) per release.
    #[arg(
        long,
        value_name = "DIR",
        conflicts_with = "git",
        required_unless_present = "git"
    )]
    pub releases: Option<PathBuf>,
    /// A git repository whose history holds the releases (one per
    /// package.json version, its last commit).
    #[arg(long, value_name = "REPO", requires = "entry")]
    pub git: Option<PathBuf>,
    /// The client's entry point inside a release (default for --releases:
    /// package.json `bin`, else `main`).
    #[arg(long, value_name = "PATH")]
    pub entry: Option<PathBuf>,
    /// The release's docs folder (cli.md, llms.txt), relative to it.
    #[arg(long, value_name = "DIR")]
    pub docs: Option<PathBuf>,
    /// Only releases from version A to B, both included (`A..`, `..B` too).
    #[arg(long, value_name = "A..B")]
    pub range: Option<String>,
    /// How to run a release: `{entry}` and `{dir}` are filled in (default
    /// `node {entry}` for .js/.mjs, the entry itself when executable).
    #[arg(long, value_name = "TEMPLATE")]
    pub run: Option<String>,
    /// `own`: judge each release by the contract its version names; or one
    /// contract version for all.
    #[arg(long, value_name = "own|VERSION", default_value = "own")]
    pub contract: String,
    /// Read contracts from DIR/<VERSION>/ instead of the built-in ones.
    #[arg(long, value_name = "DIR")]
    pub schemas: Option<PathBuf>,
    /// Server versions each release meets: own, previous:N (own and the N
    /// older ones), all, or V1,V2,...
    #[arg(long, value_name = "SPEC", default_value = "own")]
    pub servers: String,
    /// Suite file or directory (repeatable). Default: the built-in suites.
    #[arg(long, value_name = "PATH")]
    pub suite: Vec<PathBuf>,
    /// Only scenarios whose `suite/scenario` contains TEXT.
    #[arg(long, value_name = "TEXT")]
    pub filter: Option<String>,
    /// Release × server runs at once.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub jobs: Option<u16>,
    /// Seconds a client step may take before it counts as hung.
    #[arg(long, value_name = "SECS", default_value_t = 30.0)]
    pub step_timeout: f64,
    /// Write the matrix: json=PATH, html=PATH or markdown=PATH (repeatable).
    #[arg(long, value_name = "KIND=PATH")]
    pub report: Vec<String>,
    /// Run one shard of the matrix: hash:M/N or slice:M/N over its
    /// release × server runs.
    #[arg(long, value_name = "KIND:M/N")]
    pub partition: Option<String>,
    /// Find the first release where CHECK (a row: `invariant:NAME`,
    /// `scenario:SUITE/NAME`, or part of one) fails; the first release of
    /// the range must be good and the last bad.
    #[arg(long, value_name = "CHECK", conflicts_with = "partition")]
    pub bisect: Option<String>,
    /// Where unpacked tarballs and exported commits are kept (default: a
    /// folder under the system's temp dir).
    #[arg(long, value_name = "DIR")]
    pub cache: Option<PathBuf>,
    #[command(flatten)]
    pub env: crate::cli::ClientEnvArgs,
    /// Print only the findings and the summary.
    #[arg(long, short)]
    pub quiet: bool,
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    #[command(subcommand)]
    pub command: ReportCommand,
}

#[derive(Debug, Subcommand)]
pub enum ReportCommand {
    /// Join the JSON reports of audit shards into one matrix.
    Merge(MergeArgs),
}

#[derive(Debug, Args)]
pub struct MergeArgs {
    /// Shard reports written with `audit --report json=PATH`.
    #[arg(required = true, value_name = "JSON")]
    pub files: Vec<PathBuf>,
    /// Write the merged matrix: json=PATH, html=PATH or markdown=PATH.
    #[arg(long, value_name = "KIND=PATH")]
    pub report: Vec<String>,
    #[arg(long, short)]
    pub quiet: bool,
}

/// Which server versions a release meets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Servers {
    Own,
    Previous(usize),
    All,
    List(Vec<String>),
}

impl Servers {
    pub fn parse(spec: &str, known: &[String]) -> Result<Servers> {
        match spec {
            "own" => Ok(Servers::Own),
            "all" => Ok(Servers::All),
            _ => {
                if let Some(n) = spec.strip_prefix("previous:") {
                    return n.parse::<usize>().map(Servers::Previous).map_err(|_| {
                        Error::Usage(format!(
                            "invalid --servers `{spec}`: `{n}` is not a whole number"
                        ))
                    });
                }
                let list: Vec<String> = spec.split(',').map(|s| s.trim().to_string()).collect();
                for v in &list {
                    if !known.contains(v) {
                        return Err(Error::Usage(format!(
                            "invalid --servers `{spec}`: no server version `{v}` (known: {}; or own, previous:N, all)",
                            known.join(", ")
                        )));
                    }
                }
                Ok(Servers::List(list))
            }
        }
    }

    /// The server versions for a release whose own server is `own`;
    /// `known` is sorted oldest first.
    pub fn select(&self, own: &str, known: &[String]) -> Vec<String> {
        match self {
            Servers::Own => vec![own.to_string()],
            Servers::All => known.to_vec(),
            Servers::List(list) => list.clone(),
            Servers::Previous(n) => {
                let at = known.iter().position(|v| v == own).unwrap_or(known.len());
                let from = at.saturating_sub(*n);
                let mut out: Vec<String> = known[from..at].to_vec();
                out.push(own.to_string());
                out
            }
        }
    }
}

/// Everything an audit run needs, loaded once.
pub struct Audit {
    pub releases: Vec<Release>,
    pub run_template: Option<String>,
    pub contract_mode: String,
    pub servers_spec: String,
    pub servers: Servers,
    /// Known contract (= server) versions, oldest first.
    pub known: Vec<String>,
    pub contracts: BTreeMap<String, Arc<Contract>>,
    pub suites: Vec<suite::Suite>,
    pub filter: Option<String>,
    pub schemas: Option<PathBuf>,
    pub jobs: usize,
    pub step_timeout: Duration,
    pub base_url_env: String,
    pub token_env: String,
    pub pass_env: Vec<String>,
    pub interrupt: Interrupt,
    /// Contracts derived from releases' docs this audit (see `derive_from_docs`).
    pub derived: Option<tempfile::TempDir>,
}

/// A release ready to run: its contract and plan, or why it cannot run.
struct Judged {
    contract: Arc<Contract>,
    plan: Arc<Plan>,
    command: Vec<String>,
}

impl Audit {
    fn contract(&mut self, version: &str) -> Result<Arc<Contract>> {
        if let Some(c) = self.contracts.get(version) {
            return Ok(c.clone());
        }
        let c = Arc::new(match &self.schemas {
            Some(dir) => Contract::from_dir(dir, version)?,
            None => Contract::embedded(version)?,
        });
        self.contracts.insert(version.to_string(), c.clone());
        Ok(c)
    }

    /// The contract a release is judged by. With `own`, a version conform
    /// has no contract for cannot be judged — unless it ships docs, from
    /// which one is derived as `contracts add` would.
    fn contract_for(&mut self, release: &Release) -> std::result::Result<Arc<Contract>, String> {
        let version = if self.contract_mode == "own" {
            release.version.to_string()
        } else {
            self.contract_mode.clone()
        };
        match self.contract(&version) {
            Ok(c) => Ok(c),
            Err(Error::UnknownContract { .. }) => match &release.docs {
                Some(docs) => self.derive_from_docs(docs, &version),
                None => Err(format!("no contract for version {version}")),
            },
            Err(e) => Err(format!("contract {version} cannot be loaded: {e}")),
        }
    }

    /// A release of a version conform has no contract for, that ships its
    /// docs: its contract is made on the fly with `contracts add`'s code
    /// (extending the newest known version before it) in a folder that
    /// lives as long as the audit.
    fn derive_from_docs(
        &mut self,
        docs: &std::path::Path,
        version: &str,
    ) -> std::result::Result<Arc<Contract>, String> {
        if self.derived.is_none() {
            let dir = tempfile::Builder::new()
                .prefix("conform-audit-contracts-")
                .tempdir()
                .map_err(|e| format!("no folder for derived contracts: {e}"))?;
            self.derived = Some(dir);
        }
        let root = match &self.derived {
            Some(dir) => dir.path().to_path_buf(),
            None => return Err("no folder for derived contracts".into()),
        };
        let args = crate::contracts::add::AddArgs {
            docs: docs.to_path_buf(),
            version: version.to_string(),
            extends: None,
            schemas: root.clone(),
        };
        crate::contracts::add::write(&args).map_err(|e| {
            format!(
                "no contract for version {version}, and none could be derived from its docs ({}): {e}",
                docs.display()
            )
        })?;
        let contract = Arc::new(
            Contract::from_dir(&root, version)
                .map_err(|e| format!("the contract derived for {version} does not load: {e}"))?,
        );
        self.contracts.insert(version.to_string(), contract.clone());
        Ok(contract)
    }

    fn judged(&mut self, release: &Release) -> std::result::Result<Judged, String> {
        let contract = self.contract_for(release)?;
        let plan = crate::plan::plan(
            self.suites.clone(),
            &contract,
            self.filter.as_deref(),
            Kind::Client,
        )
        .map_err(|e| e.to_string())?;
        let command = source::command_for(release, self.run_template.as_deref())?;
        Ok(Judged {
            contract,
            plan: Arc::new(plan),
            command,
        })
    }

    /// The servers a judged release meets, each played by the
    /// version-aware mock serving that version's contract (its routes,
    /// rails, answer shapes and documented URL rules), as
    /// `conform client --server-contract V` does.
    fn servers_for(&mut self, own: &str) -> Result<Vec<(String, ServerContract)>> {
        let mut out = Vec::new();
        for v in self.servers.select(own, &self.known.clone()) {
            let contract = self.contract(&v)?;
            out.push((v, ServerContract(contract)));
        }
        Ok(out)
    }
}

/// What every release × server run shares.
#[derive(Clone)]
struct PairEnv {
    step_timeout: Duration,
    base_url_env: String,
    token_env: String,
    pass_env: Vec<String>,
    interrupt: Interrupt,
}

impl Audit {
    fn pair_env(&self) -> PairEnv {
        PairEnv {
            step_timeout: self.step_timeout,
            base_url_env: self.base_url_env.clone(),
            token_env: self.token_env.clone(),
            pass_env: self.pass_env.clone(),
            interrupt: self.interrupt.clone(),
        }
    }
}

/// One release × server run: conform's one pipeline (app.rs) in client
/// mode, started from the release's already loaded contract and plan.
async fn run_pair(
    audit: &PairEnv,
    judged: &Judged,
    server: ServerContract,
    jobs: usize,
) -> Result<crate::outcome::RunReport> {
    let setup = ClientSetup {
        command: judged.command.clone(),
        profile: Profile::Conformant,
        base_url_env: audit.base_url_env.clone(),
        token_env: audit.token_env.clone(),
        pass_env: audit.pass_env.clone(),
        token: format!("isk_r_mock_{:032x}", rand::random::<u128>()),
        server: Some(server),
    };
    let mut options = app::Options::new(app::TargetSpec::Client(setup));
    options.contract = judged.contract.version().to_string();
    options.jobs = jobs;
    options.step_timeout = audit.step_timeout;
    let prepared = app::Prepared {
        options,
        contract: judged.contract.clone(),
        plan: (*judged.plan).clone(),
    };
    let session = prepared.start().await?;
    prepared
        .execute(&session, &prepared.plan, audit.interrupt.clone())
        .await
}

/// Loads everything the arguments name; any problem is bad input (exit 2).
pub fn prepare(args: &AuditArgs) -> Result<Audit> {
    args.env.refuse_token_pass()?;
    if !(args.step_timeout > 0.0 && args.step_timeout.is_finite()) {
        return Err(Error::Usage(
            "--step-timeout must be a positive number of seconds".into(),
        ));
    }
    let cache = match &args.cache {
        Some(dir) => dir.clone(),
        None => std::env::temp_dir().join("conform-audit-cache"),
    };
    let mut known = match &args.schemas {
        Some(dir) => versions_in(dir)?,
        None => Contract::known_versions(),
    };
    known.sort_by(
        |a, b| match (semver::Version::parse(a), semver::Version::parse(b)) {
            (Ok(x), Ok(y)) => x.cmp(&y),
            _ => a.cmp(b),
        },
    );
    if args.contract != "own" && !known.contains(&args.contract) {
        return Err(Error::UnknownContract {
            version: args.contract.clone(),
            known: known.join(", "),
        });
    }
    let servers = Servers::parse(&args.servers, &known)?;
    let range = args
        .range
        .as_deref()
        .map(source::VersionRange::parse)
        .transpose()?;
    let mut releases = match (&args.releases, &args.git) {
        (Some(dir), _) => {
            source::from_folder(dir, args.entry.as_deref(), args.docs.as_deref(), &cache)?
        }
        (None, Some(repo)) => {
            let entry = args
                .entry
                .as_deref()
                .ok_or_else(|| Error::Usage("--git needs --entry PATH".into()))?;
            source::from_git(repo, entry, args.docs.as_deref(), &cache.join("git"))?
        }
        (None, None) => return Err(Error::Usage("give --releases DIR or --git REPO".into())),
    };
    if let Some(range) = &range {
        releases.retain(|r| range.contains(&r.version));
        if releases.is_empty() {
            return Err(Error::Usage(format!(
                "no release in --range `{}`",
                args.range.as_deref().unwrap_or_default()
            )));
        }
    }
    let format = SuiteFormat::new()?;
    let suites = if args.suite.is_empty() {
        suite::load_embedded(&format)?
    } else {
        suite::load_paths(&format, &args.suite)?
    };
    Ok(Audit {
        releases,
        run_template: args.run.clone(),
        contract_mode: args.contract.clone(),
        servers_spec: args.servers.clone(),
        servers,
        known,
        contracts: BTreeMap::new(),
        suites,
        filter: args.filter.clone(),
        schemas: args.schemas.clone(),
        jobs: args.jobs.map_or_else(
            || std::thread::available_parallelism().map_or(2, |n| n.get()),
            usize::from,
        ),
        step_timeout: Duration::from_secs_f64(args.step_timeout),
        base_url_env: args.env.base_url_env.clone(),
        token_env: args.env.token_env.clone(),
        pass_env: args.env.pass_env.clone(),
        interrupt: Interrupt::default(),
        derived: None,
    })
}

/// `suite/scenario` of every client scenario the audit's filter keeps.
pub fn client_scenario_ids(audit: &Audit) -> Vec<String> {
    audit
        .suites
        .iter()
        .flat_map(|s| {
            s.scenarios
                .iter()
                .filter(|sc| sc.needs_client())
                .map(move |sc| format!("{}/{}", s.name, sc.name))
        })
        .filter(|id| audit.filter.as_deref().is_none_or(|f| id.contains(f)))
        .collect()
}

fn versions_in(dir: &std::path::Path) -> Result<Vec<String>> {
    let entries = std::fs::read_dir(dir).map_err(|source| Error::Read {
        path: dir.to_path_buf(),
        source,
    })?;
    Ok(entries
        .filter_map(|e| e.ok())
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect())
}

/// Runs the matrix (or one shard of it) and returns the finished report.
pub async fn run_matrix(audit: &mut Audit, partition: Option<&Partition>) -> Result<AuditReport> {
    let started = Instant::now();
    let mut infos = Vec::new();
    let mut rows: Vec<String> = Vec::new();
    let mut pairs: Vec<(usize, Arc<Judged>, String, ServerContract)> = Vec::new();
    let releases = audit.releases.clone();
    let mut position = 0usize;
    for (i, release) in releases.iter().enumerate() {
        let version = release.version.to_string();
        match audit.judged(release) {
            Ok(judged) => {
                let own = judged.contract.version().to_string();
                let servers = audit.servers_for(&own)?;
                for id in matrix::rows_of(
                    &judged
                        .plan
                        .cases
                        .iter()
                        .map(|c| c.id.clone())
                        .collect::<Vec<_>>(),
                ) {
                    if !rows.contains(&id) {
                        rows.push(id);
                    }
                }
                infos.push(ReleaseInfo {
                    version: version.clone(),
                    origin: release.origin.clone(),
                    contract: Some(own.clone()),
                    own_server: Some(own.clone()),
                    servers: servers.iter().map(|(v, _)| v.clone()).collect(),
                    could_not_run: None,
                });
                let judged = Arc::new(judged);
                for (server, served) in servers {
                    let keep =
                        partition.is_none_or(|p| p.keeps(position, &format!("{version}@{server}")));
                    position += 1;
                    if keep {
                        pairs.push((i, judged.clone(), server, served));
                    }
                }
            }
            Err(why) => infos.push(ReleaseInfo {
                version,
                origin: release.origin.clone(),
                contract: None,
                own_server: None,
                servers: Vec::new(),
                could_not_run: Some(why),
            }),
        }
    }
    if rows.is_empty() {
        // No release could be planned: the rows still come from the suites.
        rows = matrix::rows_of(&client_scenario_ids(audit));
    }
    let env = Arc::new(audit.pair_env());
    let permits = Arc::new(tokio::sync::Semaphore::new(audit.jobs.max(1)));
    let runs = pairs.len() as u64;
    let rows_shared = Arc::new(rows.clone());
    let mut tasks = tokio::task::JoinSet::new();
    for (i, judged, server, served) in pairs {
        let (permits, env, rows) = (permits.clone(), env.clone(), rows_shared.clone());
        let version = releases[i].version.to_string();
        tasks.spawn(async move {
            // The semaphore is never closed, so acquiring cannot fail.
            let _permit = permits.acquire_owned().await.ok();
            // Scenarios of one release run in order: releases are the
            // unit of parallelism (--jobs).
            match run_pair(&env, &judged, served, 1).await {
                Ok(report) => matrix::cells_of(&version, &server, &rows, &report),
                Err(e) => matrix::could_not_run_cells(&version, &server, &rows, &e.to_string()),
            }
        });
    }
    let mut cells: Vec<Cell> = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok(c) => cells.extend(c),
            Err(e) => return Err(Error::Internal(format!("a release run failed: {e}"))),
        }
    }
    let mut report = AuditReport {
        format: matrix::AUDIT_FORMAT,
        conform_version: env!("CARGO_PKG_VERSION").to_string(),
        contract: audit.contract_mode.clone(),
        servers: audit.servers_spec.clone(),
        partitions: partition.map(partition_name).into_iter().collect(),
        releases: infos,
        rows,
        cells,
        client_runs: runs,
        duration_ms: started.elapsed().as_millis() as u64,
    };
    report.sort_cells();
    Ok(report)
}

fn partition_name(p: &Partition) -> String {
    match p {
        Partition::Hash { shard, total } => format!("hash:{shard}/{total}"),
        Partition::Slice { shard, total } => format!("slice:{shard}/{total}"),
    }
}

/// `conform audit`.
pub async fn run(args: AuditArgs) -> Result<i32> {
    let specs = render::specs(&args.report)?;
    let partition = args
        .partition
        .as_deref()
        .map(Partition::parse)
        .transpose()?;
    let mut audit = prepare(&args)?;
    let on_ctrl_c = audit.interrupt.clone();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            on_ctrl_c.trigger();
        }
    });
    if let Some(check) = &args.bisect {
        return bisect::run(&mut audit, check).await;
    }
    let report = run_matrix(&mut audit, partition.as_ref()).await?;
    if audit.interrupt.is_set() {
        render::finish(&report, &specs, args.quiet)?;
        return Ok(crate::error::exit::INTERRUPTED);
    }
    render::finish(&report, &specs, args.quiet)
}

/// `conform report merge`.
pub fn merge(args: &MergeArgs) -> Result<i32> {
    let specs = render::specs(&args.report)?;
    let mut parts = Vec::new();
    for path in &args.files {
        let text = std::fs::read_to_string(path).map_err(|source| Error::Read {
            path: path.clone(),
            source,
        })?;
        let report: AuditReport = serde_json::from_str(&text).map_err(|e| Error::Json {
            path: path.clone(),
            line: e.line(),
            column: e.column(),
            message: format!("not an audit report: {e}"),
        })?;
        if report.format != matrix::AUDIT_FORMAT {
            return Err(Error::Usage(format!(
                "`{}` is audit report format {}, this conform reads {}",
                path.display(),
                report.format,
                matrix::AUDIT_FORMAT
            )));
        }
        parts.push(report);
    }
    let merged = AuditReport::merge(parts).map_err(Error::Usage)?;
    render::finish(&merged, &specs, args.quiet)
}
