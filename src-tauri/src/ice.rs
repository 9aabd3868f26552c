//! The desktop app's ICE servers: the signaling library's parser over, in order of precedence,
//! the user's settings, the environment, `.env` in the working directory, and `.env` in the app's
//! config directory.

use crate::settings::IceOverrides;
use signaling::{IceConfig, IceConfigError};
use std::collections::HashMap;
use std::path::Path;

const KEYS: [&str; 6] = [
    "STUN_SERVER_ID",
    "TURN_URLS",
    "TURN_USERNAME",
    "TURN_CREDENTIAL",
    "TURN_SECRET",
    "TURN_TTL_SECS",
];

/// Reads every source and parses the result.
pub fn load(
    config_dir: Option<&Path>,
    working_dir: Option<&Path>,
    overrides: &IceOverrides,
) -> Result<IceConfig, IceConfigError> {
    let mut values: HashMap<String, String> = HashMap::new();
    // Lowest precedence first; later sources overwrite.
    for dir in [config_dir, working_dir].into_iter().flatten() {
        values.extend(dotenv_file(&dir.join(".env")));
    }
    for key in KEYS {
        if let Ok(v) = std::env::var(key) {
            values.insert(key.to_owned(), v);
        }
    }
    let o = overrides;
    for (key, value) in [
        ("STUN_SERVER_ID", &o.stun_urls),
        ("TURN_URLS", &o.turn_urls),
        ("TURN_USERNAME", &o.turn_username),
        ("TURN_CREDENTIAL", &o.turn_credential),
    ] {
        if !value.trim().is_empty() {
            values.insert(key.to_owned(), value.clone());
        }
    }
    IceConfig::from_lookup(|key| values.get(key).cloned())
}

/// The ICE keys of one `.env` file; a missing file is empty, a malformed line is skipped with a log.
fn dotenv_file(path: &Path) -> HashMap<String, String> {
    let Ok(iter) = dotenvy::from_path_iter(path) else {
        return HashMap::new();
    };
    let mut out = HashMap::new();
    for item in iter {
        match item {
            Ok((k, v)) if KEYS.contains(&k.as_str()) => {
                out.insert(k, v);
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(path = %path.display(), error = %e, "skipped a line of .env"),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::SystemTime;

    #[test]
    fn settings_win_over_dot_env_and_the_working_directory_over_the_config_directory() {
        let config = tempfile::tempdir().expect("tempdir");
        let cwd = tempfile::tempdir().expect("tempdir");
        std::fs::write(config.path().join(".env"), "STUN_SERVER_ID=stun:config.example:3478\nTURN_URLS=turn:config.example\nTURN_USERNAME=u\nTURN_CREDENTIAL=p\n").expect("write");
        std::fs::write(
            cwd.path().join(".env"),
            "STUN_SERVER_ID=stun:cwd.example:3478\n",
        )
        .expect("write");
        let none = IceOverrides::default();
        let cfg = load(Some(config.path()), Some(cwd.path()), &none).expect("valid");
        assert_eq!(cfg.stun_urls, ["stun:cwd.example:3478"]);
        assert_eq!(cfg.turn_urls, ["turn:config.example"]);

        let user = IceOverrides {
            stun_urls: "stun:user.example:3478".into(),
            ..IceOverrides::default()
        };
        let cfg = load(Some(config.path()), Some(cwd.path()), &user).expect("valid");
        assert_eq!(cfg.stun_urls, ["stun:user.example:3478"]);
        let servers = cfg.ice_servers(SystemTime::now(), "me");
        assert_eq!(servers.len(), 2);
    }

    #[test]
    fn missing_files_mean_no_servers_and_bad_values_are_reported() {
        let empty = tempfile::tempdir().expect("tempdir");
        let cfg = load(Some(empty.path()), None, &IceOverrides::default()).expect("valid");
        assert!(cfg.stun_urls.is_empty() || std::env::var("STUN_SERVER_ID").is_ok());
        let bad = IceOverrides {
            turn_urls: "turn:x.example".into(),
            ..IceOverrides::default()
        };
        if std::env::var("TURN_SECRET").is_err() && std::env::var("TURN_USERNAME").is_err() {
            assert!(load(Some(empty.path()), None, &bad).is_err());
        }
    }
}
