//! Copying sample folders into temporary ones (for tests that edit
//! content), and reading a run's folder to compare it with another's.

// Test binaries of two crates include this file; each uses part of it.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::Path;

/// Copies the folder `from` to `to`, recursively.
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// Every file of a run's folder with its bytes, by path relative to it
/// (the sink's blocks included); `report.json` without the members named
/// in `volatile` (what describes the process rather than the result).
pub fn run_folder(dir: &Path, volatile: &[&str]) -> BTreeMap<String, Vec<u8>> {
    let mut files = BTreeMap::new();
    read_into(dir, "", volatile, &mut files);
    files
}

fn read_into(dir: &Path, prefix: &str, volatile: &[&str], files: &mut BTreeMap<String, Vec<u8>>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        let name = format!("{prefix}{}", entry.file_name().to_string_lossy());
        if entry.file_type().unwrap().is_dir() {
            read_into(&entry.path(), &format!("{name}/"), volatile, files);
            continue;
        }
        let mut bytes = std::fs::read(entry.path()).unwrap();
        if name == "report.json" {
            let mut report: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
            for member in volatile {
                report.as_object_mut().unwrap().remove(*member);
            }
            bytes = serde_json::to_vec_pretty(&report).unwrap();
        }
        files.insert(name, bytes);
    }
}
