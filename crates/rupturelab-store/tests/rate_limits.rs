//! The web server's shared rate-limit counters on both backends
//! (`db_test!`): failures count within a window, a passed window starts
//! again at one, clients and scopes are apart, a forgive takes one back, a clear forgets, and two
//! store handles on one database (two server processes) see one count.

use rupturelab_store::db_test;
use rupturelab_store::testing::TestDb;

db_test! {
#[tokio::test]
async fn failures_count_per_scope_and_client_within_a_window() {
    let dir = tempfile::tempdir().unwrap();
    let db = TestDb::create(&dir.path().join("r.db")).await;
    let a = db.open().await.unwrap();
    let b = db.open().await.unwrap();
    let w = 60_000;
    assert_eq!(a.rate_limit_failures("login", "10.0.0.1", 1_000, w).await.unwrap(), 0);
    assert_eq!(a.rate_limit_fail("login", "10.0.0.1", 1_000, w).await.unwrap(), 1);
    // The other process adds to the same count and reads it.
    assert_eq!(b.rate_limit_fail("login", "10.0.0.1", 2_000, w).await.unwrap(), 2);
    assert_eq!(a.rate_limit_fail("login", "10.0.0.1", 3_000, w).await.unwrap(), 3);
    assert_eq!(b.rate_limit_failures("login", "10.0.0.1", 3_000, w).await.unwrap(), 3);
    // Other clients and scopes are counted apart.
    assert_eq!(a.rate_limit_failures("login", "10.0.0.2", 3_000, w).await.unwrap(), 0);
    assert_eq!(a.rate_limit_failures("token", "10.0.0.1", 3_000, w).await.unwrap(), 0);
    assert_eq!(a.rate_limit_fail("token", "10.0.0.1", 3_000, w).await.unwrap(), 1);
    // The window runs from the first failure: at 61 s it has passed.
    assert_eq!(a.rate_limit_failures("login", "10.0.0.1", 60_999, w).await.unwrap(), 3);
    assert_eq!(a.rate_limit_failures("login", "10.0.0.1", 61_000, w).await.unwrap(), 0);
    assert_eq!(a.rate_limit_fail("login", "10.0.0.1", 61_000, w).await.unwrap(), 1);
    // A forgive takes one attempt back, never below zero.
    a.rate_limit_fail("login", "10.0.0.1", 61_000, w).await.unwrap();
    b.rate_limit_forgive("login", "10.0.0.1").await.unwrap();
    assert_eq!(a.rate_limit_failures("login", "10.0.0.1", 61_001, w).await.unwrap(), 1);
    a.rate_limit_forgive("login", "10.0.0.1").await.unwrap();
    a.rate_limit_forgive("login", "10.0.0.1").await.unwrap();
    assert_eq!(a.rate_limit_failures("login", "10.0.0.1", 61_001, w).await.unwrap(), 0);
    assert_eq!(a.rate_limit_fail("login", "10.0.0.1", 61_001, w).await.unwrap(), 1);
    // A clear forgets this client in this scope only.
    b.rate_limit_clear("login", "10.0.0.1").await.unwrap();
    assert_eq!(a.rate_limit_failures("login", "10.0.0.1", 61_001, w).await.unwrap(), 0);
    assert_eq!(a.rate_limit_failures("token", "10.0.0.1", 4_000, w).await.unwrap(), 1);
    // Passed windows are swept as new failures arrive.
    a.rate_limit_fail("login", "10.0.0.9", 200_000, w).await.unwrap();
    assert_eq!(a.rate_limit_failures("token", "10.0.0.1", 4_000, w).await.unwrap(), 0);
    a.close().await;
    b.close().await;
}
}
