//! Sets the `rupturelab_test_pg` cfg when RUPTURELAB_TEST_PG is set, so the
//! PostgreSQL variants of the `db_test!` tests run instead of being ignored,
//! and rebuilds the binary when the bundled example study changes (`include_dir!`
//! does not tell cargo which files it read, so `demo` would keep stale data).
fn main() {
    println!("cargo::rerun-if-changed=../../examples/rupture-study");
    println!("cargo::rustc-check-cfg=cfg(rupturelab_test_pg)");
    println!("cargo::rerun-if-env-changed=RUPTURELAB_TEST_PG");
    if std::env::var_os("RUPTURELAB_TEST_PG").is_some_and(|v| !v.is_empty()) {
        println!("cargo::rustc-cfg=rupturelab_test_pg");
    }
}
