//! `tessera bench cluster`: the same generated invoices rendered by a local
//! run and by a cluster run — `tessera worker` processes on a NATS server of
//! our own, all on this machine over loopback — for each number of workers
//! asked (a local run gets as many worker threads): documents/s of both and
//! how much slower the cluster is. Then a worker is killed (`kill -9`) in
//! the middle of a cluster run: the shards delivered again, and the time
//! from its death until every shard it could have held was done elsewhere.

use crate::bench::{emit, median, process_cpu_seconds};
use crate::bench_batch::{Audience, write_billing_csv};
use crate::paths::{Context, samples_dir};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};
use tessera_cluster::coordinator::NatsExchange;
use tessera_cluster::layout::Settings;
use tessera_cluster::server::LocalServer;
use tessera_pipeline::remote::{Arrival, ShardExchange, ShardTask};
use tessera_pipeline::sink::SinkKind;
use tessera_pipeline::{BatchJob, LoadedTenant, Remote, run_batch};

/// What to measure.
pub struct ClusterBench {
    pub tenant: String,
    pub records: usize,
    pub runs: usize,
    /// Worker counts, each against a local run with as many threads.
    pub workers: Vec<usize>,
    /// Bytes per shard (`None`: the default).
    pub shard_bytes: Option<u64>,
    pub sink: SinkKind,
    pub json: bool,
}

#[derive(Serialize)]
struct Report {
    bench: &'static str,
    tenant: String,
    records: usize,
    runs: usize,
    sink: &'static str,
    rows: Vec<Row>,
    kill: Option<Kill>,
    /// How much slower a cluster run may be than a local one.
    target_slower: f64,
}

/// One worker count.
#[derive(Serialize)]
struct Row {
    workers: usize,
    local_docs_per_sec: f64,
    local_runs: Vec<f64>,
    cluster_docs_per_sec: f64,
    cluster_runs: Vec<f64>,
    /// Local documents/s ÷ cluster documents/s.
    slower: f64,
    /// CPU time per document of the local run (the whole process), µs.
    local_cpu_us_per_doc: f64,
    /// CPU time per document of the cluster run, µs, by process: what the
    /// cluster costs on top of a local run, since here they share the cores.
    cluster_cpu_us_per_doc: ClusterCpu,
}

/// CPU µs per document of a cluster run, by role (medians over the runs).
#[derive(Serialize, Default, Clone, Copy)]
struct ClusterCpu {
    /// The coordinator: cutting, publishing, reading results, committing.
    coordinator: f64,
    /// nats-server.
    broker: f64,
    /// All workers together.
    workers: f64,
    /// The sum.
    total: f64,
}

/// A worker killed mid-run.
#[derive(Serialize)]
struct Kill {
    workers: usize,
    docs_per_sec: f64,
    /// Deliveries beyond one per shard.
    redelivered: u64,
    /// From the kill until the last shard outstanding at that moment was
    /// taken by the run, ms (the ack wait is 5 s).
    death_to_done_ms: f64,
    ack_wait_ms: f64,
}

/// Runs the bench.
pub fn run(ctx: &Context, b: &ClusterBench) -> anyhow::Result<ExitCode> {
    let runtime = ctx.runtime()?;
    let tenant_dir = std::path::absolute(samples_dir(None).join(&b.tenant))?;
    let loaded = LoadedTenant::load(&runtime, &tenant_dir, &ctx.plugin_roots)?;
    let default_label = [loaded.tenant.config.default_label.as_str()];
    let audience = Audience::of(&b.tenant, &default_label);
    let work = tempfile::tempdir()?;
    let input = work.path().join("billing.csv");
    write_billing_csv(std::fs::File::create(&input)?, b.records, &audience)?;
    let repo = tenant_dir.join("../..");
    let server = LocalServer::start(&LocalServer::binary(&repo)?, &work.path().join("nats"))?;
    let sink_name = match b.sink {
        SinkKind::Dir => "dir",
        SinkKind::Zip => "zip",
    };
    let bench =
        Bench { loaded: &loaded, tenant_dir: &tenant_dir, input: &input, work: work.path(), url: server.url(), b };
    // A warm-up, so compile caches and the page cache serve every measured run alike.
    bench.local(1, "warm")?;
    let mut rows = Vec::new();
    for &workers in &b.workers {
        let (mut local, mut local_cpu) = (Vec::new(), Vec::new());
        let (mut cluster, mut cluster_cpu) = (Vec::new(), Vec::new());
        for run in 0..b.runs {
            let (docs_per_sec, cpu) = bench.local(workers, &format!("local-{workers}-{run}"))?;
            local.push(docs_per_sec);
            local_cpu.push(cpu);
        }
        let mut processes = bench.workers(workers)?;
        // The workers' warm-up, as the local side had one: a worker lives
        // for many runs, and its first shard pays for instantiating the
        // plugins and growing its buffers (measured: the first of three
        // runs 12–16 % slower than the next two).
        bench.cluster(&format!("cluster-{workers}-warm"), Settings::default(), None)?;
        let pids: Vec<String> = processes.iter().map(|c| c.id().to_string()).collect();
        for run in 0..b.runs {
            let before = Cpu::read(server.pid(), &pids);
            let (docs_per_sec, times) =
                bench.cluster(&format!("cluster-{workers}-{run}"), Settings::default(), None)?;
            let after = Cpu::read(server.pid(), &pids);
            cluster.push(docs_per_sec);
            cluster_cpu.push(after.since(&before, times.documents));
        }
        stop(&mut processes);
        let (l, c) = (median(local.clone()), median(cluster.clone()));
        rows.push(Row {
            workers,
            local_docs_per_sec: l,
            local_runs: local.iter().map(|x| x.round()).collect(),
            cluster_docs_per_sec: c,
            cluster_runs: cluster.iter().map(|x| x.round()).collect(),
            slower: l / c.max(1e-9),
            local_cpu_us_per_doc: median(local_cpu),
            cluster_cpu_us_per_doc: ClusterCpu {
                coordinator: median(cluster_cpu.iter().map(|c| c.coordinator).collect()),
                broker: median(cluster_cpu.iter().map(|c| c.broker).collect()),
                workers: median(cluster_cpu.iter().map(|c| c.workers).collect()),
                total: median(cluster_cpu.iter().map(|c| c.total).collect()),
            },
        });
    }
    let kill = match b.workers.iter().max() {
        Some(&most) if most >= 2 => Some(bench.kill(most)?),
        _ => None,
    };
    drop(server);
    let report = Report {
        bench: "cluster",
        tenant: b.tenant.clone(),
        records: b.records,
        runs: b.runs,
        sink: sink_name,
        rows,
        kill,
        target_slower: 1.15,
    };
    emit(b.json, &report, || {
        let mut text = format!(
            "cluster: {} invoices for {} ({} sink), nats-server, coordinator and workers on this machine\n",
            report.records, report.tenant, report.sink
        );
        for r in &report.rows {
            text += &format!(
                "  {} worker(s): local {:.0} documents/s {:?}, cluster {:.0} {:?}: {:.2}× slower (target ≤ {:.2})\n",
                r.workers,
                r.local_docs_per_sec,
                r.local_runs,
                r.cluster_docs_per_sec,
                r.cluster_runs,
                r.slower,
                report.target_slower
            );
            let c = &r.cluster_cpu_us_per_doc;
            text += &format!(
                "    CPU µs per document: local {:.0}; cluster {:.0} = workers {:.0} + coordinator {:.0} + nats-server {:.0}\n",
                r.local_cpu_us_per_doc, c.total, c.workers, c.coordinator, c.broker
            );
        }
        if let Some(k) = &report.kill {
            text += &format!(
                "  one of {} workers killed mid-run: {:.0} documents/s, {} shard(s) delivered again, {:.0} ms from its death to its shards done (ack wait {:.0} ms)\n",
                k.workers, k.docs_per_sec, k.redelivered, k.death_to_done_ms, k.ack_wait_ms
            );
        }
        text
    })?;
    Ok(ExitCode::SUCCESS)
}

/// What every measured run shares.
struct Bench<'a> {
    loaded: &'a LoadedTenant,
    tenant_dir: &'a Path,
    input: &'a Path,
    work: &'a Path,
    url: &'a str,
    b: &'a ClusterBench,
}

impl Bench<'_> {
    fn job<'j>(&self, out: &'j Path, threads: usize) -> BatchJob<'j>
    where
        Self: 'j,
    {
        BatchJob {
            threads: Some(threads),
            shard_bytes: self.b.shard_bytes,
            sink: Some(self.b.sink),
            channels: Some(vec!["html".to_owned()]),
            ..BatchJob::new(self.input, out)
        }
    }

    /// A local run with `threads` worker threads: documents/s and CPU µs
    /// per document.
    fn local(&self, threads: usize, name: &str) -> anyhow::Result<(f64, f64)> {
        let out = self.work.join(name);
        let before = process_cpu_seconds("self").unwrap_or(f64::NAN);
        let report = run_batch(self.loaded, &self.job(&out, threads))?;
        let cpu = process_cpu_seconds("self").unwrap_or(f64::NAN) - before;
        anyhow::ensure!(report.balanced, "the local run lost records");
        std::fs::remove_dir_all(&out)?;
        Ok((report.docs_per_sec, cpu * 1e6 / report.delivered.max(1) as f64))
    }

    /// `n` worker processes of this binary, one slot each, ready.
    fn workers(&self, n: usize) -> anyhow::Result<Vec<Child>> {
        let mut children = Vec::new();
        for i in 0..n {
            let log = self.work.join(format!("worker-{}-{i}.log", Instant::now().elapsed().as_nanos()));
            let child = Command::new(std::env::current_exe()?)
                .args(["worker", "--nats", self.url, "--tenant"])
                .arg(self.tenant_dir)
                .args(["--slots", "1", "--ack-wait-secs", "5"])
                .stdout(Stdio::null())
                .stderr(std::fs::File::create(&log)?)
                .spawn()?;
            children.push((child, log));
        }
        let started = Instant::now();
        while !children.iter().all(|(_, log)| std::fs::read_to_string(log).is_ok_and(|l| l.contains(" slots"))) {
            anyhow::ensure!(started.elapsed() < Duration::from_secs(60), "the workers did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(children.into_iter().map(|(c, _)| c).collect())
    }

    /// A cluster run: documents/s, and the exchange's record of it.
    fn cluster(
        &self,
        name: &str,
        settings: Settings,
        during: Option<&(dyn Fn(&Timed<'_>) + Sync)>,
    ) -> anyhow::Result<(f64, Times)> {
        let out = self.work.join(name);
        let run = format!("bench-{name}-{}", std::process::id());
        let exchange = NatsExchange::connect(self.url, &self.loaded.tenant.config.id, &run, settings)?;
        let before = exchange.deliveries()?;
        let timed = Timed { inner: &exchange, times: Mutex::default() };
        let job = BatchJob { remote: Some(Remote { exchange: &timed, run: &run, in_flight: 16 }), ..self.job(&out, 1) };
        let report = std::thread::scope(|scope| {
            if let Some(during) = during {
                scope.spawn(|| during(&timed));
            }
            run_batch(self.loaded, &job)
        })?;
        anyhow::ensure!(report.balanced, "the cluster run lost records");
        let mut times = timed.times.into_inner().unwrap_or_else(|e| e.into_inner());
        times.documents = report.delivered;
        times.redelivered = exchange.deliveries()?.saturating_sub(before).saturating_sub(report.shards);
        exchange.finish()?;
        std::fs::remove_dir_all(&out)?;
        Ok((report.docs_per_sec, times))
    }

    /// A cluster run of `workers` workers, one killed once a third of the
    /// shards are back.
    fn kill(&self, workers: usize) -> anyhow::Result<Kill> {
        let mut processes = self.workers(workers)?;
        let victim = Mutex::new(processes.remove(0));
        let killed_at: Mutex<Option<Instant>> = Mutex::default();
        let settings = Settings { ack_wait: Duration::from_secs(5), ..Settings::default() };
        let kill_when_a_third_is_back = |timed: &Timed<'_>| {
            let started = Instant::now();
            while started.elapsed() < Duration::from_secs(600) {
                let (sent, back) = timed.counts();
                if sent > 0 && back * 3 >= sent && back > 0 {
                    let _ = victim.lock().unwrap_or_else(|e| e.into_inner()).kill();
                    *killed_at.lock().unwrap_or_else(|e| e.into_inner()) = Some(Instant::now());
                    return;
                }
                std::thread::sleep(Duration::from_millis(2));
            }
        };
        let (docs_per_sec, times) = self.cluster("kill", settings, Some(&kill_when_a_third_is_back))?;
        let _ = victim.lock().unwrap_or_else(|e| e.into_inner()).wait();
        stop(&mut processes);
        let at = killed_at.into_inner().unwrap_or_else(|e| e.into_inner());
        let death_to_done_ms = at.map_or(f64::NAN, |at| times.done_after(at).as_secs_f64() * 1e3);
        Ok(Kill {
            workers,
            docs_per_sec,
            redelivered: times.redelivered,
            death_to_done_ms,
            ack_wait_ms: settings.ack_wait.as_secs_f64() * 1e3,
        })
    }
}

fn stop(children: &mut [Child]) {
    for child in children {
        let _ = child.kill();
        let _ = child.wait();
    }
}

/// When each shard went out and when the run took its result.
#[derive(Default)]
struct Times {
    sent: BTreeMap<u64, Instant>,
    back: BTreeMap<u64, Instant>,
    redelivered: u64,
    /// Documents the run delivered.
    documents: u64,
}

/// CPU seconds used so far by this process (the coordinator), the server
/// and the workers.
struct Cpu {
    coordinator: f64,
    broker: f64,
    workers: f64,
}

impl Cpu {
    fn read(server: u32, workers: &[String]) -> Cpu {
        let of = |pid: &str| process_cpu_seconds(pid).unwrap_or(f64::NAN);
        Cpu {
            coordinator: of("self"),
            broker: of(&server.to_string()),
            workers: workers.iter().map(|pid| of(pid)).sum(),
        }
    }

    /// µs per document from `before` to this reading.
    fn since(&self, before: &Cpu, documents: u64) -> ClusterCpu {
        let per_doc = |now: f64, then: f64| (now - then) * 1e6 / documents.max(1) as f64;
        let (coordinator, broker, workers) = (
            per_doc(self.coordinator, before.coordinator),
            per_doc(self.broker, before.broker),
            per_doc(self.workers, before.workers),
        );
        ClusterCpu { coordinator, broker, workers, total: coordinator + broker + workers }
    }
}

impl Times {
    /// From `at` until the run had every shard that was out at `at`.
    fn done_after(&self, at: Instant) -> Duration {
        self.sent
            .iter()
            .filter(|(_, sent)| **sent <= at)
            .filter_map(|(index, _)| self.back.get(index))
            .filter(|back| **back > at)
            .map(|back| back.duration_since(at))
            .max()
            .unwrap_or_default()
    }
}

/// An exchange that notes when each shard went out and came back.
struct Timed<'a> {
    inner: &'a NatsExchange,
    times: Mutex<Times>,
}

impl Timed<'_> {
    /// Shards sent and taken back so far.
    fn counts(&self) -> (usize, usize) {
        let times = self.times.lock().unwrap_or_else(|e| e.into_inner());
        (times.sent.len(), times.back.len())
    }
}

impl ShardExchange for Timed<'_> {
    fn dispatch(&self, task: ShardTask, bytes: Vec<u8>) -> Result<(), String> {
        let index = task.index;
        self.inner.dispatch(task, bytes)?;
        self.times.lock().unwrap_or_else(|e| e.into_inner()).sent.insert(index, Instant::now());
        Ok(())
    }

    fn receive(&self) -> Result<Option<Arrival>, String> {
        let arrival = self.inner.receive()?;
        if let Some(a) = &arrival {
            self.times.lock().unwrap_or_else(|e| e.into_inner()).back.entry(a.index).or_insert_with(Instant::now);
        }
        Ok(arrival)
    }

    fn note(&self, message: &str) {
        self.inner.note(message);
    }
}
