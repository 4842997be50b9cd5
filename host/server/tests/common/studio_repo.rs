//! A copy of the sample provider and tenants in a fresh git repository,
//! published, with studio users: what the studio tests (HTTP and browser)
//! sign in to. Passwords are `<name>-pw`.

// Test binaries of two crates include this file; each uses part of it.
#![allow(dead_code)]

#[path = "../../../pipeline/tests/common/fs.rs"]
mod fs;

use fs::copy_dir;
use std::path::{Path, PathBuf};

/// (name, role) of ACME's studio users.
pub const ACME_USERS: [(&str, &str); 4] =
    [("alice", "author"), ("bob", "approver"), ("carol", "approver"), ("mallory", "author")];

/// The repository's samples folder.
pub fn samples() -> PathBuf {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../samples")).to_path_buf()
}

/// (name, role) of the provider's studio users (`printhub/provider.toml`).
pub const PROVIDER_USERS: [(&str, &str); 2] = [("pat", "author"), ("pam", "approver")];

/// `[[studio.users]]` entries with password `<name>-pw`.
fn users_toml(users: &[(&str, &str)]) -> String {
    let mut text = String::new();
    for (name, role) in users {
        let hash = tessera_server::hash_password(&format!("{name}-pw")).unwrap();
        text.push_str(&format!(
            "\n[[studio.users]]\nname = \"{name}\"\nrole = \"{role}\"\npassword_argon2 = \"{hash}\"\n"
        ));
    }
    text
}

/// Adds `[studio]` users and renders from the published ref.
fn with_studio(tenant_toml: &Path, users: &[(&str, &str)]) {
    let mut text = std::fs::read_to_string(tenant_toml).unwrap();
    text = text.replacen("layers = [", "source = \"published\"\nlayers = [", 1);
    text.push_str(&users_toml(users));
    std::fs::write(tenant_toml, text).unwrap();
}

/// The samples in `dir/samples`, git-initialised and published once.
pub fn studio_repo(dir: &Path) -> PathBuf {
    let samples = dir.join("samples");
    for name in ["printhub", "acme-energy", "northwind-telecom"] {
        copy_dir(&self::samples().join(name), &samples.join(name));
    }
    with_studio(&samples.join("acme-energy/tenant.toml"), &ACME_USERS);
    with_studio(&samples.join("northwind-telecom/tenant.toml"), &[("nora", "author")]);
    let provider = format!("name = \"PrintHub\"\n{}", users_toml(&PROVIDER_USERS));
    std::fs::write(samples.join("printhub/provider.toml"), provider).unwrap();
    let git = |args: &[&str]| {
        let status = std::process::Command::new("git")
            .args(args)
            .current_dir(dir)
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .status()
            .unwrap();
        assert!(status.success(), "git {args:?}");
    };
    git(&["init", "-q"]);
    let repo = tessera_content::ContentRepo::open(&samples).unwrap();
    repo.publish(tessera_content::DEFAULT_PUBLISHED_REF, "Initial content").unwrap();
    samples
}
