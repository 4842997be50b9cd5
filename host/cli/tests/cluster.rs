//! One run across worker processes on a real NATS JetStream server (the
//! pinned official binary, on loopback): the folder is a local run's, byte
//! for byte — with two workers, when a worker is killed after rendering a
//! shard and before storing it (the shard goes to the other after its ack
//! wait), when the coordinator is killed and the run resumed, and when the
//! server itself is killed and restarted mid-run. A shard that kills every
//! worker that takes it ends, after a bounded number of deliveries, as a
//! rejection naming the shard, the translator and the limit. A worker's
//! `/metrics` count the shard it got again; workers pinned to a content
//! revision render a run of that revision; a delivery of many files (a
//! folder, a ZIP) goes out one shard per file.

mod common;

use common::nats::NatsServer;
use common::{VOLATILE, billing_csv, folder};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

const DOCS: usize = 600;

fn repo() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

fn tessera(cache: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tessera"));
    cmd.current_dir(repo()).env("TESSERA_CACHE_DIR", cache).env_remove("TESSERA_KILL_AT");
    cmd
}

struct Cluster {
    work: tempfile::TempDir,
    cache: PathBuf,
    input: PathBuf,
    server: NatsServer,
    workers: Vec<Child>,
    /// Arguments every worker started from now on gets.
    worker_args: Vec<String>,
}

impl Cluster {
    fn new() -> Cluster {
        let work = tempfile::tempdir().unwrap();
        let input = work.path().join("billing.csv");
        std::fs::write(&input, billing_csv(DOCS)).unwrap();
        let cache = Path::new(env!("CARGO_TARGET_TMPDIR")).join("tessera-compile-cache");
        Cluster { server: NatsServer::start(), work, cache, input, workers: Vec::new(), worker_args: Vec::new() }
    }

    /// Starts a worker with one slot and a 3 s ack wait; `env` for crash points.
    fn worker(&mut self, env: &[(&str, &str)]) {
        self.worker_for(&[&repo().join("samples/acme-energy")], env);
    }

    /// [`Self::worker`] serving the tenants in folders `tenants`.
    fn worker_for(&mut self, tenants: &[&Path], env: &[(&str, &str)]) {
        let n = self.workers.len();
        let log = std::fs::File::create(self.work.path().join(format!("worker-{n}.log"))).unwrap();
        let mut cmd = tessera(&self.cache);
        cmd.args(["worker", "--nats", &self.server.url]);
        for tenant in tenants {
            cmd.arg("--tenant").arg(tenant);
        }
        cmd.args(["--slots", "1", "--ack-wait-secs", "3"]).args(&self.worker_args).stdout(Stdio::null()).stderr(log);
        for (k, v) in env {
            cmd.env(k, v);
        }
        self.workers.push(cmd.spawn().expect("the worker starts"));
        // Ready once it says how many slots it has (a cold machine compiles
        // the plugins first).
        let started = std::time::Instant::now();
        while !self.worker_log(n).contains(" slots") {
            if let Some(status) = self.workers[n].try_wait().unwrap() {
                // It may have got ready, taken a shard and died meanwhile.
                let log = self.worker_log(n);
                assert!(log.contains(" slots"), "worker {n} ended before it was ready ({status:?}): {log}");
                break;
            }
            assert!(started.elapsed() < std::time::Duration::from_secs(300), "worker {n} never got ready");
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }

    fn worker_log(&self, n: usize) -> String {
        std::fs::read_to_string(self.work.path().join(format!("worker-{n}.log"))).unwrap_or_default()
    }

    /// A batch of the export into `out`; `cluster` adds `--cluster`.
    fn batch(&self, out: &str, cluster: bool, extra: &[&str], env: &[(&str, &str)]) -> Output {
        self.batch_command(out, cluster, extra, env).output().expect("tessera runs")
    }

    fn batch_command(&self, out: &str, cluster: bool, extra: &[&str], env: &[(&str, &str)]) -> Command {
        self.batch_for("samples/acme-energy", &self.input, "html,lines", out, cluster, extra, env)
    }

    /// A batch of `input` for the tenant in folder `tenant`.
    #[allow(clippy::too_many_arguments)]
    fn batch_for(
        &self,
        tenant: &str,
        input: &Path,
        channels: &str,
        out: &str,
        cluster: bool,
        extra: &[&str],
        env: &[(&str, &str)],
    ) -> Command {
        let mut cmd = tessera(&self.cache);
        cmd.args(["batch", "--tenant", tenant, "--input"])
            .arg(input)
            .arg("--out")
            .arg(self.work.path().join(out))
            .args(["--json", "--channels", channels])
            .args(extra);
        if !extra.contains(&"--shard-kib") {
            cmd.args(["--shard-kib", "16"]);
        }
        if cluster {
            cmd.args(["--cluster", &self.server.url, "--ack-wait-secs", "3"]);
        }
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd
    }

    fn folder(&self, out: &str) -> BTreeMap<String, Vec<u8>> {
        // The translator's fuel depends on which instance did what.
        let mut files = folder(&self.work.path().join(out));
        if let Some(report) = files.get_mut("report.json") {
            let mut value: serde_json::Value = serde_json::from_slice(report).unwrap();
            value.as_object_mut().unwrap().remove("fuel");
            *report = serde_json::to_vec_pretty(&value).unwrap();
        }
        files
    }

    fn assert_same(&self, local: &str, cluster: &str) {
        let (a, b) = (self.folder(local), self.folder(cluster));
        assert_eq!(
            a.keys().collect::<Vec<_>>(),
            b.keys().collect::<Vec<_>>(),
            "{local} and {cluster} hold other files"
        );
        for (name, bytes) in &a {
            assert!(*bytes == b[name], "{name} differs between {local} and {cluster}");
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for w in &mut self.workers {
            let _ = w.kill();
            let _ = w.wait();
        }
    }
}

fn ok(run: &Output, what: &str) -> serde_json::Value {
    assert!(run.status.success(), "{what}: {}", String::from_utf8_lossy(&run.stderr));
    let report: serde_json::Value = serde_json::from_slice(&run.stdout).unwrap();
    assert_eq!(report["balanced"], true, "{what}");
    assert_eq!(report["records_in"], DOCS as u64, "{what}");
    report
}

#[test]
fn a_cluster_run_gives_the_folder_of_a_local_run_for_both_sinks() {
    assert!(VOLATILE.contains(&"timings"));
    let mut cluster = Cluster::new();
    cluster.worker(&[]);
    cluster.worker(&[]);
    cluster.worker(&[]);
    for (name, sink) in [("dir", &[][..]), ("zip", &["--sink", "zip", "--documents-per-block", "100"][..])] {
        ok(&cluster.batch(&format!("local-{name}"), false, &[&["--threads", "2"], sink].concat(), &[]), name);
        let report = ok(&cluster.batch(&format!("cluster-{name}"), true, sink, &[]), name);
        assert!(report["shards"].as_u64().unwrap() > 10, "the source went out in shards: {report}");
        cluster.assert_same(&format!("local-{name}"), &format!("cluster-{name}"));
    }
    // The workers took part, and stop cleanly on SIGTERM.
    for n in 0..3 {
        let pid = cluster.workers[n].id().to_string();
        assert!(Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
        let status = cluster.workers[n].wait().unwrap();
        let log = cluster.worker_log(n);
        assert!(status.success(), "worker {n} stopped with {status:?}: {log}");
        let rendered: u64 = log
            .split("stopped: ")
            .nth(1)
            .and_then(|rest| rest.split(' ').next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("worker {n} says what it did: {log}"));
        assert!(log.contains("shards rendered"), "worker {n} says what it did ({rendered} shards): {log}");
    }
}

#[test]
fn a_worker_killed_before_storing_its_result_loses_nothing() {
    let mut cluster = Cluster::new();
    // The first worker dies (kill -9) right after rendering its second
    // shard: nothing stored, nothing acked.
    cluster.worker(&[("TESSERA_KILL_AT", "shard-rendered:2")]);
    cluster.worker_args = vec!["--metrics-addr".into(), "127.0.0.1:0".into()];
    cluster.worker(&[]);
    ok(&cluster.batch("local", false, &["--threads", "2"], &[]), "local");
    let report = ok(&cluster.batch("cluster", true, &[], &[]), "cluster");
    cluster.assert_same("local", "cluster");
    let status = cluster.workers[0].wait().unwrap();
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(status.signal(), Some(9), "the first worker was killed: {}", cluster.worker_log(0));
    // The survivor's /metrics: the dead worker's shard came to it again.
    let log = cluster.worker_log(1);
    let addr = log
        .split("metrics on http://")
        .nth(1)
        .and_then(|rest| rest.split("/metrics").next())
        .unwrap_or_else(|| panic!("the worker says where its metrics are: {log}"));
    let metrics = http_get(addr, "/metrics");
    assert!(metrics.starts_with("HTTP/1.1 200"), "{metrics}");
    let value = |series: &str| -> f64 {
        metrics
            .lines()
            .find_map(|l| l.strip_prefix(series).and_then(|v| v.trim().parse().ok()))
            .unwrap_or_else(|| panic!("{series} in {metrics}"))
    };
    let tenant = "{tenant=\"acme-energy\"}";
    assert!(value(&format!("tessera_worker_redeliveries_total{tenant}")) >= 1.0, "{metrics}");
    let rendered = value("tessera_worker_shards_total{tenant=\"acme-energy\",outcome=\"rendered\"}");
    let shards = report["shards"].as_f64().unwrap();
    assert!(rendered >= shards - 2.0 && rendered <= shards, "{rendered} of {shards} shards: {metrics}");
    assert_eq!(value(&format!("tessera_worker_render_duration_seconds_count{tenant}")), rendered, "{metrics}");
    assert_eq!(value("tessera_worker_shards_in_hand"), 0.0, "{metrics}");
}

/// A plain HTTP/1.1 GET on loopback: the answer's status line, headers and body.
fn http_get(addr: &str, path: &str) -> String {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(addr).expect("the metrics endpoint listens");
    write!(stream, "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    answer
}

#[test]
fn a_coordinator_killed_mid_run_finishes_with_resume() {
    let mut cluster = Cluster::new();
    cluster.worker(&[]);
    cluster.worker(&[]);
    ok(&cluster.batch("local", false, &["--threads", "2"], &[]), "local");
    let first = cluster.batch("cluster", true, &[], &[("TESSERA_KILL_AT", "commit:250")]);
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(first.status.signal(), Some(9), "the coordinator was killed: {:?}", first.status);
    ok(&cluster.batch("cluster", true, &["--resume"], &[]), "resumed");
    cluster.assert_same("local", "cluster");
}

/// Regression: the run's id was a digest of tenant, source and folder only,
/// so the same run again within the server's duplicate window published
/// shards whose message ids the server had seen, and waited for ever.
#[test]
fn the_same_source_into_the_same_folder_again_is_a_run_of_its_own() {
    let mut cluster = Cluster::new();
    cluster.worker(&[]);
    ok(&cluster.batch("local", false, &["--threads", "2"], &[]), "local");
    for attempt in ["first", "second"] {
        let mut run = cluster
            .batch_command("cluster", true, &[], &[])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let started = std::time::Instant::now();
        while run.try_wait().unwrap().is_none() {
            if started.elapsed() > std::time::Duration::from_secs(180) {
                let _ = run.kill();
                panic!("the {attempt} run did not finish in 3 minutes");
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        ok(&run.wait_with_output().unwrap(), attempt);
        cluster.assert_same("local", "cluster");
    }
}

#[test]
fn a_nats_server_killed_and_restarted_mid_run_loses_nothing() {
    let mut cluster = Cluster::new();
    cluster.worker(&[]);
    cluster.worker(&[]);
    ok(&cluster.batch("local", false, &["--threads", "2"], &[]), "local");
    let run = cluster
        .batch_command("cluster", true, &[], &[])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the coordinator starts");
    // Once the first documents are committed, the server dies and comes
    // back (file storage: the streams and buckets survive).
    let manifest = cluster.work.path().join("cluster/manifest.jsonl");
    let started = std::time::Instant::now();
    while std::fs::metadata(&manifest).map_or(0, |m| m.len()) == 0 {
        assert!(started.elapsed() < std::time::Duration::from_secs(60), "the cluster run never committed");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    cluster.server.restart();
    let output = run.wait_with_output().unwrap();
    ok(&output, "cluster");
    cluster.assert_same("local", "cluster");
}

#[test]
fn a_shard_every_worker_dies_on_is_rejected_after_max_deliveries() {
    let mut cluster = Cluster::new();
    // One shard for the whole source, at most three deliveries (workers
    // and coordinator agree, whoever makes the consumer first).
    let args = ["--shard-kib", "65536", "--max-deliver", "3"];
    cluster.worker_args = vec!["--max-deliver".into(), "3".into()];
    let run = cluster
        .batch_command("cluster", true, &args, &[])
        .stdout(Stdio::null())
        .spawn()
        .expect("the coordinator starts");
    let mut run = run;
    // Every worker is killed after rendering its first shard; a new one
    // takes its place until the run ends.
    let started = std::time::Instant::now();
    let status = loop {
        if let Some(status) = run.try_wait().unwrap() {
            break status;
        }
        if cluster.workers.last_mut().is_none_or(|w| w.try_wait().unwrap().is_some()) {
            assert!(cluster.workers.len() < 8, "the shard was delivered again and again");
            cluster.worker(&[("TESSERA_KILL_AT", "shard-rendered:1")]);
        }
        assert!(started.elapsed() < std::time::Duration::from_secs(120), "the run did not end");
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    assert!(status.success(), "the run ended with the shard rejected: {status:?}");
    let killed = cluster
        .workers
        .iter_mut()
        .map(|w| w.try_wait().unwrap())
        .filter(|s| {
            use std::os::unix::process::ExitStatusExt;
            s.is_some_and(|s| s.signal() == Some(9))
        })
        .count();
    let logs: Vec<String> = (0..cluster.workers.len()).map(|n| cluster.worker_log(n)).collect();
    assert_eq!(killed, 3, "one worker died per delivery, not {killed}: {logs:#?}");
    let rejected = std::fs::read_to_string(cluster.work.path().join("cluster/rejected.jsonl")).unwrap();
    let line: serde_json::Value = serde_json::from_str(rejected.lines().next().unwrap()).unwrap();
    assert_eq!(rejected.lines().count(), 1, "{rejected}");
    assert_eq!(line["stage"], "translate", "{line}");
    assert_eq!(line["limit"], "max deliveries (3)", "{line}");
    assert!(line["plugin"].as_str().unwrap().starts_with("csv-billing@"), "{line}");
    let reason = line["reason"].as_str().unwrap();
    assert!(reason.contains("shard 0") && reason.contains("3 times"), "{reason}");
}

#[test]
fn a_worker_with_other_content_refuses_its_shards_and_the_run_says_why() {
    let mut cluster = Cluster::new();
    // The same tenant with one label edited: another content revision.
    let samples = cluster.work.path().join("samples");
    common::fs::copy_dir(&repo().join("samples"), &samples);
    let label = samples.join("acme-energy/content/labels/acme.toml");
    let edited = std::fs::read_to_string(&label).unwrap() + "\n# edited on this worker only\n";
    std::fs::write(&label, edited).unwrap();
    cluster.worker_for(&[&samples.join("acme-energy")], &[]);
    cluster.worker(&[]);
    ok(&cluster.batch("local", false, &["--threads", "2"], &[]), "local");
    let run = cluster.batch("cluster", true, &[], &[]);
    ok(&run, "cluster");
    cluster.assert_same("local", "cluster");
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(stderr.contains("did not render shard") && stderr.contains("the run is pinned to"), "{stderr}");
}

#[test]
fn workers_serve_two_tenants_runs_at_once_each_with_its_own_grants() {
    let mut cluster = Cluster::new();
    let (acme, northwind) = (repo().join("samples/acme-energy"), repo().join("samples/northwind-telecom"));
    cluster.worker_for(&[&acme, &northwind], &[]);
    cluster.worker_for(&[&northwind, &acme], &[]);
    // Northwind's export: the same rows under its own label.
    let csv = billing_csv(DOCS).replace(",acme-green,2026", ",northwind,2026").replace(",acme,2026", ",northwind,2026");
    let nw_input = cluster.work.path().join("usage.csv");
    std::fs::write(&nw_input, csv).unwrap();
    let nw = "samples/northwind-telecom";
    let local = cluster.batch_for(nw, &nw_input, "html", "nw-local", false, &["--threads", "2"], &[]).output().unwrap();
    ok(&local, "northwind, local");
    ok(&cluster.batch("acme-local", false, &["--threads", "2"], &[]), "acme, local");
    let acme_run = cluster.batch_command("acme-cluster", true, &[], &[]).stdout(Stdio::piped()).spawn().unwrap();
    let nw_run =
        cluster.batch_for(nw, &nw_input, "html", "nw-cluster", true, &[], &[]).stdout(Stdio::piped()).spawn().unwrap();
    ok(&acme_run.wait_with_output().unwrap(), "acme, cluster");
    ok(&nw_run.wait_with_output().unwrap(), "northwind, cluster");
    cluster.assert_same("acme-local", "acme-cluster");
    cluster.assert_same("nw-local", "nw-cluster");
    let manifest = std::fs::read_to_string(cluster.work.path().join("nw-cluster/manifest.jsonl")).unwrap();
    for line in manifest.lines() {
        let line: serde_json::Value = serde_json::from_str(line).unwrap();
        assert_eq!(line["label"], "northwind", "northwind's own label: {line}");
        let files = line["content_files"].as_object().unwrap();
        assert!(files.keys().all(|path| !path.starts_with("acme-energy/")), "no file of another tenant: {line}");
    }
}

#[test]
fn a_worker_pinned_to_a_revision_renders_runs_of_that_revision() {
    let mut cluster = Cluster::new();
    // The sample tenant in a git repository of its own: published, then
    // edited on disk (the working tree is another revision).
    let root = cluster.work.path().join("repo");
    for name in ["printhub", "acme-energy"] {
        common::fs::copy_dir(&repo().join("samples").join(name), &root.join("samples").join(name));
    }
    let run_in = |program: &str, args: &[&str]| {
        let mut cmd = if program == "tessera" { tessera(&cluster.cache) } else { Command::new(program) };
        let out = cmd
            .args(args)
            .current_dir(&root)
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .output()
            .unwrap();
        assert!(out.status.success(), "{program} {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    };
    run_in("git", &["init", "-q"]);
    let published = run_in("tessera", &["content", "--tenant", "samples/acme-energy", "publish", "-m", "First"]);
    let commit = published.split_whitespace().nth(1).unwrap().to_owned();
    assert_eq!(commit.len(), 40, "{published}");
    let label = root.join("samples/acme-energy/content/labels/acme.toml");
    std::fs::write(&label, std::fs::read_to_string(&label).unwrap() + "\n# not published\n").unwrap();
    // An unknown revision: the worker does not start, and says why.
    let tenant = root.join("samples/acme-energy");
    let unknown = tessera(&cluster.cache)
        .args(["worker", "--nats", &cluster.server.url, "--revision", "no-such-tag", "--tenant"])
        .arg(&tenant)
        .output()
        .unwrap();
    let says = String::from_utf8_lossy(&unknown.stderr);
    assert!(!unknown.status.success() && says.contains("no-such-tag"), "{says}");
    cluster.worker_args = vec!["--revision".into(), commit.clone()];
    cluster.worker_for(&[&tenant], &[]);
    cluster.worker_for(&[&tenant], &[]);
    let tenant = tenant.to_str().unwrap();
    let local = cluster.batch_for(tenant, &cluster.input, "html", "local", false, &["--published"], &[]);
    let remote = cluster.batch_for(tenant, &cluster.input, "html", "cluster", true, &["--published"], &[]);
    ok(&{ local }.output().unwrap(), "local");
    ok(&{ remote }.output().unwrap(), "cluster");
    cluster.assert_same("local", "cluster");
    let manifest = std::fs::read_to_string(cluster.work.path().join("cluster/manifest.jsonl")).unwrap();
    assert!(manifest.lines().all(|l| l.contains(&commit)), "every document names the pinned revision");
}

#[test]
fn a_delivery_of_many_files_runs_on_the_cluster_as_it_runs_locally() {
    let mut cluster = Cluster::new();
    cluster.worker(&[]);
    cluster.worker(&[]);
    // The conformance samples as a folder (its README is a file no
    // translator reads) and as a ZIP with a member whose name leaves the
    // archive: both are rejected in their place, in both runs.
    let folder = repo().join("samples/sources");
    let archive = cluster.work.path().join("delivery.zip");
    {
        use std::io::Write;
        let mut zip = zip::ZipWriter::new(std::fs::File::create(&archive).unwrap());
        let options = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
        let mut names: Vec<PathBuf> = ["tmf678", "ubl"]
            .iter()
            .flat_map(|kind| std::fs::read_dir(folder.join(kind)).unwrap().map(|e| e.unwrap().path()))
            .collect();
        names.sort();
        for (n, path) in names.iter().enumerate() {
            let name = path.strip_prefix(&folder).unwrap().to_string_lossy().into_owned();
            zip.start_file(name.as_str(), options).unwrap();
            zip.write_all(&std::fs::read(path).unwrap()).unwrap();
            if n == 2 {
                zip.start_file("../outside.xml", options).unwrap();
                zip.write_all(b"<Invoice/>").unwrap();
            }
        }
        zip.finish().unwrap();
    }
    for (name, input) in [("folder", folder.as_path()), ("zip", archive.as_path())] {
        let (local, remote) = (format!("local-{name}"), format!("cluster-{name}"));
        let run = |out: &str, cluster_run: bool| {
            let extra: &[&str] = if cluster_run { &[] } else { &["--threads", "2"] };
            let output =
                cluster.batch_for("samples/acme-energy", input, "html", out, cluster_run, extra, &[]).output().unwrap();
            assert!(output.status.success(), "{out}: {}", String::from_utf8_lossy(&output.stderr));
            let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
            assert_eq!(report["balanced"], true, "{out}: {report}");
            report
        };
        let local_report = run(&local, false);
        let report = run(&remote, true);
        assert!(report["delivered"].as_u64().unwrap() >= 5, "{name}: the samples were rendered: {report}");
        assert!(report["shards"].as_u64().unwrap() >= 10, "{name}: one shard per file: {report}");
        assert_eq!(report["rejected"], local_report["rejected"], "{name}");
        cluster.assert_same(&local, &remote);
        let rejected = std::fs::read_to_string(cluster.work.path().join(&remote).join("rejected.jsonl")).unwrap();
        let refused = if name == "zip" { "leaves the archive" } else { "README.md" };
        assert!(rejected.contains(refused), "{name}: {rejected}");
    }
    assert!(!cluster.work.path().join("outside.xml").exists(), "nothing is written outside the output folder");
}
