//! A run whose shards are rendered elsewhere ([`ShardExchange`]) writes the
//! folder a local run writes, byte for byte, for both sinks and any shard
//! size — with its results arriving out of order, twice, and mixed with
//! results for other bytes or another run, which count never. And a worker
//! refuses a shard it cannot render exactly as the run pinned it.

mod common;

use common::export::{export, folder};
use common::runtime;
use std::collections::VecDeque;
use std::path::Path;
use std::sync::Mutex;
use tessera_pipeline::remote::{Arrival, ShardExchange, ShardResult, ShardTask, decode_result, encode_result};
use tessera_pipeline::sink::SinkKind;
use tessera_pipeline::{BatchJob, LoadedTenant, Remote, render_shard, run_batch};

fn acme() -> LoadedTenant {
    let repo = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."));
    let roots = tessera_pipeline::default_roots(Path::new(tessera_plugin_artifacts::STORE));
    LoadedTenant::load(runtime(), &repo.join("samples/acme-energy"), &roots).expect("acme-energy loads")
}

/// Renders each shard as it is dispatched (with the worker's function, its
/// result through the wire format) and hands the results back newest
/// first, every third one twice, after a forged one for other bytes and
/// one of another run.
struct Scrambled<'a> {
    loaded: &'a LoadedTenant,
    ready: Mutex<VecDeque<Vec<u8>>>,
    dispatched: Mutex<Vec<ShardTask>>,
}

impl ShardExchange for Scrambled<'_> {
    fn dispatch(&self, task: ShardTask, bytes: Vec<u8>) -> Result<(), String> {
        let (result, files) = render_shard(self.loaded, &task, &bytes, "test-worker")?;
        let frame = encode_result(&result, &files);
        let mut ready = self.ready.lock().unwrap();
        if task.index % 3 == 1 {
            ready.push_back(frame.clone());
            let forged = ShardResult { sha256: "0".repeat(64), outcomes: Vec::new(), ..result.clone() };
            ready.push_back(encode_result(&forged, &[]));
            let other_run = ShardResult { run: "another run".into(), outcomes: Vec::new(), ..result };
            ready.push_back(encode_result(&other_run, &[]));
        }
        ready.push_back(frame);
        self.dispatched.lock().unwrap().push(task);
        Ok(())
    }

    fn receive(&self) -> Result<Option<Arrival>, String> {
        let frame = self.ready.lock().unwrap().pop_back();
        Ok(frame.map(|frame| {
            let (result, files) = decode_result(&frame).expect("a frame this test made");
            Arrival::ready(result, files)
        }))
    }
}

fn job<'a>(input: &'a Path, out: &'a Path, shard_bytes: u64, sink: SinkKind) -> BatchJob<'a> {
    BatchJob {
        threads: Some(2),
        shard_bytes: Some(shard_bytes),
        channels: Some(vec!["html".to_owned(), "lines".to_owned()]),
        sink: Some(sink),
        documents_per_block: Some(7),
        ..BatchJob::new(input, out)
    }
}

#[test]
fn shards_rendered_elsewhere_give_the_folder_of_a_local_run() {
    let loaded = acme();
    let work = tempfile::tempdir().unwrap();
    let input = work.path().join("billing.csv");
    std::fs::write(&input, export(true)).unwrap();
    for sink in [SinkKind::Dir, SinkKind::Zip] {
        let local_out = work.path().join(format!("local-{sink:?}"));
        let local = run_batch(&loaded, &job(&input, &local_out, 4096, sink)).unwrap();
        assert!(local.balanced && local.rejected > 0, "{local:#?}");
        for shard_bytes in [333, 4096, 1 << 30] {
            let exchange = Scrambled { loaded: &loaded, ready: Mutex::default(), dispatched: Mutex::default() };
            let out = work.path().join(format!("remote-{sink:?}-{shard_bytes}"));
            let remote = Remote { exchange: &exchange, run: "run-1", in_flight: 3 };
            let report = run_batch(&loaded, &BatchJob { remote: Some(remote), ..job(&input, &out, shard_bytes, sink) })
                .unwrap_or_else(|e| panic!("{sink:?}, shards of {shard_bytes} bytes: {e}"));
            assert!(report.balanced, "{report:#?}");
            let tasks = exchange.dispatched.lock().unwrap();
            assert_eq!(report.shards, tasks.len() as u64);
            assert!(tasks.iter().all(|t| t.revision == tasks[0].revision && t.plugins.contains_key("csv-billing")));
            let (want, got) = (folder(&local_out), folder(&out));
            assert_eq!(want.keys().collect::<Vec<_>>(), got.keys().collect::<Vec<_>>(), "{sink:?}, {shard_bytes}");
            for (name, bytes) in &want {
                assert!(got[name] == *bytes, "{sink:?}, shards of {shard_bytes} bytes: {name} differs");
            }
        }
    }
}

#[test]
fn a_worker_refuses_what_it_cannot_render_exactly() {
    let loaded = acme();
    let bytes = export(false);
    let task = ShardTask {
        run: "run-1".into(),
        index: 0,
        tenant: "acme-energy".into(),
        revision: loaded.content.current().revision().to_string(),
        plugins: loaded.plugins.iter().map(|(id, p)| (id.clone(), p.sha256().to_owned())).collect(),
        translator: "csv-billing".into(),
        source_name: "billing.csv".into(),
        seed_name: None,
        as_of: "2026-11-01".into(),
        channels: None,
        start: None,
        from: 0,
        to: bytes.len() as u64,
        sha256: tessera_pipeline::sha256_hex(&bytes),
    };
    let (result, _) = render_shard(&loaded, &task, &bytes, "w").expect("the pinned inputs are this worker's");
    assert!(result.outcomes.len() >= 120, "every invoice and each rejected row: {}", result.outcomes.len());
    let refused = |task: ShardTask, bytes: &[u8]| render_shard(&loaded, &task, bytes, "w").err().unwrap();
    let other = ShardTask { revision: "0123abcd".into(), ..task.clone() };
    assert!(refused(other, &bytes).contains("pinned to 0123abcd"));
    let mut plugins = task.plugins.clone();
    plugins.insert("payment-qr".into(), "f".repeat(64));
    let reason = refused(ShardTask { plugins: plugins.clone(), ..task.clone() }, &bytes);
    assert!(reason.contains("payment-qr") && reason.contains(&"f".repeat(64)), "{reason}");
    plugins.insert("no-such-plugin".into(), "e".repeat(64));
    assert!(refused(ShardTask { plugins, ..task.clone() }, &bytes).contains("no plugin no-such-plugin"));
    assert!(refused(ShardTask { tenant: "northwind-telecom".into(), ..task.clone() }, &bytes).contains("northwind"));
    assert!(refused(task.clone(), &bytes[1..]).contains("sha256"));
    // Refused while rendering, with the shard's translator still running
    // on its own thread: the refusal comes back and nothing hangs.
    let spooled = ShardTask { channels: Some(vec!["post".into()]), ..task };
    assert!(refused(spooled, &bytes).contains("print spools"));
}
