//! A batch over a folder or a ZIP of source files (the conformance UBL and
//! TMF678 samples): each file is translated by the translator its type
//! names, the run equals the files' own runs put together, and the folder,
//! the ZIP and every thread count give the same manifest. Hostile archives
//! — a member named out of the archive, a ZIP bomb, a corrupt archive —
//! are rejections with a reason, and nothing is written outside the
//! output folder.

mod common;

use common::runtime;
use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use tessera_pipeline::{BatchJob, LoadedTenant, Report, run_batch};

fn repo() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

fn acme() -> LoadedTenant {
    let roots = tessera_pipeline::default_roots(Path::new(tessera_plugin_artifacts::STORE));
    LoadedTenant::load(runtime(), &repo().join("samples/acme-energy"), &roots).expect("acme-energy loads")
}

/// The conformance samples: (relative name, bytes), in name order.
fn samples() -> Vec<(String, Vec<u8>)> {
    let mut files = Vec::new();
    for kind in ["tmf678", "ubl"] {
        for entry in std::fs::read_dir(repo().join("samples/sources").join(kind)).unwrap() {
            let path = entry.unwrap().path();
            if matches!(path.extension().and_then(|e| e.to_str()), Some("xml" | "json")) {
                let name = format!("{kind}/{}", path.file_name().unwrap().to_string_lossy());
                files.push((name, std::fs::read(&path).unwrap()));
            }
        }
    }
    files.sort();
    files
}

fn run(loaded: &LoadedTenant, input: &Path, out: &Path, threads: usize) -> Report {
    let job = BatchJob { threads: Some(threads), channels: Some(vec!["html".to_owned()]), ..BatchJob::new(input, out) };
    let report = run_batch(loaded, &job).unwrap_or_else(|e| panic!("{}: {e}", input.display()));
    assert!(report.balanced, "{report:#?}");
    report
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn ids(manifest: &str) -> BTreeSet<String> {
    manifest
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["document_id"].as_str().unwrap().to_owned())
        .collect()
}

/// A ZIP of `files` (deflated, as deliveries come), built with the `zip` crate.
fn zip_of(files: &[(String, Vec<u8>)], path: &Path) {
    let mut zip = zip::ZipWriter::new(std::fs::File::create(path).unwrap());
    let options = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    for (name, bytes) in files {
        zip.start_file(name.as_str(), options).unwrap();
        zip.write_all(bytes).unwrap();
    }
    zip.finish().unwrap();
}

#[test]
fn a_folder_and_a_zip_of_conformance_files_equal_the_files_run_one_by_one() {
    let loaded = acme();
    let work = tempfile::tempdir().unwrap();
    let files = samples();
    assert!(files.len() >= 10, "the conformance samples are there");
    let folder = work.path().join("delivery");
    let mut alone_ids = BTreeSet::new();
    let (mut alone_delivered, mut alone_rejected) = (0, 0);
    for (i, (name, bytes)) in files.iter().enumerate() {
        let path = folder.join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, bytes).unwrap();
        let out = work.path().join(format!("alone-{i}"));
        let report = run(&loaded, &path, &out, 1);
        alone_delivered += report.delivered;
        alone_rejected += report.rejected;
        if out.join("manifest.jsonl").is_file() {
            alone_ids.extend(ids(&read(&out.join("manifest.jsonl"))));
        }
    }
    assert!(alone_delivered >= 10, "most samples make documents");

    let zip = work.path().join("delivery.zip");
    zip_of(&files, &zip);
    let reference = run(&loaded, &folder, &work.path().join("folder-1"), 1);
    assert_eq!(reference.shards, files.len() as u64, "each file is a shard");
    // The samples reuse document ids across files; in one delivery a
    // document id may appear once, so every later one is rejected.
    let unique = alone_ids.len() as u64;
    let expected = (unique, alone_rejected + alone_delivered - unique);
    assert_eq!((reference.delivered, reference.rejected), expected, "{:#?}", reference.rejections);
    assert!(unique < alone_delivered, "the samples share ids");
    for r in &reference.rejections {
        assert!(r.reason.contains("appeared earlier in this source"), "{r:?}");
        assert!(
            r.source.as_ref().and_then(|s| s.source.as_deref()).is_some_and(|s| s.starts_with("delivery/")),
            "{r:?}"
        );
    }
    let manifest = read(&work.path().join("folder-1/manifest.jsonl"));
    assert_eq!(ids(&manifest), alone_ids, "the same documents as the files' own runs");
    let zip_manifest = |out: &str| read(&work.path().join(out).join("manifest.jsonl"));
    for (input, out, threads) in [(&folder, "folder-3", 3), (&zip, "zip-1", 1), (&zip, "zip-3", 3)] {
        let report = run(&loaded, input, &work.path().join(out), threads);
        assert_eq!((report.delivered, report.rejected), expected, "{out}");
    }
    assert_eq!(zip_manifest("folder-3"), manifest, "the same manifest at 1 and 3 threads");
    assert_eq!(zip_manifest("zip-3"), zip_manifest("zip-1"), "the same manifest at 1 and 3 threads");
    // The records name their source (`delivery/…` or `delivery.zip/…`),
    // which the fragments read: only their fuel may differ.
    let without_fuel = |text: &str| -> Vec<serde_json::Value> {
        text.lines()
            .map(|l| {
                let mut v: serde_json::Value = serde_json::from_str(l).unwrap();
                v.as_object_mut().unwrap().remove("fuel");
                for p in v["plugins"].as_array_mut().unwrap() {
                    p.as_object_mut().unwrap().remove("fuel");
                }
                v
            })
            .collect()
    };
    assert_eq!(without_fuel(&zip_manifest("zip-1")), without_fuel(&manifest), "folder and ZIP give the same documents");
    for line in without_fuel(&manifest) {
        let translator = line["plugins"][0]["id"].as_str().unwrap();
        assert!(
            ["ubl-invoice", "tmf678-bill"].contains(&translator),
            "each record names its file's translator: {line}"
        );
    }
    // A document's HTML is the one its file alone makes (the first file's
    // first document: no earlier file can hold its id).
    let alone = work.path().join("alone-0");
    let line: serde_json::Value =
        serde_json::from_str(read(&alone.join("manifest.jsonl")).lines().next().unwrap()).unwrap();
    let file = line["file"].as_str().unwrap();
    let from_zip = manifest
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .find(|l| l["document_id"] == line["document_id"])
        .unwrap();
    let in_zip = read(&work.path().join("zip-3").join(from_zip["file"].as_str().unwrap()));
    assert_eq!(in_zip, read(&alone.join(file)));
}

#[test]
fn hostile_and_corrupt_archives_are_rejections_and_nothing_leaves_the_output_folder() {
    let loaded = acme();
    let work = tempfile::tempdir().unwrap();
    let good = std::fs::read(repo().join("samples/sources/ubl/ubl-tc434-example1.xml")).unwrap();
    let zip = work.path().join("hostile.zip");
    {
        let mut z = zip::ZipWriter::new(std::fs::File::create(&zip).unwrap());
        let stored = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
        let deflated = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
        for name in ["../escaped.xml", "/etc/absolute.xml"] {
            z.start_file(name, stored).unwrap();
            z.write_all(&good).unwrap();
        }
        // 64 MiB of zeros deflate to about 64 KiB: a thousand to one.
        z.start_file("bomb.xml", deflated).unwrap();
        let zeros = vec![0u8; 1 << 20];
        for _ in 0..64 {
            z.write_all(&zeros).unwrap();
        }
        z.start_file("good.xml", deflated).unwrap();
        z.write_all(&good).unwrap();
        z.finish().unwrap();
    }
    let out = work.path().join("out");
    let report = run(&loaded, &zip, &out, 2);
    assert_eq!((report.delivered, report.rejected), (1, 3), "{report:#?}");
    let reasons: Vec<(String, String)> = read(&out.join("rejected.jsonl"))
        .lines()
        .map(|l| {
            let r: serde_json::Value = serde_json::from_str(l).unwrap();
            (r["source"]["source"].as_str().unwrap().to_owned(), r["reason"].as_str().unwrap().to_owned())
        })
        .collect();
    assert!(reasons[0].0.ends_with("../escaped.xml") && reasons[0].1.contains("leaves the archive"), "{reasons:?}");
    assert!(reasons[1].1.contains("leaves the archive"), "{reasons:?}");
    assert!(reasons[2].0.ends_with("bomb.xml") && reasons[2].1.contains("ZIP bomb"), "{reasons:?}");
    assert!(!work.path().join("escaped.xml").exists() && !Path::new("/etc/absolute.xml").exists());
    let left: Vec<PathBuf> = walk(work.path()).into_iter().filter(|p| !p.starts_with(&out) && *p != zip).collect();
    assert!(left.is_empty(), "nothing written outside the output folder: {left:?}");

    // A corrupt archive, and a truncated one: one rejection each, naming it.
    for (name, bytes) in [
        ("corrupt.zip", b"PK\x03\x04 not really a zip".to_vec()),
        ("cut.zip", {
            let whole = std::fs::read(&zip).unwrap();
            whole[..whole.len() / 2].to_vec()
        }),
    ] {
        let path = work.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        let out = work.path().join(format!("out-{name}"));
        let report = run(&loaded, &path, &out, 1);
        assert_eq!((report.delivered, report.rejected), (0, 1), "{name}: {report:#?}");
        assert!(
            report.rejections[0].reason.contains("not a readable ZIP archive"),
            "{name}: {:?}",
            report.rejections[0]
        );
    }
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        if entry.file_type().unwrap().is_dir() {
            found.extend(walk(&entry.path()));
        } else {
            found.push(entry.path());
        }
    }
    found
}
