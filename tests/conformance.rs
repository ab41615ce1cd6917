//! Conformance as `cargo test` trials: one per scenario, `suite::scenario`.
//! Against the embedded mock by default; set CONFORM_BASE_URL (and
//! CONFORM_TOKEN) to test a live server. libtest flags work as usual:
//! `cargo test --test conformance -- --list`, `-- checkout --exact`, ...

fn main() {
    let args = libtest_mimic::Arguments::from_args();
    let trials = conform::trial::TrialOptions::from_env().and_then(conform::trial::trials);
    match trials {
        Ok(trials) => libtest_mimic::run(&args, trials).exit(),
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(e.exit_code());
        }
    }
}
