//! Conformance: permission queries and user lookups.

use super::*;

/// Global admin, project admin and group queries answer as the fixture says
/// (the fixture may leave them out), or are `Unsupported` without the
/// `permissions` capability.
pub async fn permission_queries(f: &TrackerFixture) {
    let t = &f.tracker;
    if !t.capabilities().permissions {
        let user = lit::user_id("anyone");
        let result = t.is_global_admin(&user).await;
        assert_unsupported(result, "is_global_admin()", "permissions");
        let result = t.is_project_admin(&user, &f.project).await;
        assert_unsupported(result, "is_project_admin()", "permissions");
        let result = t.group_members("anyone").await;
        assert_unsupported(result, "group_members()", "permissions");
        return;
    }
    let Some(p) = &f.permissions else {
        return;
    };
    assert!(
        t.is_global_admin(&p.global_admin)
            .await
            .expect("is_global_admin()")
    );
    assert!(
        !t.is_global_admin(&p.plain_user)
            .await
            .expect("is_global_admin()")
    );
    assert!(
        t.is_project_admin(&p.project_admin, &f.project)
            .await
            .expect("is_project_admin()")
    );
    assert!(
        !t.is_project_admin(&p.plain_user, &f.project)
            .await
            .expect("is_project_admin()")
    );
    let members = t.group_members(&p.group.0).await.expect("group_members()");
    let mut members = members.unwrap_or_else(|| panic!("group {:?} must exist", p.group.0));
    members.sort();
    let mut want = p.group.1.clone();
    want.sort();
    assert_eq!(members, want);
    assert_eq!(
        t.group_members(&p.missing_group)
            .await
            .expect("group_members()"),
        None
    );
}

/// With the `users` capability, an account nobody has is `NotFound` and an
/// address nobody has finds nobody (never a partial match); without it, both
/// lookups are `Unsupported`.
pub async fn user_lookups(f: &TrackerFixture) {
    let t = &f.tracker;
    let nobody = crate::model::UserId::new(unique("twinsync-nobody")).expect("a user id");
    let email = format!("{}@twinsync.invalid", unique("nobody"));
    if !t.capabilities().users {
        assert_unsupported(t.user_profile(&nobody).await, "user_profile()", "users");
        assert_unsupported(t.users_by_email(&email).await, "users_by_email()", "users");
        return;
    }
    let err = t.user_profile(&nobody).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound, "an unknown account: {err}");
    let found = t.users_by_email(&email).await.expect("a search");
    assert!(found.is_empty(), "nobody has {email}: {found:?}");
}
