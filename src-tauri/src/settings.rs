//! The user's settings: a JSON file in the app's config directory, written atomically. A corrupt
//! file is moved aside (never silently overwritten) and defaults are used, with a warning.

use serde::{Deserialize, Serialize};
use std::io::Write as _;
use std::path::{Path, PathBuf};

/// How many recent servers are remembered.
pub const MAX_RECENT_SERVERS: usize = 8;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Settings {
    pub display_name: String,
    /// Most recent first, as the user typed them (normalised).
    pub recent_servers: Vec<String>,
    pub ice: IceOverrides,
    pub devices: PreferredDevices,
}

/// ICE servers the user set in the app, with the same meaning as the environment variables.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct IceOverrides {
    pub stun_urls: String,
    pub turn_urls: String,
    pub turn_username: String,
    pub turn_credential: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct PreferredDevices {
    pub camera: String,
    pub microphone: String,
    pub speaker: String,
}

impl Settings {
    /// Puts `server` first in the recent list, without duplicates, keeping at most the limit.
    pub fn remember_server(&mut self, server: &str) {
        self.recent_servers.retain(|s| s != server);
        self.recent_servers.insert(0, server.to_owned());
        self.recent_servers.truncate(MAX_RECENT_SERVERS);
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("could not save settings to {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("could not encode settings: {0}")]
    Encode(#[from] serde_json::Error),
}

/// Settings as loaded, and what the user should be told about it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Loaded {
    pub settings: Settings,
    pub warning: Option<String>,
}

/// Where settings live.
#[derive(Debug, Clone)]
pub struct SettingsStore {
    path: PathBuf,
}

impl SettingsStore {
    pub fn new(dir: &Path) -> Self {
        SettingsStore {
            path: dir.join("settings.json"),
        }
    }

    #[cfg(test)]
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Reads the settings. Never fails: a missing file gives defaults; an unreadable or corrupt
    /// one gives defaults and a warning, and a corrupt one is renamed so nothing is lost.
    pub fn load(&self) -> Loaded {
        let text = match std::fs::read_to_string(&self.path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Loaded {
                    settings: Settings::default(),
                    warning: None,
                }
            }
            Err(e) => {
                return Loaded {
                    settings: Settings::default(),
                    warning: Some(format!(
                        "Your settings at {} could not be read ({e}); using defaults.",
                        self.path.display()
                    )),
                }
            }
        };
        match serde_json::from_str::<Settings>(&text) {
            Ok(settings) => Loaded {
                settings,
                warning: None,
            },
            Err(e) => {
                let aside = self
                    .path
                    .with_extension(format!("json.corrupt-{}", unix_now()));
                let kept = match std::fs::rename(&self.path, &aside) {
                    Ok(()) => format!("the old file was kept as {}", aside.display()),
                    Err(_) => format!("the old file was left at {}", self.path.display()),
                };
                Loaded {
                    settings: Settings::default(),
                    warning: Some(format!("Your settings file was damaged ({e}), so Hearth started with defaults; {kept}.")),
                }
            }
        }
    }

    /// Writes the settings atomically: a temporary file beside the real one, synced, then renamed
    /// over it, so a crash never leaves half a file.
    pub fn save(&self, settings: &Settings) -> Result<(), SettingsError> {
        let json = serde_json::to_vec_pretty(settings)?;
        let dir = self.path.parent().unwrap_or_else(|| Path::new("."));
        let write = || -> std::io::Result<()> {
            std::fs::create_dir_all(dir)?;
            // Unique per write, so two writers (two app instances sharing a profile) never
            // write into the same temporary file.
            static WRITES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
            let n = WRITES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let tmp = dir.join(format!(".settings.json.{}.{n}.tmp", std::process::id()));
            let result = (|| {
                let mut file = std::fs::File::create(&tmp)?;
                file.write_all(&json)?;
                file.sync_all()?;
                std::fs::rename(&tmp, &self.path)
            })();
            if result.is_err() {
                let _ = std::fs::remove_file(&tmp);
            }
            result
        };
        write().map_err(|source| SettingsError::Write {
            path: self.path.clone(),
            source,
        })
    }
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_file_gives_defaults_quietly() {
        let dir = tempfile::tempdir().expect("tempdir");
        let loaded = SettingsStore::new(dir.path()).load();
        assert_eq!(loaded.settings, Settings::default());
        assert_eq!(loaded.warning, None);
    }

    #[test]
    fn save_then_load_round_trips() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = SettingsStore::new(&dir.path().join("nested"));
        let mut settings = Settings {
            display_name: "Ada".into(),
            ..Settings::default()
        };
        settings.ice.stun_urls = "stun:stun.example:3478".into();
        settings.devices.camera = "cam-1".into();
        settings.remember_server("192.168.1.5:7878");
        store.save(&settings).expect("save");
        assert_eq!(store.load().settings, settings);
        // No temporary files are left behind.
        let names: Vec<_> = std::fs::read_dir(dir.path().join("nested"))
            .expect("dir")
            .map(|e| e.expect("entry").file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("settings.json")]);
    }

    #[test]
    fn a_corrupt_file_is_kept_aside_and_defaults_are_used() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = SettingsStore::new(dir.path());
        std::fs::write(store.path(), "{ this is not json").expect("write");
        let loaded = store.load();
        assert_eq!(loaded.settings, Settings::default());
        let warning = loaded.warning.expect("a warning");
        assert!(
            warning.contains("damaged") && warning.contains("corrupt"),
            "{warning}"
        );
        let aside: Vec<_> = std::fs::read_dir(dir.path())
            .expect("dir")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with("settings.json.corrupt-"))
            .collect();
        assert_eq!(aside.len(), 1);
        assert_eq!(
            std::fs::read_to_string(dir.path().join(&aside[0])).expect("read"),
            "{ this is not json"
        );
        // Saving afterwards writes a fresh file and leaves the damaged one alone.
        store
            .save(&Settings {
                display_name: "Bob".into(),
                ..Settings::default()
            })
            .expect("save");
        assert_eq!(store.load().settings.display_name, "Bob");
        assert!(dir.path().join(&aside[0]).exists());
    }

    #[test]
    fn unknown_and_missing_fields_are_tolerated() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = SettingsStore::new(dir.path());
        std::fs::write(
            store.path(),
            r#"{"displayName":"Ada","fromTheFuture":true}"#,
        )
        .expect("write");
        let loaded = store.load();
        assert_eq!(loaded.settings.display_name, "Ada");
        assert_eq!(loaded.warning, None);
    }

    #[test]
    fn a_read_only_directory_is_a_clear_error_and_loses_nothing() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().expect("tempdir");
        let store = SettingsStore::new(dir.path());
        store
            .save(&Settings {
                display_name: "Ada".into(),
                ..Settings::default()
            })
            .expect("save");
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o555))
            .expect("chmod");
        let probe = dir.path().join("probe");
        if std::fs::write(&probe, "x").is_ok() {
            // Running as root: permissions do not bind, so make the target a directory instead.
            std::fs::remove_file(&probe).expect("cleanup");
            std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755))
                .expect("chmod");
            let blocked = SettingsStore::new(&dir.path().join("settings.json").join("sub"));
            let err = blocked
                .save(&Settings::default())
                .expect_err("cannot write under a file");
            assert!(err.to_string().contains("could not save settings"), "{err}");
        } else {
            let err = store
                .save(&Settings {
                    display_name: "Bob".into(),
                    ..Settings::default()
                })
                .expect_err("read-only");
            assert!(err.to_string().contains("could not save settings"), "{err}");
            std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755))
                .expect("chmod");
        }
        assert_eq!(
            store.load().settings.display_name,
            "Ada",
            "the saved settings are intact"
        );
    }

    #[test]
    fn recent_servers_are_deduplicated_and_bounded() {
        let mut s = Settings::default();
        for i in 0..12 {
            s.remember_server(&format!("host{i}:7878"));
        }
        s.remember_server("host5:7878");
        assert_eq!(s.recent_servers.len(), MAX_RECENT_SERVERS);
        assert_eq!(s.recent_servers[0], "host5:7878");
        assert_eq!(
            s.recent_servers
                .iter()
                .filter(|h| *h == "host5:7878")
                .count(),
            1
        );
    }
}
