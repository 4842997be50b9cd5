//! Print spools end to end with the real binary: a batch to ACME's `post`
//! channel (two-sided spools of up to 100 letters, sorted by country and
//! postcode) writes spool PDFs that qpdf and poppler read back, a manifest
//! that names each letter's spool and pages, and usage that counts sheets;
//! the folder does not depend on the thread count or shard size, and a run
//! killed while it commits records or makes its spools ends, resumed, as an
//! uninterrupted one.

mod common;
// The pipeline tests' PDF readers: pixels of the control marks, among others.
#[allow(dead_code)]
#[path = "../../pipeline/tests/common/pdf.rs"]
mod pdf;

use common::assert_same_folder;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use tessera_pipeline::spool::marks::{SheetMarks, read_omr};

const DOCS: usize = 150;

fn repo() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

/// `docs` invoices to addresses in three countries and many postcodes,
/// every 37th with an unreadable quantity (a translation rejection).
fn csv(docs: usize) -> (String, BTreeMap<String, (String, String)>) {
    let mut csv = String::from(
        "customer_ref,document_id,first_name,last_name,language,street,postcode,city,country,label,invoice_date,due_date,payment_reference,line_description,line_quantity,line_unit,line_unit_price,line_vat_rate\n",
    );
    let mut addresses = BTreeMap::new();
    for d in 0..docs {
        let country = ["NL", "BE", "DE"][d % 3];
        let postcode = format!("{:04}", 1000 + (d * 7919) % 9000);
        let id = format!("INV-S-{d:04}");
        addresses.insert(id.clone(), (country.to_owned(), postcode.clone()));
        for l in 0..(2 + d % 4) {
            let quantity = if d % 37 == 5 && l == 1 { "abc".to_owned() } else { format!("{}.5", l + 1) };
            let _ = writeln!(
                csv,
                "C-{d:05},{id},Test,Customer {d},en,Street {l},{postcode},Town,{country},acme,2026-11-01,2026-11-15,RF18539007547034,Item {l},{quantity},kWh,0.{p:04},21",
                p = 1000 + (d * 31 + l * 17) % 8000,
            );
        }
    }
    (csv, addresses)
}

struct Setup {
    _work: tempfile::TempDir,
    root: PathBuf,
    input: PathBuf,
    cache: PathBuf,
    addresses: BTreeMap<String, (String, String)>,
}

impl Setup {
    fn new() -> Setup {
        let work = tempfile::tempdir().unwrap();
        let root = work.path().to_path_buf();
        let input = root.join("post.csv");
        let (text, addresses) = csv(DOCS);
        std::fs::write(&input, text).unwrap();
        let cache = Path::new(env!("CARGO_TARGET_TMPDIR")).join("tessera-compile-cache");
        Setup { _work: work, root, input, cache, addresses }
    }

    fn run(&self, out: &str, extra: &[&str], env: &[(&str, &str)]) -> Output {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_tessera"));
        cmd.args(["batch", "--tenant", "samples/acme-energy", "--input"])
            .arg(&self.input)
            .arg("--out")
            .arg(self.root.join(out))
            .args(["--json", "--channels", "html,post"])
            .args(extra)
            .current_dir(repo())
            .env("TESSERA_CACHE_DIR", &self.cache)
            .env("TESSERA_CHECKPOINT_RECORDS", "25")
            .env_remove("TESSERA_KILL_AT");
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.output().expect("tessera runs")
    }

    fn ok(&self, out: &str, extra: &[&str]) -> serde_json::Value {
        let run = self.run(out, extra, &[]);
        assert!(run.status.success(), "batch failed: {}", String::from_utf8_lossy(&run.stderr));
        serde_json::from_slice(&run.stdout).expect("a JSON report")
    }
}

fn tool(name: &str, args: &[&str], file: &Path) -> String {
    let out = Command::new(name)
        .args(args)
        .arg(file)
        .args(if name == "pdftotext" { &["-"][..] } else { &[][..] })
        .output()
        .unwrap_or_else(|e| panic!("{name} is needed (`.ci/run` installs it): {e}"));
    assert!(out.status.success(), "{name}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn a_spooled_run_sorts_its_letters_and_says_where_each_is() {
    let setup = Setup::new();
    let report = setup.ok("out", &["--threads", "2"]);
    let out = setup.root.join("out");
    assert_eq!(report["balanced"], true, "{report}");
    let rejected = report["rejected"].as_u64().unwrap();
    assert_eq!(rejected as usize, (0..DOCS).filter(|d| d % 37 == 5).count(), "{report}");
    assert!(!out.join(".spool-staging").exists(), "the staging is removed after the run");

    let manifest = std::fs::read_to_string(out.join("manifest.jsonl")).unwrap();
    let post: Vec<serde_json::Value> = manifest
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|l| l["channel"] == "post")
        .collect();
    assert_eq!(post.len() as u64, report["delivered"].as_u64().unwrap());
    // Manifest order is spool order: by country, then postcode.
    let keys: Vec<&(String, String)> =
        post.iter().map(|l| &setup.addresses[l["document_id"].as_str().unwrap()]).collect();
    assert!(keys.windows(2).all(|w| w[0] <= w[1]), "letters are sorted by country and postcode");
    let mut spools: BTreeMap<String, Vec<&serde_json::Value>> = BTreeMap::new();
    for line in &post {
        spools.entry(line["file"].as_str().unwrap().to_owned()).or_default().push(line);
    }
    assert_eq!(spools.keys().collect::<Vec<_>>(), ["spools/post-00001.pdf", "spools/post-00002.pdf"]);
    let mut sheets = 0;
    for (number, (file, letters)) in spools.iter().enumerate() {
        let path = out.join(file);
        // ACME's marks: 5 mm from the left edge, 90 mm from the top.
        let columns = pdf::omr_columns(&std::fs::read(&path).unwrap(), 5.0, 90.0);
        assert!(tool("qpdf", &["--check"], &path).contains("No syntax or stream encoding errors"), "{file}");
        let last = letters.last().unwrap()["spool"]["last_page"].as_u64().unwrap();
        let info = tool("pdfinfo", &[], &path);
        let pages = info.lines().find_map(|l| l.strip_prefix("Pages:")).map(str::trim);
        assert_eq!(pages, Some(last.to_string().as_str()), "{file} ends with its last letter: {info}");
        let mut next = 1;
        for (nth, line) in letters.iter().enumerate() {
            let place = &line["spool"];
            let (first, last) = (place["first_page"].as_u64().unwrap(), place["last_page"].as_u64().unwrap());
            assert_eq!(first, next, "each letter starts where the last one (and its blank back) ended");
            assert_eq!(first % 2, 1, "two-sided: every letter starts on a front");
            next = last + 1 + place["blank_after"].as_u64().unwrap();
            sheets += place["sheets"].as_u64().unwrap();
            let id = line["document_id"].as_str().unwrap();
            let text = tool("pdftotext", &["-f", &first.to_string(), "-l", &last.to_string()], &path);
            assert!(text.contains(id), "pages {first}–{last} of {file} are {id}'s: {text}");
            assert!(text.contains("Test Customer"), "{text}");
            let pages = last + 1 - first;
            assert!(text.contains(&format!("{id} · 1 / {pages}")), "the letter counts its own pages: {text}");
            // The front of every sheet says which letter it belongs to.
            for page in (first..=last).step_by(2) {
                let column = &columns[page as usize - 1];
                let read = read_omr(column).unwrap_or_else(|e| panic!("{file} page {page}: {e}"));
                let expected = SheetMarks {
                    sheet: ((page - first) / 2 + 1) as u32,
                    sheets: pages.div_ceil(2) as u32,
                    place: nth as u32,
                    spool: number as u32 + 1,
                };
                assert_eq!(read, expected, "{file} page {page}");
            }
            assert_eq!(line["sha256"].as_str().unwrap(), sha256_of(&path), "the line names its spool's digest");
        }
    }
    let usage: serde_json::Value = serde_json::from_slice(&std::fs::read(out.join("usage.json")).unwrap()).unwrap();
    let row = usage["by_label_channel"].as_array().unwrap().iter().find(|r| r["channel"] == "post").unwrap();
    assert_eq!(row["sheets"].as_u64().unwrap(), sheets, "{usage}");
    assert_eq!(row["documents"].as_u64(), report["delivered"].as_u64());
}

fn sha256_of(path: &Path) -> String {
    let out = Command::new("sha256sum").arg(path).output().expect("sha256sum runs");
    String::from_utf8_lossy(&out.stdout).split_whitespace().next().unwrap_or_default().to_owned()
}

#[test]
fn spools_do_not_depend_on_threads_or_shards_and_survive_kill_9() {
    let setup = Setup::new();
    setup.ok("reference", &["--threads", "1", "--shard-kib", "4"]);
    let reference = setup.root.join("reference");
    setup.ok("threads", &["--threads", "3", "--shard-kib", "4"]);
    assert_same_folder(&reference, &setup.root.join("threads"));
    // Unsharded, the report counts one shard; everything else is the same.
    setup.ok("whole", &["--threads", "2", "--shard-kib", "0"]);
    for file in ["manifest.jsonl", "rejected.jsonl", "usage.json", "spools/post-00001.pdf", "spools/post-00002.pdf"] {
        let read = |run: &str| std::fs::read(setup.root.join(run).join(file)).unwrap();
        assert!(read("reference") == read("whole"), "{file} depends on the shard size");
    }
    for point in ["commit:60", "spool:40"] {
        let out = format!("killed-{}", point.replace(':', "-"));
        let first = setup.run(&out, &["--shard-kib", "4"], &[("TESSERA_KILL_AT", point)]);
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(first.status.signal(), Some(9), "{point}: killed: {}", String::from_utf8_lossy(&first.stderr));
        setup.ok(&out, &["--shard-kib", "4", "--resume"]);
        assert_same_folder(&reference, &setup.root.join(&out));
    }
}
