//! Jira webhooks end to end: the emulator sends deliveries to a node's
//! receiver, which wakes `Node::run` long before its poll interval; bad
//! deliveries are refused and counted without a write; a dropped delivery
//! is caught by polling.

mod recorder;
mod refusals;
mod registration;
mod world;

use std::time::Duration;

use twinsync::engine::NodeOptions;
use twinsync::model::IssueKey;
use twinsync::tracker::Tracker;
use twinsync::tracker::jira::emulator::{AdminWebhook, DeliveryFaults};
use world::{POLL, SECRET, World, eventually, pause};

/// The admin webhook a Jira admin would enter for this node.
fn admin_hook(world: &World) -> AdminWebhook {
    AdminWebhook::new(world.hook_url())
        .secret(SECRET)
        .jql("project in (SUP, DEV)")
}

/// A node, with the admin webhook, started after SUP's "Printer on fire"
/// was exalated: the world, the issue and its twin.
async fn started_with_a_twin() -> (World, IssueKey, IssueKey) {
    let mut world = World::new(World::admin_config(), NodeOptions::default()).await;
    let sup = world.create("SUP", "Printer on fire").await;
    let dev = world.exalate(&sup).await;
    world.emulator.add_admin_webhook(admin_hook(&world));
    world.start().await;
    (world, sup, dev)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edit_reaches_its_twin_by_webhook_while_the_poll_interval_has_not_elapsed() {
    let (mut world, sup, dev) = started_with_a_twin().await;
    let start = twinsync::clock::Clock::now(&world.clock);
    // The run loop's first cycle, then nothing until a webhook wakes it.
    pause().await;
    world.edit(&sup, "Printer on fire, again").await;
    eventually("the edit reached its twin", || {
        world.summary(&dev) == "Printer on fire, again"
    })
    .await;
    let elapsed = twinsync::clock::Clock::now(&world.clock) - start;
    assert!(
        elapsed < POLL,
        "synced {elapsed} after the start, before any poll was due"
    );
    // A comment travels the same way (comment_created).
    let id = world.emulator.tracker().inspect_issue(&sup).unwrap().id;
    world
        .human
        .add_comment(
            &id,
            &twinsync::tracker::NewComment::public(twinsync::model::RichText::plain("smoke seen")),
        )
        .await
        .unwrap();
    eventually("the comment reached the twin", || {
        world
            .emulator
            .tracker()
            .inspect_issue(&dev)
            .unwrap()
            .comments
            .iter()
            .any(|c| c.body.to_plain_text().contains("smoke seen"))
    })
    .await;
    let counts = world.receiver.counts();
    assert!(counts.accepted >= 2, "{counts:?}");
    assert_eq!(counts.bad_signature + counts.malformed, 0, "{counts:?}");
    let deliveries = world.emulator.deliveries();
    assert!(
        deliveries
            .iter()
            .any(|d| d.event == "comment_created" && d.issue == sup.as_str()),
        "{deliveries:?}"
    );
    let report = world.stop().await;
    assert_eq!(report.failed_cycles, 0, "{report:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_delivery_is_caught_by_polling() {
    let (mut world, sup, dev) = started_with_a_twin().await;
    pause().await;
    let mut faults = DeliveryFaults::default();
    faults.drop_next = 1;
    world.emulator.set_delivery_faults(faults);
    world.edit(&sup, "Nobody was told").await;
    eventually("the delivery was dropped", || {
        world.emulator.deliveries().iter().any(|d| d.dropped)
    })
    .await;
    pause().await;
    assert_eq!(
        world.summary(&dev),
        "Printer on fire",
        "no delivery, no poll yet"
    );
    assert_eq!(world.receiver.counts().accepted, 0);
    // The poll interval passes: polling catches what the webhook missed.
    world.clock.advance(POLL + Duration::from_secs(1));
    eventually("polling synced the edit", || {
        world.summary(&dev) == "Nobody was told"
    })
    .await;
    world.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_repeated_delivery_is_deduped_by_its_identifier() {
    let (mut world, sup, dev) = started_with_a_twin().await;
    pause().await;
    let mut faults = DeliveryFaults::default();
    faults.duplicate = true;
    world.emulator.set_delivery_faults(faults);
    world.edit(&sup, "Said twice").await;
    eventually("the edit reached its twin", || {
        world.summary(&dev) == "Said twice"
    })
    .await;
    // Every delivery (the human's edit, and the twin's write the node made)
    // comes twice; only the first copy is accepted.
    eventually("every copy arrived", || {
        let c = world.receiver.counts();
        let sent = world.emulator.deliveries().len() as u64;
        c.accepted + c.duplicate == 2 * sent && c.duplicate == sent
    })
    .await;
    let counts = world.receiver.counts();
    assert!(counts.duplicate >= 1, "{counts:?}");
    assert_eq!(counts.accepted, world.emulator.deliveries().len() as u64);
    world.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_hinted_issue_is_read_directly_when_the_search_lags() {
    let (mut world, sup, dev) = started_with_a_twin().await;
    pause().await;
    // Jira's search index lags behind writes: the poll does not see the edit.
    world.emulator.set_search_lag(Duration::from_secs(600));
    world.clock.advance(Duration::from_secs(60));
    world.edit(&sup, "Indexed later").await;
    eventually("the edit reached its twin", || {
        world.summary(&dev) == "Indexed later"
    })
    .await;
    world.stop().await;
}
