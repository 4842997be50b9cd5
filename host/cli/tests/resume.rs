//! Crash safety, end to end with the real binary: a run killed with
//! `kill -9` at several points and finished with `tessera batch --resume`
//! leaves exactly the output folder of an uninterrupted run — same files,
//! same bytes, no duplicate manifest lines — and the output of a run does
//! not depend on its number of threads.

mod common;

use common::{assert_same_folder, billing_csv};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

const DOCS: usize = 1_500;

fn repo() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

struct Setup {
    _work: tempfile::TempDir,
    root: PathBuf,
    input: PathBuf,
    cache: PathBuf,
}

impl Setup {
    fn new() -> Setup {
        let work = tempfile::tempdir().unwrap();
        let root = work.path().to_path_buf();
        let input = root.join("billing.csv");
        std::fs::write(&input, billing_csv(DOCS)).unwrap();
        let cache = Path::new(env!("CARGO_TARGET_TMPDIR")).join("tessera-compile-cache");
        Setup { cache, root, input, _work: work }
    }

    fn batch(&self, out: &str, extra: &[&str], env: &[(&str, &str)]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_tessera"));
        cmd.args(["batch", "--tenant", "samples/acme-energy", "--input"])
            .arg(&self.input)
            .arg("--out")
            .arg(self.root.join(out))
            // HTML and print-shop line data: what resume is about, at a speed
            // that lets each test run the batch many times.
            .args(["--json", "--channels", "html,lines"])
            // Shards of 16 KiB: resume is checked with the source translated
            // in dozens of shards on every core.
            .args(["--shard-kib", "16"])
            .args(extra)
            .current_dir(repo())
            .env("TESSERA_CACHE_DIR", &self.cache)
            // A checkpoint every 250 records as well as every 500 ms, so a
            // fast machine still passes `checkpoint:2` (a run of 1,500
            // records once finished with a single timed checkpoint).
            .env("TESSERA_CHECKPOINT_RECORDS", "250")
            .env_remove("TESSERA_KILL_AT");
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd
    }

    fn run(&self, out: &str, extra: &[&str], env: &[(&str, &str)]) -> Output {
        self.batch(out, extra, env).output().expect("tessera runs")
    }
}

fn killed(output: &Output) -> bool {
    use std::os::unix::process::ExitStatusExt;
    output.status.signal() == Some(9)
}

/// The `zip` sink in blocks of 100 documents: fifteen blocks, so that kills
/// land inside a block and between blocks.
const ZIP: [&str; 4] = ["--sink", "zip", "--documents-per-block", "100"];

fn reference(setup: &Setup) -> PathBuf {
    reference_with(setup, &[])
}

/// An uninterrupted run with `sink` arguments, in `reference<sink args>`.
fn reference_with(setup: &Setup, sink: &[&str]) -> PathBuf {
    let name = format!("reference{}", sink.join(""));
    let run = setup.run(&name, &[&["--threads", "2"], sink].concat(), &[]);
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let report: serde_json::Value = serde_json::from_slice(&run.stdout).unwrap();
    assert_eq!(report["records_in"], DOCS as u64);
    assert_eq!(report["rejected"], 16, "every 97th document is rejected");
    assert_eq!(report["balanced"], true);
    let manifest = std::fs::read_to_string(setup.root.join(&name).join("manifest.jsonl")).unwrap();
    let files: Vec<String> = manifest
        .lines()
        .map(|l| {
            let line = serde_json::from_str::<serde_json::Value>(l).unwrap();
            format!("{}!{}", line["container"].as_str().unwrap_or(""), line["file"].as_str().unwrap())
        })
        .collect();
    let unique: std::collections::BTreeSet<&String> = files.iter().collect();
    assert_eq!(unique.len(), files.len(), "no duplicate manifest lines");
    assert_eq!(files.len(), (DOCS - 16) * 2, "html + print per delivered document");
    setup.root.join(name)
}

#[test]
fn a_run_killed_at_any_point_and_resumed_equals_an_uninterrupted_run() {
    killed_and_resumed(&[]);
}

#[test]
fn a_zip_sink_run_killed_at_any_point_and_resumed_equals_an_uninterrupted_run() {
    killed_and_resumed(&ZIP);
}

/// Kills runs writing to `sink` at every crash point and from outside,
/// resumes them, and compares each folder with an uninterrupted run's.
fn killed_and_resumed(sink: &[&str]) {
    let setup = Setup::new();
    let reference = reference_with(&setup, sink);
    let zip = !sink.is_empty();

    // Crash points inside the pipeline: after a record's files were written
    // but before its lines were, after lines were buffered but not
    // checkpointed, and between flushing the files and writing progress.json.
    for (i, point) in ["output:40", "commit:700", "checkpoint:1", "checkpoint:2", "output:1480"].iter().enumerate() {
        let out = format!("killed-{i}");
        let first = setup.run(&out, sink, &[("TESSERA_KILL_AT", point)]);
        assert!(killed(&first), "{point}: the run was not killed: {:?}", first.status);
        if i == 0 {
            // A file the interrupted run left for a record that no manifest
            // lists (as when a record ends differently the second time).
            let stray = if zip { "00099.html.zip" } else { "00000/INV-R-99999.html" };
            std::fs::write(setup.root.join(&out).join(stray), "stray").unwrap();
        }
        let resumed = setup.run(&out, &[&["--resume", "--threads", "3"], sink].concat(), &[]);
        assert!(resumed.status.success(), "{point}: resume failed: {}", String::from_utf8_lossy(&resumed.stderr));
        let report: serde_json::Value = serde_json::from_slice(&resumed.stdout).unwrap();
        assert_eq!(report["balanced"], true, "{point}");
        assert_same_folder(&reference, &setup.root.join(&out));
    }

    // kill -9 from outside, at whatever moment the run has got to: early
    // (after its first checkpoint of records) and in the middle. A run
    // that ends before it could be killed fails the test: it would prove
    // nothing about resuming.
    for (i, wait_for) in [1u64, 500].iter().enumerate() {
        let out = setup.root.join(format!("external-{i}"));
        let mut child = setup.batch(out.file_name().unwrap().to_str().unwrap(), sink, &[]).spawn().unwrap();
        let started = Instant::now();
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                panic!("the run ended ({status:?}) before it reached {wait_for} records: nothing was killed");
            }
            let records = std::fs::read(out.join("progress.json"))
                .ok()
                .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
                .and_then(|v| v["records"].as_u64())
                .unwrap_or(0);
            if records >= *wait_for {
                assert!(records < DOCS as u64, "the run had committed every record before the kill");
                break;
            }
            assert!(started.elapsed() < Duration::from_secs(120), "no checkpoint of {wait_for} records in 120 s");
            std::thread::sleep(Duration::from_millis(2));
        }
        child.kill().unwrap();
        let status = child.wait().unwrap();
        let resumed = setup.run(out.file_name().unwrap().to_str().unwrap(), &[&["--resume"], sink].concat(), &[]);
        assert!(
            resumed.status.success(),
            "resume after external kill ({status:?}) failed: {}",
            String::from_utf8_lossy(&resumed.stderr)
        );
        assert_same_folder(&reference, &out);
    }
}

#[test]
fn resume_refuses_other_input_and_a_finished_run() {
    let setup = Setup::new();
    let first = setup.run("out", &[], &[("TESSERA_KILL_AT", "commit:100")]);
    assert!(killed(&first));
    let other_date = setup.run("out", &["--resume", "--as-of", "2026-12-01"], &[]);
    assert!(!other_date.status.success());
    let stderr = String::from_utf8_lossy(&other_date.stderr);
    assert!(stderr.contains("as-of date was 2026-11-01, now 2026-12-01"), "{stderr}");

    let resumed = setup.run("out", &["--resume"], &[]);
    assert!(resumed.status.success(), "{}", String::from_utf8_lossy(&resumed.stderr));
    let again = setup.run("out", &["--resume"], &[]);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("that run finished"));
}

#[test]
fn the_output_does_not_depend_on_the_number_of_threads() {
    let setup = Setup::new();
    let reference = reference(&setup);
    for threads in ["1", "4"] {
        let out = format!("threads-{threads}");
        let run = setup.run(&out, &["--threads", threads], &[]);
        assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
        assert_same_folder(&reference, &setup.root.join(out));
    }
    let zipped = reference_with(&setup, &ZIP);
    for threads in ["1", "4"] {
        let out = format!("zip-threads-{threads}");
        let run = setup.run(&out, &[&["--threads", threads], &ZIP[..]].concat(), &[]);
        assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
        assert_same_folder(&zipped, &setup.root.join(out));
    }
}
