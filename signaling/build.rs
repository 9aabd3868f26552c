//! Rebuilds the crate when anything under `ui/` changes, since the UI is embedded with `include_dir!`.
fn main() {
    println!("cargo:rerun-if-changed=../ui");
}
