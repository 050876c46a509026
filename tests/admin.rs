//! Connection administration through `Node::admin(&caller)`: every operation
//! refuses a caller without permission (`PermissionDenied`, nothing changed),
//! and a project admin may exactly when the project-level policy says so.

use std::time::Duration;

use twinsync::connection::{DEFAULT_PROJECT_LEVEL_GROUP, ProjectLevelPolicy};
use twinsync::engine::{
    Admin, DeleteOptions, InitiateRequest, Initiated, LocalConnectionOptions, RuleSpec,
};
use twinsync::model::{ConnectionId, UserId};
use twinsync::rules::RuleSet;
use twinsync::testkit::block_on;
use twinsync::testkit::ids as lit;
use twinsync::testkit::remote_rig::RemoteRig;
use twinsync::testkit::rig::LocalRig;
use twinsync::trigger::{TriggerId, TriggerSpec, TriggerUpdate};
use twinsync::{ErrorKind, Result};

fn user(u: &str) -> UserId {
    lit::user_id(u)
}

/// Every operation of [`Admin`], each set to change something on the fixture.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Op {
    CreateLocalConnection,
    InitiateLocal,
    Activate,
    Deactivate,
    Delete,
    DeleteUnexalating,
    UpgradeToCustom,
    SetRules,
    SaveRuleDraft,
    PublishRules,
    RollbackRules,
    AddTrigger,
    UpdateTrigger,
    RemoveTrigger,
    Resolve,
    SetProjectLevelPolicy,
}

const OPS: [Op; 16] = [
    Op::CreateLocalConnection,
    Op::InitiateLocal,
    Op::Activate,
    Op::Deactivate,
    Op::Delete,
    Op::DeleteUnexalating,
    Op::UpgradeToCustom,
    Op::SetRules,
    Op::SaveRuleDraft,
    Op::PublishRules,
    Op::RollbackRules,
    Op::AddTrigger,
    Op::UpdateTrigger,
    Op::RemoveTrigger,
    Op::Resolve,
    Op::SetProjectLevelPolicy,
];

/// A node with, all made by the global admin `ada`:
/// - `basic` (SUP ↔ DEV, active): a twin SUP-1 ↔ DEV-1 with a recorded
///   conflict, and trigger 1;
/// - `custom` (SUP ↔ DEV, deactivated): versions 1 and 2 published, a draft.
struct Fixture {
    rig: LocalRig,
    basic: ConnectionId,
    custom: ConnectionId,
}

impl Fixture {
    fn new() -> Self {
        let rig = LocalRig::new();
        let basic = rig.conn.id.clone();
        let admin = rig.admin();
        rig.user().create("SUP", "Bug", "Printer on fire");
        block_on(rig.node.exalate(&basic, &lit::key("SUP-1"))).unwrap();
        rig.advance(10);
        rig.user().edit_summary("SUP-1", "Printer on fire, floor 3");
        rig.advance(10);
        rig.user().edit_summary("DEV-1", "Printer smokes");
        rig.sync();
        assert_eq!(rig.node.conflicts(&basic).unwrap().len(), 1);
        block_on(admin.add_trigger(
            &basic,
            TriggerSpec::new(lit::project("SUP"), "labels = escalate"),
        ))
        .unwrap();

        let options = LocalConnectionOptions::default().name("custom");
        let custom = block_on(admin.create_local_connection("SUP", "DEV", options))
            .unwrap()
            .id;
        block_on(admin.upgrade_to_custom(&custom)).unwrap();
        for spec in [RuleSpec::default().with_labels(), RuleSpec::default()] {
            block_on(admin.save_rule_draft(&custom, spec)).unwrap();
            block_on(admin.publish_rules(&custom)).unwrap();
        }
        block_on(admin.save_rule_draft(&custom, RuleSpec::default().with_labels())).unwrap();
        block_on(admin.deactivate(&custom)).unwrap();
        Fixture { rig, basic, custom }
    }

    /// Everything a user can see of the node's administration.
    fn snapshot(&self) -> String {
        let node = &self.rig.node;
        let mut seen = format!(
            "{:?}\n{:?}\n{:?}\n",
            node.connections().unwrap(),
            node.project_level_policy().unwrap(),
            node.invitations().unwrap(),
        );
        for conn in node.connections().unwrap() {
            seen += &format!(
                "{:?}\n{:?}\n{:?}\n",
                node.rule_history(&conn.id).unwrap(),
                node.conflicts(&conn.id).unwrap(),
                node.status(&conn.id).map(|s| s.to_string()),
            );
        }
        seen + &format!("{:?}{:?}", self.rig.issues("SUP"), self.rig.issues("DEV"))
    }

    async fn run(&self, op: Op, admin: &Admin<'_>) -> Result<()> {
        let (basic, custom) = (&self.basic, &self.custom);
        match op {
            Op::CreateLocalConnection => admin
                .create_local_connection(
                    "SUP",
                    "DEV",
                    LocalConnectionOptions::default().name("third"),
                )
                .await
                .map(drop),
            Op::InitiateLocal => {
                let own = self.rig.node.instance().to_string();
                let request = InitiateRequest::new(lit::project("SUP"))
                    .destination(own)
                    .destination_project(lit::project("DEV"))
                    .name("fourth");
                admin.initiate(request).await.map(drop)
            }
            Op::Activate => admin.activate(custom).await.map(drop),
            Op::Deactivate => admin.deactivate(basic).await.map(drop),
            Op::Delete => {
                admin
                    .delete_connection(basic, DeleteOptions::default())
                    .await
            }
            Op::DeleteUnexalating => {
                admin
                    .delete_connection(basic, DeleteOptions::unexalating())
                    .await
            }
            Op::UpgradeToCustom => admin.upgrade_to_custom(basic).await.map(drop),
            Op::SetRules => admin.set_rules(custom, RuleSet::custom()).await,
            Op::SaveRuleDraft => admin.save_rule_draft(custom, RuleSpec::default()).await,
            Op::PublishRules => admin.publish_rules(custom).await.map(drop),
            Op::RollbackRules => admin.rollback_rules(custom, 1).await.map(drop),
            Op::AddTrigger => admin
                .add_trigger(
                    basic,
                    TriggerSpec::new(lit::project("DEV"), "summary ~ fire"),
                )
                .await
                .map(drop),
            Op::UpdateTrigger => admin
                .update_trigger(basic, TriggerId(1), TriggerUpdate::default().enabled(false))
                .await
                .map(drop),
            Op::RemoveTrigger => admin.remove_trigger(basic, TriggerId(1)).await.map(drop),
            Op::Resolve => admin.resolve(basic, &lit::key("DEV-1")).await,
            Op::SetProjectLevelPolicy => {
                let policy = ProjectLevelPolicy {
                    enabled: true,
                    ..ProjectLevelPolicy::default()
                };
                admin.set_project_level_policy(&policy).await
            }
        }
    }

    /// Runs `op` as `caller` and says whether it was allowed; a refusal must
    /// be `PermissionDenied` naming the caller, and change nothing.
    fn allowed(&self, op: Op, caller: &UserId) -> bool {
        let before = self.snapshot();
        match block_on(self.run(op, &self.rig.node.admin(caller))) {
            Ok(()) => true,
            Err(err) => {
                assert_eq!(err.kind(), ErrorKind::PermissionDenied, "{op:?}: {err}");
                assert!(err.to_string().contains(caller.as_str()), "{op:?}: {err}");
                assert_eq!(
                    self.snapshot(),
                    before,
                    "{op:?} refused but changed something"
                );
                false
            }
        }
    }
}

/// The project-level policy with project-level connections on.
fn on() -> ProjectLevelPolicy {
    ProjectLevelPolicy {
        enabled: true,
        ..ProjectLevelPolicy::default()
    }
}

#[test]
fn a_global_admin_may_do_every_operation_and_each_changes_something() {
    for op in OPS {
        let fixture = Fixture::new();
        let before = fixture.snapshot();
        assert!(fixture.allowed(op, &user("ada")), "{op:?}");
        // Rules set in code are not stored: nothing shows them but a sync.
        if op != Op::SetRules {
            assert_ne!(fixture.snapshot(), before, "{op:?} changed nothing");
        }
    }
}

#[test]
fn every_operation_refuses_a_user_without_permission_and_changes_nothing() {
    for op in OPS {
        let fixture = Fixture::new();
        // uma administers nothing, whatever the policy says.
        block_on(fixture.rig.admin().set_project_level_policy(&on())).unwrap();
        assert!(!fixture.allowed(op, &user("uma")), "{op:?}");
        assert!(!fixture.allowed(op, &user("nobody")), "{op:?}");
    }
}

#[test]
fn a_project_admin_may_exactly_when_the_project_level_policy_allows() {
    let pat = user("pat");
    let group = DEFAULT_PROJECT_LEVEL_GROUP;
    // (policy on, the group's members or no group, allowed)
    let cases: [(bool, Option<Vec<UserId>>, bool); 5] = [
        (false, None, false),
        (false, Some(vec![pat.clone()]), false),
        (true, None, true),
        (true, Some(vec![user("uma")]), false),
        (true, Some(vec![pat.clone()]), true),
    ];
    for (enabled, members, expected) in cases {
        for op in OPS {
            let fixture = Fixture::new();
            let tracker = &fixture.rig.tracker;
            tracker.set_project_admin(&lit::project("DEV"), &pat, true); // and SUP
            if let Some(members) = &members {
                tracker.set_group(group, members);
            }
            let policy = ProjectLevelPolicy {
                enabled,
                ..ProjectLevelPolicy::default()
            };
            block_on(fixture.rig.admin().set_project_level_policy(&policy)).unwrap();
            // Only global admins change the policy itself.
            let expected = expected && op != Op::SetProjectLevelPolicy;
            assert_eq!(
                fixture.allowed(op, &pat),
                expected,
                "{op:?}, enabled {enabled}, group {members:?}"
            );
        }
    }
}

#[test]
fn a_project_admin_of_one_side_only_may_not_change_the_connection() {
    for op in OPS {
        let fixture = Fixture::new();
        block_on(fixture.rig.admin().set_project_level_policy(&on())).unwrap();
        // pat administers SUP, not DEV.
        assert!(!fixture.allowed(op, &user("pat")), "{op:?}");
    }
}

/// The remote operations, on a connection established between two nodes.
#[derive(Clone, Copy, Debug, PartialEq)]
enum RemoteOp {
    Initiate,
    Accept,
    RevokeInvitation,
    Reinvite,
    Rejoin,
}

/// Both nodes' connections and A's invitations.
fn remote_snapshot(rig: &RemoteRig) -> String {
    format!(
        "{:?}\n{:?}\n{:?}",
        rig.a.node.connections().unwrap(),
        rig.b.node.connections().unwrap(),
        rig.a.node.invitations().unwrap(),
    )
}

#[test]
fn remote_operations_refuse_a_user_without_permission_and_change_nothing() {
    use RemoteOp::*;
    for op in [Initiate, Accept, RevokeInvitation, Reinvite, Rejoin] {
        let mut rig = RemoteRig::new();
        let conn = rig.connect();
        if op == Rejoin {
            rig.wipe_b(); // rejoining is for a side that lost its state
        }
        let ada = rig.a.node.admin(&user("ada"));
        let pending =
            block_on(ada.initiate(InitiateRequest::new(lit::project("SUP")).name("pending")))
                .unwrap();
        let Initiated::Invitation { connection, code } = pending else {
            panic!("an invitation: {pending:?}");
        };
        // B's admin lets A set the connection up there again.
        let token = block_on(
            rig.b
                .node
                .admin(&user("ada"))
                .issue_establish_token(&lit::project("DEV"), Duration::from_secs(600)),
        )
        .unwrap();
        let run = |caller: &UserId| -> Result<()> {
            let (a, b) = (rig.a.node.admin(caller), rig.b.node.admin(caller));
            block_on(async {
                match op {
                    Initiate => a
                        .initiate(InitiateRequest::new(lit::project("SUP")))
                        .await
                        .map(drop),
                    Accept => b
                        .accept(code.as_str(), &lit::project("DEV"))
                        .await
                        .map(drop),
                    RevokeInvitation => a.revoke_invitation(&connection.id).await,
                    Reinvite => a.reinvite(&conn.id).await.map(drop),
                    Rejoin => a.rejoin(&conn.id, &token).await.map(drop),
                }
            })
        };
        let before = remote_snapshot(&rig);
        for caller in [user("uma"), user("pat")] {
            let err = run(&caller).expect_err("refused");
            assert_eq!(err.kind(), ErrorKind::PermissionDenied, "{op:?}: {err}");
            assert_eq!(
                remote_snapshot(&rig),
                before,
                "{op:?} refused but changed something"
            );
        }
        // The same operation works for a global admin.
        run(&user("ada")).unwrap_or_else(|e| panic!("{op:?} as ada: {e}"));
    }
}
