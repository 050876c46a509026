//! The HTTP transport and the endpoint server over loopback: TLS with a CA
//! made at test time, every failure a caller can meet and the error it gets,
//! and two real nodes keeping twins in step over HTTPS (nodes.rs), with
//! arbitrary bytes thrown at a node (props.rs).

mod nodes;
mod props;
mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use twinsync::ErrorKind;
use twinsync::transport::Transport;
use twinsync::transport::http::{HttpServer, HttpTransport, ServerOptions, ServerTls, serve};

use support::{Echo, Fragile, Pki, Slow, loopback, node};

#[tokio::test]
async fn a_call_posts_the_bytes_and_returns_the_answer() {
    let pki = Pki::loopback();
    let server = serve(loopback(), pki.server_tls(), Arc::new(Echo)).unwrap();
    assert!(server.url().as_str().starts_with("https://127.0.0.1:"));
    let transport = pki.transport();
    let to = server.url().clone();
    assert_eq!(
        transport.call(&to, b"ping".to_vec()).await.unwrap(),
        b"ping"
    );
    // The endpoint URL itself works as well, and empty requests are requests.
    let endpoint = node(&format!("{}/twinsync", server.url()));
    assert_eq!(transport.call(&endpoint, Vec::new()).await.unwrap(), b"");
    let shown = format!("{transport:?} {server:?}");
    assert!(!shown.contains("BEGIN"), "{shown}");
}

#[tokio::test]
async fn a_refused_port_is_unavailable_and_names_the_host() {
    // A port that was just free: nobody listens there.
    let port = std::net::TcpListener::bind(loopback())
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let to = node(&format!("https://127.0.0.1:{port}"));
    let err = Pki::loopback()
        .transport()
        .call(&to, b"secret-bytes".to_vec())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable, "{err}");
    assert!(err.is_temporary());
    let text = err.to_string();
    assert!(text.contains(&format!("127.0.0.1:{port}")), "{text}");
    assert!(!format!("{err:?}").contains("secret-bytes"), "{err:?}");

    let unknown = node("https://no-such-node.invalid");
    let err = Pki::loopback()
        .transport()
        .call(&unknown, vec![])
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable, "{err}");
    assert!(err.to_string().contains("no-such-node.invalid"), "{err}");
}

#[tokio::test]
async fn a_server_that_does_not_answer_in_time_is_a_timeout() {
    let pki = Pki::loopback();
    let server = serve(
        loopback(),
        pki.server_tls(),
        Arc::new(Slow(Duration::from_secs(5))),
    )
    .unwrap();
    let transport = pki
        .transport_builder()
        .request_timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let started = Instant::now();
    let err = transport
        .call(server.url(), b"x".to_vec())
        .await
        .unwrap_err();
    let took = started.elapsed();
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
    assert!(err.is_temporary() && err.may_have_applied());
    assert!(err.to_string().contains("300 ms"), "{err}");
    assert!(took < Duration::from_secs(2), "took {took:?}");
}

#[tokio::test]
async fn a_listener_that_never_finishes_the_handshake_is_unavailable_after_the_connect_timeout() {
    // Accepts the TCP connection and never speaks: nothing was sent.
    let mute = tokio::net::TcpListener::bind(loopback()).await.unwrap();
    let to = node(&format!("https://{}", mute.local_addr().unwrap()));
    let holder = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = mute.accept().await {
            held.push(stream);
        }
    });
    let transport = Pki::loopback()
        .transport_builder()
        .connect_timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let started = Instant::now();
    let err = transport.call(&to, b"x".to_vec()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable, "{err}");
    assert!(err.to_string().contains("timed out"), "{err}");
    assert!(started.elapsed() < Duration::from_secs(2));
    holder.abort();
}

#[tokio::test]
async fn plain_http_needs_the_opt_in_and_a_loopback_host() {
    let server = serve(
        loopback(),
        ServerTls::plain_http_on_loopback(),
        Arc::new(Echo),
    )
    .unwrap();
    assert!(server.url().as_str().starts_with("http://127.0.0.1:"));
    let to = server.url().clone();

    let strict = HttpTransport::builder().build().unwrap();
    let err = strict.call(&to, b"x".to_vec()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidConfig, "{err}");
    assert!(!err.is_temporary());
    assert!(
        err.to_string().contains("allow_plain_http_on_loopback"),
        "{err}"
    );

    let relaxed = HttpTransport::builder()
        .allow_plain_http_on_loopback(true)
        .build()
        .unwrap();
    assert_eq!(relaxed.call(&to, b"x".to_vec()).await.unwrap(), b"x");
    for far in ["http://b.example", "http://10.1.2.3:8080"] {
        let err = relaxed.call(&node(far), b"x".to_vec()).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidConfig, "{err}");
        assert!(err.to_string().contains("not on loopback"), "{err}");
    }

    // The server side refuses plain HTTP off loopback too.
    let err = HttpServer::bind(
        "0.0.0.0:0".parse().unwrap(),
        ServerTls::plain_http_on_loopback(),
    )
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidConfig, "{err}");
}

#[tokio::test]
async fn a_body_over_the_limit_is_413_and_a_permanent_error() {
    let pki = Pki::loopback();
    let options = ServerOptions::default().with_body_limit(64 * 1024);
    let server = HttpServer::bind_with(loopback(), pki.server_tls(), options)
        .unwrap()
        .serve(Arc::new(Echo))
        .unwrap();
    let to = server.url().clone();
    let transport = pki.transport();
    let fits = vec![7u8; 64 * 1024];
    assert_eq!(transport.call(&to, fits.clone()).await.unwrap(), fits);
    for size in [64 * 1024 + 1, 4 * 1024 * 1024] {
        let err = transport.call(&to, vec![7u8; size]).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{size}: {err}");
        assert!(!err.is_temporary());
        assert!(err.to_string().contains("413"), "{err}");
        assert!(
            err.to_string().contains("larger than the node accepts"),
            "{err}"
        );
    }
    // The server goes on serving.
    assert_eq!(transport.call(&to, b"ok".to_vec()).await.unwrap(), b"ok");
}

#[tokio::test]
async fn only_post_on_the_sync_path_is_served() {
    let pki = Pki::loopback();
    let server = serve(loopback(), pki.server_tls(), Arc::new(Echo)).unwrap();
    let client = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(pki.ca_pem.as_bytes()).unwrap())
        .build()
        .unwrap();
    let sync = format!("{}/twinsync", server.url());
    let posted = client.post(&sync).body("hi").send().await.unwrap();
    assert_eq!(posted.status(), 200);
    assert_eq!(posted.headers()["content-type"], "application/octet-stream");
    let got = client.get(&sync).send().await.unwrap();
    assert_eq!(got.status(), 405);
    assert!(got.headers()["allow"].to_str().unwrap().contains("POST"));
    let elsewhere = client
        .post(format!("{}/admin", server.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(elsewhere.status(), 404);

    // A caller that reaches a non-node URL learns that it is not a node.
    let wrong = node(&format!("{}/admin", server.url()));
    let err = pki.transport().call(&wrong, vec![]).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Incompatible, "{err}");
    assert!(err.to_string().contains("404"), "{err}");
}

#[tokio::test]
async fn an_untrusted_or_misnamed_certificate_is_unavailable_naming_tls() {
    let pki = Pki::loopback();
    let server = serve(loopback(), pki.server_tls(), Arc::new(Echo)).unwrap();
    let to = server.url().clone();
    // A transport that does not trust the private CA.
    let stranger = HttpTransport::builder().build().unwrap();
    let err = stranger.call(&to, b"x".to_vec()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable, "{err}");
    assert!(err.to_string().contains("tls"), "{err}");
    assert!(err.to_string().contains("127.0.0.1"), "{err}");

    // A trusted CA, but a certificate for another name.
    let other = Pki::new(&["node.example"]);
    let misnamed = serve(loopback(), other.server_tls(), Arc::new(Echo)).unwrap();
    let err = other
        .transport()
        .call(misnamed.url(), b"x".to_vec())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable, "{err}");
    assert!(err.to_string().contains("tls"), "{err}");
    // The server went on: a trusting caller still gets through.
    assert_eq!(
        pki.transport().call(&to, b"x".to_vec()).await.unwrap(),
        b"x"
    );
}

#[tokio::test]
async fn an_endpoint_that_panics_costs_one_answer_not_the_server() {
    let pki = Pki::loopback();
    let server = serve(loopback(), pki.server_tls(), Arc::new(Fragile)).unwrap();
    let to = server.url().clone();
    let transport = pki.transport();
    let err = transport.call(&to, b"boom".to_vec()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable, "{err}");
    assert!(err.to_string().contains("500"), "{err}");
    assert_eq!(transport.call(&to, b"x".to_vec()).await.unwrap(), b"x");
}

#[tokio::test]
async fn an_answer_over_the_callers_limit_is_refused() {
    let pki = Pki::loopback();
    let server = serve(loopback(), pki.server_tls(), Arc::new(Echo)).unwrap();
    let to = server.url().clone();
    let transport = pki
        .transport_builder()
        .max_answer_bytes(1024)
        .build()
        .unwrap();
    assert_eq!(
        transport.call(&to, vec![1; 1024]).await.unwrap().len(),
        1024
    );
    let err = transport.call(&to, vec![1; 1025]).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Incompatible, "{err}");
    assert!(err.to_string().contains("more than 1024 bytes"), "{err}");
}

#[tokio::test]
async fn a_server_stops_on_shutdown_and_when_dropped() {
    let pki = Pki::loopback();
    let transport = pki.transport();
    let server = serve(loopback(), pki.server_tls(), Arc::new(Echo)).unwrap();
    let to = server.url().clone();
    assert!(transport.call(&to, b"x".to_vec()).await.is_ok());
    server.shutdown().await;
    let err = transport.call(&to, b"x".to_vec()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable, "{err}");

    let server = serve(loopback(), pki.server_tls(), Arc::new(Echo)).unwrap();
    let to = server.url().clone();
    assert!(transport.call(&to, b"x".to_vec()).await.is_ok());
    drop(server);
    // The listener closes as soon as the server's task sees the drop.
    let mut refused = false;
    for _ in 0..50 {
        if let Err(e) = pki.transport().call(&to, b"x".to_vec()).await {
            assert_eq!(e.kind(), ErrorKind::Unavailable, "{e}");
            refused = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(refused, "the dropped server still answers");
}

#[test]
fn calls_outside_a_tokio_runtime_fail_plainly() {
    let transport = Pki::loopback().transport();
    let err = futures::executor::block_on(transport.call(&node("https://127.0.0.1:9"), vec![]))
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidConfig, "{err}");
    assert!(err.to_string().contains("tokio"), "{err}");
    let server = HttpServer::bind(loopback(), Pki::loopback().server_tls()).unwrap();
    let err = server.serve(Arc::new(Echo)).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidConfig, "{err}");
}
