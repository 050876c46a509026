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
