//! What the app keeps while it runs: where its files are, the settings, and host mode.

use crate::host::Host;
use crate::settings::{Loaded, Settings, SettingsError, SettingsStore};
use signaling::{IceConfig, IceConfigError};
use std::path::PathBuf;
use std::sync::Mutex;

pub struct AppState {
    pub config_dir: Option<PathBuf>,
    store: Option<SettingsStore>,
    /// The settings as last loaded or saved, and the warning from loading them (shown once).
    settings: Mutex<Loaded>,
    /// A tokio Mutex: starting and stopping the server await while holding it.
    pub host: tokio::sync::Mutex<Option<Host>>,
    /// Told by the page once it has hung up and left the room, so closing the window need not
    /// guess how long that takes.
    pub page_left: tokio::sync::Notify,
}

impl AppState {
    pub fn new(config_dir: Option<PathBuf>) -> Self {
        let store = config_dir.as_deref().map(SettingsStore::new);
        let loaded = match &store {
            Some(store) => store.load(),
            None => Loaded {
                settings: Settings::default(),
                warning: Some(
                    "Hearth found no configuration directory; settings will not be kept.".into(),
                ),
            },
        };
        if let Some(warning) = &loaded.warning {
            tracing::warn!("{warning}");
        }
        AppState {
            config_dir,
            store,
            settings: Mutex::new(loaded),
            host: tokio::sync::Mutex::new(None),
            page_left: tokio::sync::Notify::new(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Loaded> {
        self.settings.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn loaded_settings(&self) -> Loaded {
        self.lock().clone()
    }

    /// Saves what the page changed. The lock is held across the write, so two saves never
    /// interleave and the file always holds the last one. Recent servers have one writer, the
    /// app ([`AppState::remember_server`]): the page's copy is only for showing, and is not taken.
    pub fn save_settings(&self, mut settings: Settings) -> Result<(), SettingsError> {
        let mut loaded = self.lock();
        settings
            .recent_servers
            .clone_from(&loaded.settings.recent_servers);
        if let Some(store) = &self.store {
            store.save(&settings)?;
        }
        loaded.settings = settings;
        loaded.warning = None;
        Ok(())
    }

    /// Puts a server that answered first in the recent list, and saves it.
    pub fn remember_server(&self, server: &str) -> Result<(), SettingsError> {
        let mut loaded = self.lock();
        let mut settings = loaded.settings.clone();
        settings.remember_server(server);
        if let Some(store) = &self.store {
            store.save(&settings)?;
        }
        loaded.settings = settings;
        Ok(())
    }

    pub fn ice_config(&self) -> Result<IceConfig, IceConfigError> {
        let overrides = self.lock().settings.ice.clone();
        let cwd = std::env::current_dir().ok();
        crate::ice::load(self.config_dir.as_deref(), cwd.as_deref(), &overrides)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recent_servers_have_one_writer_the_app() {
        let dir = tempfile::tempdir().expect("tempdir");
        let state = AppState::new(Some(dir.path().to_path_buf()));
        state.remember_server("192.168.1.5:7878").expect("remember");
        // The page saves its copy, which knows nothing of that server.
        let mut from_page = state.loaded_settings().settings;
        from_page.recent_servers = vec!["stale.example:1".into()];
        from_page.display_name = "Ada".into();
        state.save_settings(from_page).expect("save");
        let saved = SettingsStore::new(dir.path()).load().settings;
        assert_eq!(saved.recent_servers, vec!["192.168.1.5:7878".to_owned()]);
        assert_eq!(saved.display_name, "Ada");
    }

    #[test]
    fn saves_from_many_threads_leave_a_whole_file_with_the_last_one() {
        let dir = tempfile::tempdir().expect("tempdir");
        let state = std::sync::Arc::new(AppState::new(Some(dir.path().to_path_buf())));
        let writers: Vec<_> = (0..8)
            .map(|i| {
                let state = state.clone();
                std::thread::spawn(move || {
                    for j in 0..20 {
                        let mut settings = state.loaded_settings().settings;
                        settings.display_name = format!("writer {i} save {j}");
                        state.save_settings(settings).expect("save");
                    }
                })
            })
            .collect();
        for writer in writers {
            writer.join().expect("writer");
        }
        let on_disk = SettingsStore::new(dir.path()).load();
        assert!(on_disk.warning.is_none(), "the file is whole");
        assert_eq!(
            on_disk.settings.display_name,
            state.loaded_settings().settings.display_name
        );
        let leftovers: Vec<_> = std::fs::read_dir(dir.path())
            .expect("dir")
            .filter_map(Result::ok)
            .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
            .collect();
        assert!(leftovers.is_empty(), "no temporary files left behind");
    }
}
