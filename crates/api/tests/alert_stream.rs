//! The alert stream over a real gRPC connection: resume, explicit too-far-behind, validation,
//! auth, and that a subscriber which stops reading holds up neither the log nor anyone else.

mod support;

use std::time::Duration;

use support::{TestHub, alerts_client, request};
use surgecast_proto::v1 as pb;
use surgecast_proto::v1::alert_service_client::AlertServiceClient;
use surgecast_proto::v1::subscribe_response::Item;
use tonic::Code;
use tonic::codec::Streaming;

/// The next `n` events' sequence numbers (heartbeats skipped).
async fn take(stream: &mut Streaming<pb::SubscribeResponse>, n: usize) -> Vec<u64> {
    let mut seqs = Vec::with_capacity(n);
    while seqs.len() < n {
        let msg = tokio::time::timeout(Duration::from_secs(20), stream.message())
            .await
            .expect("stream went quiet")
            .expect("stream failed")
            .expect("stream ended");
        if let Some(Item::Event(e)) = msg.item {
            seqs.push(e.seq);
        }
    }
    seqs
}

#[tokio::test]
async fn resume_after_replays_exactly_the_missed_events() {
    let hub = TestHub::start(10_000, 64).await;
    let site = hub.site(0);
    for _ in 0..50 {
        hub.append(&site);
    }
    let mut client = alerts_client(hub.channel().await);
    let mut stream = client
        .subscribe(request(Some(0)))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(take(&mut stream, 50).await, (1..=50).collect::<Vec<_>>());
    drop(stream);
    // Events while disconnected, then resume from the last one seen.
    for _ in 0..30 {
        hub.append(&site);
    }
    let mut stream = client
        .subscribe(request(Some(50)))
        .await
        .unwrap()
        .into_inner();
    for _ in 0..20 {
        hub.append(&site);
    }
    assert_eq!(take(&mut stream, 50).await, (51..=100).collect::<Vec<_>>());
}

#[tokio::test]
async fn filters_pass_only_matching_events() {
    let hub = TestHub::start(1000, 64).await;
    let (a, b) = (hub.site(0), hub.site(1));
    let mut client = alerts_client(hub.channel().await);
    let mut stream = client
        .subscribe(pb::SubscribeRequest {
            filter: Some(pb::AlertFilter {
                sites: vec![b.to_string()],
                severities: vec![pb::Severity::Critical as i32],
                kinds: vec![],
            }),
            resume_after: Some(0),
        })
        .await
        .unwrap()
        .into_inner();
    let mut expected = Vec::new();
    for i in 0..60 {
        let seq = hub.append(if i % 2 == 1 { &b } else { &a });
        // support::transition makes every third entry critical.
        if i % 2 == 1 && seq.is_multiple_of(3) {
            expected.push(seq);
        }
    }
    assert_eq!(take(&mut stream, expected.len()).await, expected);
}

#[tokio::test]
async fn a_subscriber_that_stops_reading_blocks_nobody_and_catches_up_from_the_log() {
    // A ring of 16: the stalled subscriber falls behind it almost at once.
    let hub = TestHub::start(100_000, 16).await;
    let site = hub.site(2);
    let mut stalled = alerts_client(hub.narrow_channel(16 * 1024).await)
        .subscribe(request(None))
        .await
        .unwrap()
        .into_inner();
    let mut reader = alerts_client(hub.channel().await)
        .subscribe(request(None))
        .await
        .unwrap()
        .into_inner();
    let reading = tokio::spawn(async move { take(&mut reader, 5000).await });
    // The engine's side: appending never waits for a subscriber.
    for _ in 0..5000 {
        hub.append(&site);
        tokio::task::yield_now().await;
    }
    assert_eq!(reading.await.unwrap(), (1..=5000).collect::<Vec<_>>());
    // The stalled one now reads: every event once, in order, the missed ones from the log.
    assert_eq!(
        take(&mut stalled, 5000).await,
        (1..=5000).collect::<Vec<_>>()
    );
    assert!(
        hub.lagged("resumed") >= 1,
        "the stalled subscriber never fell behind the ring"
    );
}

#[tokio::test]
async fn falling_out_of_the_log_is_reported_not_skipped() {
    let hub = TestHub::start(100, 16).await;
    let site = hub.site(3);
    let mut stalled = alerts_client(hub.narrow_channel(16 * 1024).await)
        .subscribe(request(None))
        .await
        .unwrap()
        .into_inner();
    for _ in 0..3000 {
        hub.append(&site);
        tokio::task::yield_now().await;
    }
    let mut seen = Vec::new();
    let status = loop {
        match tokio::time::timeout(Duration::from_secs(20), stalled.message())
            .await
            .expect("stream went quiet")
        {
            Ok(Some(pb::SubscribeResponse {
                item: Some(Item::Event(e)),
            })) => seen.push(e.seq),
            Ok(Some(_)) => {}
            Ok(None) => panic!("stream ended without saying why"),
            Err(status) => break status,
        }
    };
    assert_eq!(status.code(), Code::OutOfRange, "{status:?}");
    assert_eq!(hub.lagged("ended"), 1);
    assert!(status.message().contains("ListAlerts"), "{status:?}");
    // What did arrive has no gap.
    assert_eq!(seen, (1..=seen.len() as u64).collect::<Vec<_>>());
    assert!(seen.len() < 3000);

    // Resuming from before the kept log is refused up front, from ahead of it too.
    let mut client = alerts_client(hub.channel().await);
    let err = client.subscribe(request(Some(5))).await.unwrap_err();
    assert_eq!(err.code(), Code::OutOfRange);
    let err = client.subscribe(request(Some(999_999))).await.unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
}

#[tokio::test]
async fn bad_requests_and_missing_tokens_get_proper_codes() {
    let hub = TestHub::start(100, 16).await;
    let channel = hub.channel().await;
    let mut anonymous = AlertServiceClient::new(channel.clone());
    let err = anonymous
        .list_alerts(pb::ListAlertsRequest { filter: None })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unauthenticated);

    let mut client = alerts_client(channel);
    let bad_filter = |f: pb::AlertFilter| pb::SubscribeRequest {
        filter: Some(f),
        resume_after: None,
    };
    for (filter, says) in [
        (
            pb::AlertFilter {
                sites: vec!["NOPE1".into()],
                ..Default::default()
            },
            "filter.sites",
        ),
        (
            pb::AlertFilter {
                severities: vec![7],
                ..Default::default()
            },
            "filter.severities",
        ),
        (
            pb::AlertFilter {
                kinds: vec![0],
                ..Default::default()
            },
            "filter.kinds",
        ),
    ] {
        let err = client.subscribe(bad_filter(filter)).await.unwrap_err();
        assert_eq!(err.code(), Code::InvalidArgument, "{err:?}");
        assert!(err.message().contains(says), "{err:?}");
    }
    let err = client
        .get_alert(pb::GetAlertRequest {
            fingerprint: "xyz".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    // A viewer may not acknowledge.
    let err = client
        .acknowledge(pb::AcknowledgeRequest {
            fingerprint: "0123456789abcdef".into(),
            operator: String::new(),
            note: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
}
