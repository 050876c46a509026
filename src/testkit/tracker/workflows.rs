//! Conformance: workflows, the transitions an issue can take, and taking them.

use std::collections::{BTreeMap, BTreeSet};

use crate::error::ErrorKind;
use crate::model::{CustomValue, FieldKind, FieldMeta, IssueId, Transition, Workflow};
use crate::testkit::TrackerFixture;

/// The field Resolve's screen requires.
const RESOLUTION: &str = "resolution";

/// Triage → (Accept) Open → (Resolve, needs a resolution) Resolved;
/// Escalate leads from Triage or Open to Escalated; Reopen leads back to
/// Triage from anywhere.
fn conformance_flow() -> Workflow {
    Workflow::new("Triage")
        .named("Conformance flow")
        .with(Transition::new("11", "Accept", "Open").from(["Triage"]))
        .with(
            Transition::new("21", "Resolve", "Resolved")
                .from(["Open"])
                .field(
                    FieldMeta::new(RESOLUTION, "Resolution", FieldKind::Select)
                        .options(["Fixed", "Won't Do"])
                        .required(),
                ),
        )
        .with(Transition::new("31", "Escalate", "Escalated").from(["Triage", "Open"]))
        .with(Transition::new("41", "Reopen", "Triage"))
}

/// Asserts that the issue is in `status` (case-insensitively), after `what`.
async fn assert_status(f: &TrackerFixture, id: &IssueId, status: &str, what: &str) {
    let issue = f.tracker.issue(id).await.expect("issue()");
    assert!(
        issue.status.eq_ignore_ascii_case(status),
        "{what}: the issue is in status {:?}, not {status:?}",
        issue.status
    );
}

/// The transitions `id` offers now, checked to be exactly `expected` (by id).
async fn offered(
    f: &TrackerFixture,
    id: &IssueId,
    expected: &[&str],
    from: &str,
) -> Vec<Transition> {
    let offered = f.tracker.transitions(id).await.expect("transitions()");
    let ids: BTreeSet<&str> = offered.iter().map(|t| t.id.as_str()).collect();
    assert_eq!(
        ids,
        expected.iter().copied().collect::<BTreeSet<_>>(),
        "the transitions offered from {from}: {offered:?}"
    );
    for t in &offered {
        let want = conformance_flow()
            .transitions
            .into_iter()
            .find(|w| w.id == t.id)
            .expect("an expected transition");
        assert!(
            t.leads_to(&want.to),
            "transition {} leads to {:?}, not {:?}",
            t.id,
            t.to,
            want.to
        );
    }
    offered
}

/// Checks what [`Tracker::workflow`](crate::Tracker::workflow) told of the
/// flow set: its initial status, statuses and transitions (ids, ends).
fn assert_told(told: &Workflow) {
    let flow = conformance_flow();
    assert!(
        told.initial.eq_ignore_ascii_case(&flow.initial),
        "the initial status: {told:?}"
    );
    for status in &flow.statuses {
        assert!(
            told.status(status).is_some(),
            "status {status:?} in {:?}",
            told.statuses
        );
    }
    for want in &flow.transitions {
        let Some(t) = told.transitions.iter().find(|t| t.id == want.id) else {
            panic!("transition {} ({}) in {told:?}", want.id, want.name);
        };
        assert!(
            t.leads_to(&want.to),
            "transition {} to {:?}: {t:?}",
            t.id,
            want.to
        );
        let from: BTreeSet<String> = t.from.iter().map(|s| s.to_lowercase()).collect();
        let want_from: BTreeSet<String> = want.from.iter().map(|s| s.to_lowercase()).collect();
        assert_eq!(from, want_from, "where transition {} starts", t.id);
    }
    let path: Vec<&str> = told
        .path(&flow.initial, "Resolved")
        .expect("a path to Resolved")
        .iter()
        .map(|t| t.id.as_str())
        .collect();
    assert_eq!(path, ["11", "21"], "the shortest path to Resolved");
}

/// With the `workflows` capability and a [`WorkflowFixture`](crate::testkit::WorkflowFixture):
/// a new issue of a type following a workflow starts in its initial
/// status; [`workflow`](crate::Tracker::workflow) tells the workflow (or,
/// where the fixture says the tracker does not tell, `None`);
/// [`transitions`](crate::Tracker::transitions) offers those that start
/// from the issue's status, with the fields their screens require; taking
/// one without a required field is `InvalidInput` naming it, and changes
/// nothing; with it, the issue moves; a transition refused (by a condition
/// or validator) or not offered from the issue's status is `Refused`, with
/// the tracker's message, and changes nothing. Without the capability,
/// `workflow` answers `None` and the other calls are `Unsupported`.
pub async fn workflow_transitions_round_trip(f: &TrackerFixture) {
    let t = &f.tracker;
    if !t.capabilities().workflows {
        let (id, _) = super::create(f, &super::unique("no workflows")).await;
        let told = t
            .workflow(&f.project, &f.issue_type)
            .await
            .expect("workflow() without the capability");
        assert_eq!(told, None, "workflow() without capability workflows");
        super::assert_unsupported(t.transitions(&id).await, "transitions()", "workflows");
        super::assert_unsupported(
            t.transition_issue(&id, "11", &BTreeMap::new()).await,
            "transition_issue()",
            "workflows",
        );
        return;
    }
    let Some(fixture) = &f.workflows else {
        // Nothing to set up: the calls answer, whatever the workflow is.
        let (id, _) = super::create(f, &super::unique("any workflow")).await;
        t.workflow(&f.project, &f.issue_type)
            .await
            .expect("workflow()");
        t.transitions(&id).await.expect("transitions()");
        return;
    };
    fixture
        .admin
        .set_workflow(&f.project, Some(&f.issue_type), conformance_flow())
        .expect("the fixture sets the workflow");

    let (id, _) = super::create(f, &super::unique("workflow")).await;
    assert_status(f, &id, "Triage", "a new issue").await;
    match t
        .workflow(&f.project, &f.issue_type)
        .await
        .expect("workflow()")
    {
        Some(told) => assert_told(&told),
        None => assert!(
            !fixture.tells_workflows,
            "workflow() must tell the workflow set on {} {:?} (the fixture says the tracker tells)",
            f.project, f.issue_type
        ),
    }

    // A refused transition answers with the tracker's message.
    let message = "Escalations need a duty manager";
    fixture
        .admin
        .refuse_transition(&f.project, "31", Some(message))
        .expect("the fixture refuses a transition");
    offered(f, &id, &["11", "31", "41"], "Triage").await;
    let err = t
        .transition_issue(&id, "31", &BTreeMap::new())
        .await
        .expect_err("a refused transition");
    assert_eq!(err.kind(), ErrorKind::Refused, "{err}");
    assert!(
        err.to_string().contains(message),
        "the refusal keeps the tracker's message: {err}"
    );
    assert_status(f, &id, "Triage", "a refused transition").await;

    t.transition_issue(&id, "11", &BTreeMap::new())
        .await
        .expect("transition_issue() Accept");
    assert_status(f, &id, "Open", "Accept").await;

    // Resolve needs its resolution.
    let from_open = offered(f, &id, &["21", "31", "41"], "Open").await;
    let resolve = from_open.iter().find(|t| t.id == "21").expect("Resolve");
    let required: Vec<&str> = resolve.required_fields().map(|m| m.id.as_str()).collect();
    assert_eq!(
        required,
        [RESOLUTION],
        "the fields Resolve requires: {resolve:?}"
    );
    let err = t
        .transition_issue(&id, "21", &BTreeMap::new())
        .await
        .expect_err("a required field missing");
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
    assert!(
        err.to_string().contains(RESOLUTION) || err.to_string().contains("Resolution"),
        "the error names the missing field: {err}"
    );
    assert_status(f, &id, "Open", "a transition missing its field").await;
    let fields = BTreeMap::from([(
        RESOLUTION.to_owned(),
        CustomValue::Select("Fixed".to_owned()),
    )]);
    t.transition_issue(&id, "21", &fields)
        .await
        .expect("transition_issue() Resolve with its resolution");
    assert_status(f, &id, "Resolved", "Resolve").await;

    // Accept starts from Triage only.
    offered(f, &id, &["41"], "Resolved").await;
    let err = t
        .transition_issue(&id, "11", &BTreeMap::new())
        .await
        .expect_err("a transition not offered from the issue's status");
    assert_eq!(err.kind(), ErrorKind::Refused, "{err}");
    assert_status(f, &id, "Resolved", "a transition not offered").await;

    // A global transition, then the refusal lifted.
    t.transition_issue(&id, "41", &BTreeMap::new())
        .await
        .expect("transition_issue() Reopen");
    assert_status(f, &id, "Triage", "Reopen").await;
    fixture
        .admin
        .refuse_transition(&f.project, "31", None)
        .expect("the fixture lifts the refusal");
    t.transition_issue(&id, "31", &BTreeMap::new())
        .await
        .expect("transition_issue() Escalate, no longer refused");
    assert_status(f, &id, "Escalated", "Escalate").await;
}
