//! Hostile-user regression tests (issue 14). Every case names the finding
//! it guards; servers and clients are started here on 127.0.0.1 and every
//! run of the binary is bounded in time (a hang fails the test, it does not
//! hang `cargo test`).

#![cfg(unix)]

mod util;

mod exit_hang;
