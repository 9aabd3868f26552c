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
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Loaded> {
        self.settings.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn loaded_settings(&self) -> Loaded {
        self.lock().clone()
    }

    pub fn save_settings(&self, settings: Settings) -> Result<(), SettingsError> {
        if let Some(store) = &self.store {
            store.save(&settings)?;
        }
        let mut loaded = self.lock();
        loaded.settings = settings;
        loaded.warning = None;
        Ok(())
    }

    pub fn ice_config(&self) -> Result<IceConfig, IceConfigError> {
        let overrides = self.lock().settings.ice.clone();
        let cwd = std::env::current_dir().ok();
        crate::ice::load(self.config_dir.as_deref(), cwd.as_deref(), &overrides)
    }
}
