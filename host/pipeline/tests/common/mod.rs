//! Test tenants built on the fly: a tenant folder, a content folder, a
//! plugin store with copies of the packaged plugins (so a test may edit a
//! manifest), and a shared runtime whose compile cache lives in the target
//! directory.

#![allow(dead_code)]

pub mod export;
pub mod fs;
pub mod pdf;
pub mod qr;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use tessera_pipeline::{BatchJob, LoadedTenant, PipelineError, Report, run_batch};
use tessera_plugin_artifacts::artifact;
use tessera_runtime::{Runtime, RuntimeConfig};

/// One runtime for all tests of a binary, as in production.
pub fn runtime() -> &'static Runtime {
    static RT: OnceLock<Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        let cache = Path::new(env!("CARGO_TARGET_TMPDIR")).join("tessera-compile-cache");
        Runtime::new(RuntimeConfig { cache_dir: Some(cache), ..Default::default() }).expect("runtime starts")
    })
}

pub const HEADER: &str = "customer_ref,document_id,last_name,street,postcode,city,country,invoice_date,due_date,line_description,line_quantity,line_unit_price,line_vat_rate\n";

/// One CSV row (one single-line invoice) whose description is `description`.
pub fn row(n: u32, description: &str) -> String {
    format!("C-{n},INV-{n},Tester,Street 1,1000 AA,Amsterdam,NL,2026-11-01,2026-11-15,{description},1,10.00,21\n")
}

/// A tenant in a temporary folder.
pub struct TestTenant {
    pub dir: tempfile::TempDir,
    pub store: PathBuf,
    grants: Vec<String>,
    template: String,
    outputs: String,
}

impl TestTenant {
    /// A tenant running `csv-billing` and the given extra plugins, whose
    /// invoice template is `template`.
    pub fn new(plugins: &[&str], template: &str) -> TestTenant {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = dir.path().join("store");
        std::fs::create_dir_all(&store).unwrap();
        let mut tenant = TestTenant {
            dir,
            store,
            grants: Vec::new(),
            template: template.to_owned(),
            outputs: "[outputs]\nhtml = true\n".into(),
        };
        for id in std::iter::once(&"csv-billing").chain(plugins) {
            tenant.stage(id);
            tenant.grant(id, "");
        }
        tenant
    }

    /// Copies a packaged plugin into this tenant's store.
    pub fn stage(&self, id: &str) {
        let a = artifact(id);
        let to = self.store.join(format!("{}-{}", a.id, a.version));
        std::fs::create_dir_all(&to).unwrap();
        for entry in std::fs::read_dir(a.dir).unwrap() {
            let entry = entry.unwrap();
            std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
        }
    }

    /// The staged package folder of a plugin.
    pub fn package(&self, id: &str) -> PathBuf {
        let a = artifact(id);
        self.store.join(format!("{}-{}", a.id, a.version))
    }

    /// Edits the staged `plugin.toml` of a plugin.
    pub fn edit_manifest(&self, id: &str, edit: impl FnOnce(String) -> String) {
        let path = self.package(id).join("plugin.toml");
        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::write(&path, edit(text)).unwrap();
    }

    /// Adds (or replaces) a `[[plugins]]` entry pinning the packaged digest,
    /// with extra TOML lines.
    pub fn grant(&mut self, id: &str, extra: &str) {
        self.grant_pinned(id, artifact(id).sha256, extra);
    }

    /// Adds (or replaces) a `[[plugins]]` entry pinning `sha256`.
    pub fn grant_pinned(&mut self, id: &str, sha256: &str, extra: &str) {
        let a = artifact(id);
        self.grants.retain(|g| !g.contains(&format!("id = \"{id}\"")));
        self.grants.push(format!(
            "[[plugins]]\nid = \"{}\"\nversion = \"{}\"\nsha256 = \"{sha256}\"\n{extra}\n",
            a.id, a.version
        ));
    }

    /// Replaces the `[outputs]` section.
    pub fn outputs(&mut self, toml: &str) {
        self.outputs = toml.to_owned();
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes tenant.toml and content, then loads the tenant.
    pub fn load(&self) -> Result<LoadedTenant, PipelineError> {
        let root = self.path();
        let content = root.join("content");
        std::fs::create_dir_all(content.join("templates")).unwrap();
        std::fs::create_dir_all(content.join("labels")).unwrap();
        std::fs::write(content.join("templates/invoice.html.tera"), &self.template).unwrap();
        std::fs::write(
            content.join("labels/main.toml"),
            "name = \"Test\"\n[colors]\nprimary = \"#000000\"\naccent = \"#ffffff\"\n[sender]\nname = \"Test B.V.\"\naddress = [\"Street 1\"]\n",
        )
        .unwrap();
        let toml = format!(
            // Test templates print what each test is about, not a whole
            // letter: the self-check holds them to nothing (tests/truth.rs
            // runs it on the sample tenants' letters).
            "id = \"test-tenant\"\nname = \"Test\"\ndefault_label = \"main\"\n[verify]\nfacts = []\n[job]\nas_of = \"2026-11-01\"\ntranslator = \"csv-billing\"\n{}\n{}",
            self.outputs,
            self.grants.join("\n")
        );
        std::fs::write(root.join("tenant.toml"), toml).unwrap();
        LoadedTenant::load(runtime(), root, std::slice::from_ref(&self.store))
    }

    /// Loads the tenant and runs `csv` (any bytes) through it; returns the
    /// report and the output folder.
    pub fn run(&self, csv: impl AsRef<[u8]>) -> (Report, PathBuf) {
        let loaded = self.load().unwrap_or_else(|e| panic!("tenant loads: {e}"));
        let input = self.path().join("input.csv");
        std::fs::write(&input, csv.as_ref()).unwrap();
        let out = self.path().join("out");
        let report = run_batch(&loaded, &BatchJob::new(&input, &out)).unwrap_or_else(|e| panic!("run: {e}"));
        assert!(report.balanced, "accounting must balance: {report:#?}");
        (report, out)
    }
}

/// A template that calls `fragment` only for INV-2, so INV-1 and INV-3 show
/// that the rest of the run is unaffected.
pub fn template_calling_on_inv2(call: &str) -> String {
    format!(
        "<p>{{{{ record.reference.document_id }}}}</p>{{% if record.reference.document_id == \"INV-2\" %}}{call}{{% endif %}}"
    )
}

/// Three invoices, INV-1..INV-3.
pub fn three_invoices() -> String {
    format!("{HEADER}{}{}{}", row(1, "one"), row(2, "two"), row(3, "three"))
}

/// Checks that INV-1 and INV-3 were delivered and INV-2 was rejected, and
/// returns INV-2's rejection.
pub fn only_inv2_rejected(report: &Report, out: &Path) -> tessera_pipeline::Rejection {
    assert_eq!((report.records_in, report.delivered, report.rejected), (3, 2, 1), "{report:#?}");
    assert!(out.join("00000/INV-1.html").is_file() && out.join("00000/INV-3.html").is_file());
    assert!(!out.join("00000/INV-2.html").exists(), "a rejected record has no output");
    let r = report.rejections[0].clone();
    assert_eq!(r.document_id.as_deref(), Some("INV-2"));
    r
}
