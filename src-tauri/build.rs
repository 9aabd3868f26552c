//! Tauri's build step: reads tauri.conf.json and the capabilities, and embeds the UI from ../ui.
fn main() {
    println!("cargo:rerun-if-changed=../ui");
    tauri_build::build();
}
