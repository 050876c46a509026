//! The tracker conformance suite for `JiraCloud` and `JiraDataCenter`, each
//! against the loopback Jira emulator over real HTTP, one named test per case.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use twinsync::testkit::ids as lit;
use twinsync::testkit::{PermissionFixture, TrackerFixture, WorkflowFixture};
use twinsync::tracker::Tracker;
use twinsync::tracker::jira::emulator::{Deployment, EmulatorOptions, JiraEmulator};

/// An emulator that calls itself Data Center, for the Data Center adapter.
fn data_center_site() -> EmulatorOptions {
    EmulatorOptions::default().deployment(Deployment::DataCenter)
}

/// Each test runs on its own tokio runtime; the emulator lives as long as it.
fn block_on<F: Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime")
        .block_on(future)
}

fn permissions() -> PermissionFixture {
    PermissionFixture {
        global_admin: lit::user_id("ada"),
        project_admin: lit::user_id("pat"),
        plain_user: lit::user_id("uma"),
        group: ("sync-admins".to_owned(), vec![lit::user_id("pat")]),
        missing_group: "no-such-group".to_owned(),
    }
}

/// The fixture of an adapter of `emulator`, which sets workflows up on
/// the emulator's contents (what [`JiraEmulator::set_workflow`] does).
fn fixture(
    emulator: &JiraEmulator,
    tracker: Arc<dyn Tracker>,
    permissions: Option<PermissionFixture>,
) -> TrackerFixture {
    let mut f = TrackerFixture::new(tracker, lit::project("SUP"), "Bug");
    f.permissions = permissions;
    let workflows = WorkflowFixture::new(emulator.tracker().clone());
    f.workflows = Some(match emulator.deployment() {
        // Data Center has no workflow preview: `workflow()` answers `None`.
        Deployment::DataCenter => workflows.untold(),
        _ => workflows,
    });
    f
}

async fn cloud() -> TrackerFixture {
    let emulator = JiraEmulator::start().await.expect("the emulator starts");
    twinsync::testkit::describe_sup_fields(emulator.tracker());
    let tracker = emulator.cloud().expect("a cloud adapter");
    let f = fixture(&emulator, Arc::new(tracker), Some(permissions()));
    emulator.detach();
    f
}

twinsync::tracker_conformance!(cloud, block_on);

mod cloud_with_search_lag {
    //! Searches lag behind writes, as Jira's do.

    use super::*;

    async fn lagging() -> TrackerFixture {
        let emulator = JiraEmulator::start().await.expect("the emulator starts");
        twinsync::testkit::describe_sup_fields(emulator.tracker());
        emulator
            .tracker()
            .set_search_lag(Duration::from_millis(400));
        let tracker = emulator.cloud().expect("a cloud adapter");
        let mut f = fixture(&emulator, Arc::new(tracker), Some(permissions()));
        emulator.detach();
        f.search_lag = Duration::from_secs(5);
        f
    }

    twinsync::tracker_conformance!(lagging, super::block_on);
}

mod data_center {
    //! The Data Center adapter (REST v2, wiki markup) against the emulator's v2 paths.
    //!
    //! Data Center cannot tell whether *another* user is a global admin, so
    //! the suite's permission case is skipped here and replaced by the
    //! checks below.

    use super::*;

    async fn data_center() -> TrackerFixture {
        let emulator = JiraEmulator::start_with(data_center_site())
            .await
            .expect("the emulator starts");
        twinsync::testkit::describe_sup_fields(emulator.tracker());
        let tracker = emulator.data_center().expect("a data center adapter");
        let f = fixture(&emulator, Arc::new(tracker), None);
        emulator.detach();
        f
    }

    twinsync::tracker_conformance!(data_center, super::block_on);

    #[test]
    fn project_admins_groups_and_own_admin_rights() {
        block_on(async {
            let emulator = JiraEmulator::start_with(data_center_site())
                .await
                .expect("the emulator starts");
            let jira = emulator.data_center().expect("a data center adapter");
            let sup = lit::project("SUP");
            assert!(
                jira.is_project_admin(&lit::user_id("pat"), &sup)
                    .await
                    .unwrap()
            );
            assert!(
                !jira
                    .is_project_admin(&lit::user_id("uma"), &sup)
                    .await
                    .unwrap()
            );
            let me = jira.myself().await.unwrap();
            assert!(
                jira.is_global_admin(&me.id).await.unwrap(),
                "the integration user is an admin"
            );
            let err = jira
                .is_global_admin(&lit::user_id("ada"))
                .await
                .unwrap_err();
            assert_eq!(err.kind(), twinsync::ErrorKind::Unsupported, "{err}");
            assert_eq!(
                jira.group_members("sync-admins").await.unwrap(),
                Some(vec![lit::user_id("pat")])
            );
            assert_eq!(jira.group_members("nobody").await.unwrap(), None);
        });
    }
}
