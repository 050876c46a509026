//! The tracker conformance suite against `MemoryTracker`, one named test per case.

async fn memory() -> twinsync::testkit::TrackerFixture {
    twinsync::testkit::memory_fixture()
}

twinsync::tracker_conformance!(memory);

mod with_search_lag {
    //! The same suite with searches lagging a little behind writes on the real clock.

    async fn lagging() -> twinsync::testkit::TrackerFixture {
        let tracker = twinsync::testkit::memory_tracker();
        tracker.set_search_lag(std::time::Duration::from_millis(300));
        let mut fixture = twinsync::testkit::memory_fixture_for(tracker);
        fixture.search_lag = std::time::Duration::from_secs(5);
        fixture
    }

    twinsync::tracker_conformance!(lagging);
}

mod with_nothing_optional {
    //! The suite against a tracker with every optional capability off: each
    //! operation they cover must be refused as `Unsupported`.

    use std::sync::Arc;
    use twinsync::testkit::LimitedTracker;
    use twinsync::tracker::Tracker;

    async fn limited() -> twinsync::testkit::TrackerFixture {
        let memory = twinsync::testkit::memory_tracker();
        let mut capabilities = memory.capabilities();
        capabilities.issue_properties = false;
        capabilities.comment_properties = false;
        capabilities.attachments = false;
        capabilities.delete_comments = false;
        capabilities.permissions = false;
        capabilities.users = false;
        capabilities.remote_links = false;
        capabilities.issue_links = false;
        capabilities.workflows = false;
        let mut fixture = twinsync::testkit::memory_fixture_for(memory.clone());
        fixture.tracker = Arc::new(LimitedTracker::new(Arc::new(memory), capabilities));
        fixture
    }

    twinsync::tracker_conformance!(limited);
}

mod through_a_forwarding_wrapper {
    //! The suite against a wrapper that `forward_tracker!` writes: it claims
    //! what the inner tracker claims, so every method must reach the inner
    //! tracker rather than answer with the trait's `Unsupported` default.

    use std::sync::Arc;
    use twinsync::tracker::Tracker;

    #[derive(Debug)]
    struct Plain(Arc<dyn Tracker>);

    twinsync::forward_tracker!([] Plain, 0);

    async fn wrapped() -> twinsync::testkit::TrackerFixture {
        let memory = twinsync::testkit::memory_tracker();
        let mut fixture = twinsync::testkit::memory_fixture_for(memory.clone());
        fixture.tracker = Arc::new(Plain(Arc::new(memory)));
        fixture
    }

    twinsync::tracker_conformance!(wrapped);
}
