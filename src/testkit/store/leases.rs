//! Cases of the leases and holds that worker nodes share (see
//! [`store::lease`](crate::store::lease)). A store that keeps one node's
//! state answers them with `Unsupported`, and these cases check that it says
//! so for every primitive instead of failing some other way.

use time::Duration;
use time::macros::datetime;

use crate::ErrorKind;
use crate::store::{Store, lease};

/// Whether `store` keeps leases; panics when it half does.
fn keeps_leases(store: &dyn Store) -> bool {
    let mut txn = store.begin().expect("begin");
    match txn.lease("probe") {
        Ok(None) => true,
        Ok(Some(l)) => panic!("an empty store holds lease {l:?}"),
        Err(e) => {
            assert_eq!(e.kind(), ErrorKind::Unsupported, "{e}");
            let at = datetime!(2026-01-01 0:00 UTC);
            let others: [(&str, crate::Result<()>); 5] = [
                ("next_lease_epoch", txn.next_lease_epoch().map(drop)),
                ("delete_lease", txn.delete_lease("x")),
                ("hold", txn.hold("x").map(drop)),
                ("put_hold", txn.put_hold("x", at)),
                ("take", lease::take(&mut *txn, "x", "w", at, at).map(drop)),
            ];
            for (what, result) in others {
                let kind = result.err().map(|e| e.kind());
                assert_eq!(
                    kind,
                    Some(ErrorKind::Unsupported),
                    "{what} of a store without leases"
                );
            }
            false
        }
    }
}

/// One holder at a time: a live lease of another holder is refused, its
/// holder renews it at the same epoch, and once it lapses another takes it
/// over at a greater epoch; releasing with a stale epoch changes nothing.
pub fn leases_have_one_holder_and_growing_epochs(store: &dyn Store) {
    if !keeps_leases(store) {
        return;
    }
    let t0 = datetime!(2026-01-01 0:00 UTC);
    let lapse = t0 + Duration::seconds(30);
    let mut txn = store.begin().expect("begin");
    let a = lease::take(&mut *txn, "twin/c/1", "a#1", t0, lapse)
        .expect("take")
        .expect("a free lease is taken");
    txn.commit().expect("commit");

    let mut txn = store.begin().expect("begin");
    let refused =
        lease::take(&mut *txn, "twin/c/1", "b#1", t0 + Duration::seconds(10), t0).expect("take");
    assert_eq!(refused, None, "a live lease of another holder is refused");
    let renewed = lease::take(
        &mut *txn,
        "twin/c/1",
        "a#1",
        t0 + Duration::seconds(20),
        t0 + Duration::seconds(50),
    )
    .expect("renew")
    .expect("its holder renews it");
    assert_eq!(renewed.epoch, a.epoch, "renewing keeps the epoch");
    assert_eq!(renewed.until, t0 + Duration::seconds(50));
    let other = lease::take(&mut *txn, "poll/c", "b#1", t0, lapse)
        .expect("take")
        .expect("another name is free");
    assert!(other.epoch > a.epoch, "epochs grow across names");
    txn.commit().expect("commit");

    let mut txn = store.begin().expect("begin");
    let over = lease::take(
        &mut *txn,
        "twin/c/1",
        "b#1",
        t0 + Duration::seconds(51),
        t0 + Duration::seconds(81),
    )
    .expect("take")
    .expect("a lapsed lease is taken over");
    assert!(over.epoch > other.epoch, "a new holding gets a new epoch");
    lease::release(&mut *txn, "twin/c/1", "a#1", a.epoch).expect("stale release");
    assert_eq!(
        txn.lease("twin/c/1").expect("read"),
        Some(over.clone()),
        "the former holder's release leaves the new holding"
    );
    txn.commit().expect("commit");

    let mut txn = store.begin().expect("begin");
    lease::release(&mut *txn, "twin/c/1", "b#1", over.epoch).expect("release");
    assert_eq!(txn.lease("twin/c/1").expect("read"), None, "released");
    txn.commit().expect("commit");
    let mut txn = store.begin().expect("begin");
    let again = lease::take(&mut *txn, "twin/c/1", "a#1", t0, lapse)
        .expect("take")
        .expect("free again");
    assert!(again.epoch > over.epoch, "never an epoch given before");
    drop(txn);
    let mut txn = store.begin().expect("begin");
    assert_eq!(
        txn.lease("twin/c/1").expect("read"),
        None,
        "a rolled-back take leaves no lease"
    );
    let after = txn.next_lease_epoch().expect("epoch");
    assert!(
        after > again.epoch,
        "an epoch drawn by a rolled-back transaction is not given again"
    );
}

/// [`Store::take_lease`] and [`Store::release_lease`], each a transaction of
/// its own, keep the rules of [`lease::take`] and [`lease::release`], and
/// agree with the leases the store's transactions read.
pub fn store_leases_follow_the_same_rules(store: &dyn Store) {
    let t0 = datetime!(2026-01-01 0:00 UTC);
    let lapse = t0 + Duration::seconds(30);
    if !keeps_leases(store) {
        let kind = store
            .take_lease("x", "w", t0, lapse)
            .err()
            .map(|e| e.kind());
        assert_eq!(kind, Some(ErrorKind::Unsupported), "take_lease");
        let kind = store.release_lease("x", "w", 1).err().map(|e| e.kind());
        assert_eq!(kind, Some(ErrorKind::Unsupported), "release_lease");
        return;
    }
    let a = store
        .take_lease("twin/c/2", "a#1", t0, lapse)
        .expect("take")
        .expect("a free lease is taken");
    let mut txn = store.begin().expect("begin");
    assert_eq!(txn.lease("twin/c/2").expect("read"), Some(a.clone()));
    drop(txn);
    let at = t0 + Duration::seconds(10);
    assert_eq!(
        store
            .take_lease("twin/c/2", "b#1", at, lapse)
            .expect("take"),
        None,
        "a live lease of another holder is refused"
    );
    let renewed = store
        .take_lease("twin/c/2", "a#1", at, t0 + Duration::seconds(40))
        .expect("renew")
        .expect("its holder renews it");
    assert_eq!(
        (renewed.epoch, renewed.until),
        (a.epoch, t0 + Duration::seconds(40))
    );
    let at = t0 + Duration::seconds(41);
    let over = store
        .take_lease("twin/c/2", "b#1", at, at + Duration::seconds(30))
        .expect("take")
        .expect("a lapsed lease is taken over");
    assert!(over.epoch > a.epoch, "a new holding gets a new epoch");
    store
        .release_lease("twin/c/2", "a#1", a.epoch)
        .expect("stale release");
    let mut txn = store.begin().expect("begin");
    assert_eq!(
        txn.lease("twin/c/2").expect("read"),
        Some(over.clone()),
        "the former holder's release leaves the new holding"
    );
    drop(txn);
    store
        .release_lease("twin/c/2", "b#1", over.epoch)
        .expect("release");
    let mut txn = store.begin().expect("begin");
    assert_eq!(txn.lease("twin/c/2").expect("read"), None, "released");
    let epoch = txn.next_lease_epoch().expect("epoch");
    assert!(
        epoch > over.epoch,
        "epochs are shared with the transactions'"
    );
}

/// A hold keeps the latest time recorded, per name.
pub fn holds_keep_the_latest_time(store: &dyn Store) {
    if !keeps_leases(store) {
        return;
    }
    let t0 = datetime!(2026-01-01 0:00 UTC);
    let mut txn = store.begin().expect("begin");
    assert_eq!(txn.hold("tracker/a").expect("read"), None);
    txn.put_hold("tracker/a", t0 + Duration::seconds(30))
        .expect("hold");
    txn.put_hold("tracker/a", t0 + Duration::seconds(10))
        .expect("an earlier hold");
    txn.put_hold("tracker/b", t0).expect("another tracker");
    txn.commit().expect("commit");
    let mut txn = store.begin().expect("begin");
    assert_eq!(
        txn.hold("tracker/a").expect("read"),
        Some(t0 + Duration::seconds(30)),
        "an earlier hold does not shorten a later one"
    );
    assert_eq!(txn.hold("tracker/b").expect("read"), Some(t0));
    txn.put_hold("tracker/a", t0 + Duration::seconds(60))
        .expect("hold");
    assert_eq!(
        txn.hold("tracker/a").expect("read"),
        Some(t0 + Duration::seconds(60))
    );
}
