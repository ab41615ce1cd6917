//! HTTPS to a live server works with the `ring` rustls provider: a local TLS
//! proxy (self-signed certificate made here with rcgen) in front of
//! `conform mock`. The certificate is trusted through `SSL_CERT_FILE`, as
//! README says; without it the same run must refuse the server.

mod common;

use std::process::Command;
use std::sync::Arc;

use common::{MockProcess, text};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::rustls;

/// Starts a TLS proxy to `upstream` (host:port) on a background runtime;
/// returns its port. The runtime lives as long as the test process.
fn start_tls_proxy(upstream: String, cert_der: Vec<u8>, key_der: Vec<u8>) -> u16 {
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("protocol versions")
    .with_no_client_auth()
    .with_single_cert(
        vec![cert_der.into()],
        rustls::pki_types::PrivateKeyDer::Pkcs8(key_der.into()),
    )
    .expect("server certificate");
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.set_nonblocking(true).expect("nonblocking");
    let port = listener.local_addr().expect("addr").port();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async move {
            let listener = TcpListener::from_std(listener).expect("listener");
            while let Ok((socket, _)) = listener.accept().await {
                let acceptor = acceptor.clone();
                let upstream = upstream.clone();
                tokio::spawn(async move {
                    let Ok(mut tls) = acceptor.accept(socket).await else {
                        return; // the client refused our certificate
                    };
                    if let Ok(mut plain) = TcpStream::connect(&upstream).await {
                        let _ = tokio::io::copy_bidirectional(&mut tls, &mut plain).await;
                    }
                });
            }
        });
    });
    port
}

#[test]
fn https_live_server_with_a_trusted_self_signed_certificate() {
    let mock = MockProcess::start("conformant");
    let upstream = mock
        .base_url
        .strip_prefix("http://")
        .expect("mock serves http")
        .trim_end_matches('/')
        .to_string();
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_string()])
        .expect("self-signed certificate");
    let dir = common::temp("tls");
    let ca_file = dir.join("ca.pem");
    std::fs::write(&ca_file, cert.cert.pem()).expect("write ca.pem");
    let port = start_tls_proxy(
        upstream,
        cert.cert.der().to_vec(),
        cert.signing_key.serialize_der(),
    );
    let base_url = format!("https://localhost:{port}");
    let run = |trust: bool| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_conform"));
        cmd.args([
            "run",
            "--base-url",
            &base_url,
            "--filter",
            "credits-catalog",
        ])
        .env("IMAGE_SKILL_TOKEN", &mock.token)
        .env_remove("SSL_CERT_DIR");
        if trust {
            cmd.env("SSL_CERT_FILE", &ca_file);
        } else {
            // A bundle holding some other certificate only.
            let other = rcgen::generate_simple_self_signed(vec!["localhost".to_string()])
                .expect("other certificate");
            let other_file = dir.join("other.pem");
            std::fs::write(&other_file, other.cert.pem()).expect("write other.pem");
            cmd.env("SSL_CERT_FILE", other_file);
        }
        cmd.output().expect("conform runs")
    };

    let trusted = run(true);
    let out = text(&trusted.stdout);
    assert_eq!(
        trusted.status.code(),
        Some(0),
        "HTTPS run against a trusted server failed:\n{out}{}",
        text(&trusted.stderr)
    );
    assert!(out.contains(&base_url), "the https target is named: {out}");

    let untrusted = run(false);
    assert_eq!(
        untrusted.status.code(),
        Some(3),
        "an untrusted certificate must be a transport error:\n{}{}",
        text(&untrusted.stdout),
        text(&untrusted.stderr)
    );
    let words = text(&untrusted.stdout);
    assert!(
        words.contains("certificate") || words.contains("TLS"),
        "the transport error says it is about the certificate: {words}"
    );
}
