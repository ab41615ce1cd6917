//! Schema validation throughput: the stripe-checkout-session payload of
//! fixtures/0.1.9/credits-buy.json against the compiled 0.1.9 contract.
//! Criterion runs on one thread, so elements/s is validations/s/core.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;

use conform::contract::Contract;

fn stripe_checkout_session(c: &mut Criterion) {
    let contract = Contract::embedded("0.1.9").expect("the 0.1.9 contract is embedded");
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/0.1.9/credits-buy.json"
    ))
    .expect("fixture readable");
    let payload: serde_json::Value = serde_json::from_str(&text).expect("fixture is JSON");
    let violations = contract
        .validate("stripe-checkout-session", &payload)
        .expect("schema exists");
    assert!(
        violations.is_empty(),
        "fixture must conform: {violations:?}"
    );

    let mut group = c.benchmark_group("validate");
    group.throughput(Throughput::Elements(1));
    group.bench_function("stripe-checkout-session", |b| {
        b.iter(|| {
            contract
                .validate("stripe-checkout-session", black_box(&payload))
                .map(|v| v.len())
        })
    });
    group.finish();
}

criterion_group!(benches, stripe_checkout_session);
criterion_main!(benches);
