//! A source cut into shards gives the folder one session over the whole
//! source gives: for shard sizes from one byte (a cut at every document) to
//! larger than the file, at 1 and 3 threads, with quoted line breaks,
//! multi-byte characters, CRLF line ends, bad rows and a repeated document
//! id in the source. Only `report.json`'s figures about the process (times,
//! threads, the translator's fuel, which depends on how many instances
//! shared the work) may differ.

mod common;

use common::export::{export, folder};
use common::runtime;
use std::collections::BTreeMap;
use std::path::Path;
use tessera_pipeline::sink::SinkKind;
use tessera_pipeline::{BatchJob, LoadedTenant, run_batch};

fn repo() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

fn acme() -> LoadedTenant {
    let roots = tessera_pipeline::default_roots(Path::new(tessera_plugin_artifacts::STORE));
    LoadedTenant::load(runtime(), &repo().join("samples/acme-energy"), &roots).expect("acme-energy loads")
}

fn run(
    loaded: &LoadedTenant,
    input: &Path,
    out: &Path,
    threads: usize,
    shard_bytes: u64,
    sink: SinkKind,
) -> (BTreeMap<String, Vec<u8>>, u64) {
    let channels = Some(vec!["html".to_owned(), "lines".to_owned()]);
    let job = BatchJob {
        threads: Some(threads),
        shard_bytes: Some(shard_bytes),
        channels,
        sink: Some(sink),
        // Blocks of 7 documents: many sub-folders and containers, cut
        // wherever the shards are not.
        documents_per_block: Some(7),
        ..BatchJob::new(input, out)
    };
    let report = run_batch(loaded, &job).unwrap_or_else(|e| panic!("shards of {shard_bytes} bytes: {e}"));
    assert!(report.balanced, "{report:#?}");
    (folder(out), report.shards)
}

#[test]
fn any_shard_size_and_thread_count_gives_the_folder_of_the_whole_source() {
    let loaded = acme();
    let work = tempfile::tempdir().unwrap();
    // Sizes from a cut at every document to one shard for the whole file,
    // and a few drawn at random (printed, so a failure can be replayed).
    let mut seed = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64 | 1;
    eprintln!("shard size seed {seed}");
    let mut random = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        1 + seed % 20_000
    };
    let sizes = [1, 333, 4096, 1 << 30, random(), random()];
    for crlf in [false, true] {
        let input = work.path().join(if crlf { "billing-crlf.csv" } else { "billing.csv" });
        std::fs::write(&input, export(crlf)).unwrap();
        for sink in [SinkKind::Dir, SinkKind::Zip] {
            let (whole, shards) = run(&loaded, &input, &work.path().join("whole"), 1, 0, sink);
            assert_eq!(shards, 1);
            let rejected = String::from_utf8_lossy(&whole["rejected.jsonl"]).into_owned();
            for expected in ["appeared earlier in this source", "`abc` is not a number", "row has 4 fields"] {
                assert!(rejected.contains(expected), "the source has a record rejected for {expected}: {rejected}");
            }
            for (i, shard_bytes) in sizes.iter().enumerate() {
                for threads in [1, 3] {
                    let out = work.path().join(format!("sharded-{crlf}-{i}-{threads}"));
                    let (sharded, shards) = run(&loaded, &input, &out, threads, *shard_bytes, sink);
                    if *shard_bytes == 1 {
                        assert!(shards > 100, "a cut at every document: {shards} shards");
                    }
                    let names = |m: &BTreeMap<String, Vec<u8>>| m.keys().cloned().collect::<Vec<_>>();
                    let case = format!("shards of {shard_bytes} bytes, {threads} threads, crlf {crlf}, {sink:?} sink");
                    assert_eq!(names(&sharded), names(&whole), "{case}");
                    for (name, bytes) in &whole {
                        assert!(
                            bytes == &sharded[name],
                            "{name} differs with {case}:\n{}\n---\n{}",
                            String::from_utf8_lossy(bytes),
                            String::from_utf8_lossy(&sharded[name])
                        );
                    }
                    std::fs::remove_dir_all(&out).unwrap();
                }
            }
            std::fs::remove_dir_all(work.path().join("whole")).unwrap();
        }
    }
}

/// Every member of the `zip` sink's containers is the file the `dir` sink
/// writes, the manifests differ only in where each output is, and each
/// container's index points at its members' bytes.
#[test]
fn the_zip_sink_holds_the_files_of_the_dir_sink() {
    use std::io::Read;
    let loaded = acme();
    let work = tempfile::tempdir().unwrap();
    let input = work.path().join("billing.csv");
    std::fs::write(&input, export(false)).unwrap();
    let (dir, _) = run(&loaded, &input, &work.path().join("dir"), 2, 4096, SinkKind::Dir);
    let (zipped, _) = run(&loaded, &input, &work.path().join("zip"), 2, 4096, SinkKind::Zip);
    let lines = |files: &BTreeMap<String, Vec<u8>>| -> Vec<serde_json::Value> {
        String::from_utf8_lossy(&files["manifest.jsonl"]).lines().map(|l| serde_json::from_str(l).unwrap()).collect()
    };
    let (dir_lines, zip_lines) = (lines(&dir), lines(&zipped));
    assert_eq!(dir_lines.len(), zip_lines.len());
    assert!(dir_lines.len() > 150, "both channels of over a hundred documents");
    let mut archives = BTreeMap::new();
    for (d, z) in dir_lines.iter().zip(&zip_lines) {
        let (file, container) = (z["file"].as_str().unwrap(), z["container"].as_str().unwrap());
        assert!(d.get("container").is_none());
        let archive = archives.entry(container.to_owned()).or_insert_with(|| {
            zip::ZipArchive::new(std::io::Cursor::new(zipped[container].clone()))
                .unwrap_or_else(|e| panic!("{container} is not a ZIP: {e}"))
        });
        let mut member = Vec::new();
        archive.by_name(file).unwrap().read_to_end(&mut member).unwrap();
        assert!(member == dir[d["file"].as_str().unwrap()], "{container}!{file} is the dir sink's file");
        let mut rest = z.clone();
        rest.as_object_mut().unwrap().remove("container");
        rest["file"] = d["file"].clone();
        assert_eq!(&rest, d, "the lines differ only in where the output is");
    }
    for (name, archive) in &mut archives {
        let mut index = String::new();
        archive.by_name("index.jsonl").unwrap().read_to_string(&mut index).unwrap();
        for line in index.lines() {
            let entry: serde_json::Value = serde_json::from_str(line).unwrap();
            let (at, len) = (entry["offset"].as_u64().unwrap() as usize, entry["bytes"].as_u64().unwrap() as usize);
            let mut member = Vec::new();
            archive.by_name(entry["member"].as_str().unwrap()).unwrap().read_to_end(&mut member).unwrap();
            assert!(zipped[name][at..at + len] == member[..], "{name}: the index points at {}", entry["member"]);
        }
    }
}
