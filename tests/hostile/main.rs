//! Hostile-user regression tests (issue 14). Every case names the finding
//! it guards; servers and clients are started here on 127.0.0.1 and every
//! run of the binary is bounded in time (a hang fails the test, it does not
//! hang `cargo test`). Finding 9 (Stripe host forms) and finding 11 (mock
//! memory) are covered by unit tests in src/check/fragment.rs and by
//! benches/mock_memory.rs.

#![cfg(unix)]

mod server;
mod util;

mod clients;
mod exit_codes;
mod exit_hang;
mod github;
mod inputs;
mod panics;
mod report_paths;
mod signals;
mod tokens;
