//! Round trips over loopback HTTPS (TLS 1.3, a CA made at start, keep-alive
//! connections):
//!
//! - `echo/1KiB` and `echo/1MiB`: one `HttpTransport::call` to an endpoint
//!   that answers with the request's bytes: the transport and the server
//!   alone.
//! - `node/edit`: one edit carried from node A to node B, both real nodes on
//!   `MemoryTracker`s, each served by `serve`: A's cycle (search, snapshot,
//!   replica, signing, the `POST`) and B's receive (verifying, planning,
//!   applying to its tracker, the signed acknowledgement).
//!
//! ```text
//! cargo bench --features http,testkit --bench http
//! ```
//!
//! Each iteration checks its result (the echo, the edit on B).

use std::sync::Arc;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use twinsync::testkit::ids as lit;
use twinsync::tracker::{IssueUpdate, NewIssue, Tracker};
use twinsync::transport::Transport;
use twinsync::transport::http::serve;

#[path = "../tests/http_transport/support.rs"]
mod support;

use support::{Echo, Pair, Pki, loopback};

fn echo(c: &mut Criterion) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let pki = Pki::loopback();
    let server = runtime
        .block_on(async { serve(loopback(), pki.server_tls(), Arc::new(Echo)) })
        .unwrap();
    let transport = pki.transport();
    let to = server.url().clone();
    let mut group = c.benchmark_group("echo");
    for (name, size) in [("1KiB", 1024), ("1MiB", 1024 * 1024)] {
        let request = vec![42u8; size];
        group.throughput(Throughput::Bytes(size as u64));
        group.bench_function(name, |b| {
            b.iter(|| {
                let answer = runtime
                    .block_on(transport.call(&to, request.clone()))
                    .unwrap();
                assert_eq!(answer.len(), size);
            });
        });
    }
    group.finish();
    runtime.block_on(server.shutdown());
}

fn node_edit(c: &mut Criterion) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (pair, conn, issue) = runtime.block_on(async {
        let pair = Pair::start().await;
        let conn = pair.connect().await;
        let created = pair
            .a
            .human
            .create_issue(&NewIssue::new(lit::project("SUP"), "Bug", "edit 0"))
            .await
            .unwrap();
        pair.a
            .node
            .exalate(&conn.id, &lit::key("SUP-1"))
            .await
            .unwrap();
        (pair, conn, created.id)
    });
    let mut round = 0u64;
    c.bench_function("node/edit", |b| {
        b.iter(|| {
            round += 1;
            let summary = format!("edit {round}");
            runtime.block_on(async {
                pair.advance(10);
                let update = IssueUpdate {
                    summary: Some(summary.clone()),
                    ..IssueUpdate::default()
                };
                pair.a.human.update_issue(&issue, &update).await.unwrap();
                pair.advance(1);
                pair.a.node.sync(&conn.id).await.unwrap();
            });
            assert_eq!(pair.b.issue("DEV-1").summary, summary);
        });
    });
}

criterion_group!(benches, echo, node_edit);
criterion_main!(benches);
