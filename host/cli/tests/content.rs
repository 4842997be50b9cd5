//! The author workflow end to end on a temporary git repository: publish,
//! render from the published ref, `which`, edit, publish again, roll back —
//! checked with the `git` command line too, because standard git tools
//! must keep working on a content repository.

#[path = "../../pipeline/tests/common/fs.rs"]
mod fs;

use fs::copy_dir;
use std::path::Path;
use std::process::Command;

struct Repo {
    dir: tempfile::TempDir,
}

impl Repo {
    /// The sample provider and tenant in a fresh git repository.
    fn new() -> Repo {
        let dir = tempfile::tempdir().unwrap();
        let samples = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../samples"));
        for name in ["printhub", "acme-energy"] {
            copy_dir(&samples.join(name), &dir.path().join("samples").join(name));
        }
        let repo = Repo { dir };
        repo.git(&["init", "-q"]);
        repo
    }

    fn path(&self, rel: &str) -> std::path::PathBuf {
        self.dir.path().join(rel)
    }

    /// `program` in the repository, with no user or system git config (so
    /// no user.name: publishing must still work).
    fn command(&self, program: &str, args: &[&str]) -> Command {
        let mut cmd = Command::new(program);
        cmd.args(args)
            .current_dir(self.dir.path())
            .env("TESSERA_CACHE_DIR", std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("tessera-compile-cache"))
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_CONFIG_NOSYSTEM", "1");
        cmd
    }

    /// Runs `program`, requires success, returns its standard output.
    fn run(&self, program: &str, args: &[&str]) -> String {
        let out = self.command(program, args).output().expect("the program runs");
        assert!(out.status.success(), "{program} {args:?} failed:\n{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    }

    fn tessera(&self, args: &[&str]) -> String {
        self.run(env!("CARGO_BIN_EXE_tessera"), args)
    }

    fn content(&self, args: &[&str]) -> String {
        let mut all = vec!["content", "--tenant", "samples/acme-energy"];
        all.extend_from_slice(args);
        self.tessera(&all)
    }

    fn git(&self, args: &[&str]) -> String {
        self.run("git", args)
    }

    /// Renders the sample billing file from the published ref into `out`.
    fn render_published(&self, out: &str) -> std::path::PathBuf {
        self.render(out, &["--published"])
    }

    /// Renders the sample billing file into `out` with `extra` arguments.
    fn render(&self, out: &str, extra: &[&str]) -> std::path::PathBuf {
        let input = "samples/acme-energy/data/billing.csv";
        let args = [&["batch", "--tenant", "samples/acme-energy", "--input", input, "--out", out], extra].concat();
        self.tessera(&args);
        self.path(out)
    }
}

fn field(text: &str, label: &str) -> String {
    text.lines().find_map(|l| l.strip_prefix(label)).map(|v| v.trim().to_owned()).unwrap_or_default()
}

#[test]
fn publish_render_which_edit_publish_rollback_round_trip() {
    let repo = Repo::new();
    let published = repo.content(&["publish", "-m", "First content"]);
    let first = published.split_whitespace().nth(1).unwrap().to_owned();
    assert_eq!(first.len(), 40, "{published}");
    assert!(published.contains("added     printhub/content/fragments/footer.html.tera"), "{published}");

    // Production renders the published commit; `which` names it, the files and the chains.
    let out1 = repo.render_published("out1");
    let which = repo.tessera(&["content", "which", "INV-2026-1003", "--run", out1.to_str().unwrap()]);
    assert_eq!(field(&which, "revision"), first, "{which}");
    assert!(which.contains("content view acme-green/nl"), "{which}");
    let footer_line = which.lines().find(|l| l.trim_start().starts_with("fragments/footer.html.tera")).unwrap();
    assert!(footer_line.contains("acme-energy/content/labels/acme-green/fragments/footer.html.tera"), "{which}");
    assert!(which.contains("(found, less specific)   printhub/content/fragments/footer.html.tera"), "{which}");
    // The blob ids are git's: `git cat-file` shows the file as it was rendered.
    let blob = footer_line.split_whitespace().last().unwrap();
    let shown = repo.git(&["cat-file", "-p", blob]);
    assert_eq!(
        shown,
        std::fs::read_to_string(repo.path("samples/acme-energy/content/labels/acme-green/fragments/footer.html.tera"))
            .unwrap()
    );

    // An author edits the working tree: production does not see it until published.
    let en = repo.path("samples/printhub/content/locales/en.toml");
    let text = std::fs::read_to_string(&en).unwrap().replace("Questions about this invoice?", "Any questions?");
    std::fs::write(&en, text).unwrap();
    let diff = repo.content(&["diff"]);
    assert!(diff.contains("+questions = \"Any questions?"), "{diff}");
    let out2 = repo.render_published("out2");
    assert!(!std::fs::read_to_string(out2.join("00000/INV-2026-1002.html")).unwrap().contains("Any questions?"));

    let second = repo.content(&["publish", "-m", "Friendlier question line"]);
    let second = second.split_whitespace().nth(1).unwrap().to_owned();
    assert!(repo.content(&["publish", "-m", "again"]).contains("nothing to do"), "publishing twice is a no-op");
    let out3 = repo.render_published("out3");
    assert!(std::fs::read_to_string(out3.join("00000/INV-2026-1002.html")).unwrap().contains("Any questions?"));
    let which = repo.tessera(&["content", "which", "INV-2026-1002", "--run", out3.to_str().unwrap()]);
    assert_eq!(field(&which, "revision"), second);

    let log = repo.content(&["log", "printhub/content/locales/en.toml"]);
    assert_eq!(log.lines().count(), 2, "{log}");
    assert!(log.lines().next().unwrap().ends_with("Friendlier question line"), "{log}");
    assert_eq!(repo.content(&["log", "printhub/content/templates"]).lines().count(), 1);

    // Roll back: a new commit with the first tree; nothing is rewritten.
    let rolled = repo.content(&["rollback"]);
    assert!(rolled.contains("modified  printhub/content/locales/en.toml"), "{rolled}");
    let out4 = repo.render_published("out4");
    assert!(!std::fs::read_to_string(out4.join("00000/INV-2026-1002.html")).unwrap().contains("Any questions?"));
    let git_log = repo.git(&["log", "--format=%s", "refs/tessera/published"]);
    assert_eq!(
        git_log.lines().collect::<Vec<_>>(),
        [&format!("Roll back to {}: First content", &first[..12]), "Friendlier question line", "First content"]
    );
    let tree = |rev: &str| repo.git(&["rev-parse", &format!("{rev}^{{tree}}")]);
    assert_eq!(tree("refs/tessera/published"), tree(&first), "the rollback restores the first tree");
    // The documents rendered before the rollback still name reachable commits.
    assert_eq!(repo.git(&["cat-file", "-t", &second]).trim(), "commit");
    // HEAD and the index were never touched.
    assert!(repo.git(&["status", "--porcelain"]).contains("?? samples/"));
    let head = repo.command("git", &["rev-parse", "--verify", "-q", "HEAD"]).status().unwrap();
    assert!(!head.success(), "HEAD is still unborn");
}

/// A run into the `zip` sink: `which` names each output as
/// `container!member`, and the member is in that container.
#[test]
fn which_names_the_container_and_member_of_a_zip_sink_run() {
    let repo = Repo::new();
    let out = repo.render("out-zip", &["--sink", "zip"]);
    let which = repo.tessera(&["content", "which", "INV-2026-1003", "--run", out.to_str().unwrap()]);
    let outputs = field(&which, "outputs");
    assert!(outputs.contains("00000.html.zip!INV-2026-1003.html"), "{which}");
    let archive = zip::ZipArchive::new(std::fs::File::open(out.join("00000.html.zip")).unwrap()).unwrap();
    assert!(archive.file_names().any(|n| n == "INV-2026-1003.html"), "the member is in its container");
    assert!(!out.join("00000").exists(), "the zip sink writes no block folders");
}

#[test]
fn rendering_from_an_unpublished_ref_says_how_to_publish() {
    let repo = Repo::new();
    let args = ["batch", "--tenant", "samples/acme-energy", "--input", "samples/acme-energy/data/billing.csv"];
    let out =
        repo.command(env!("CARGO_BIN_EXE_tessera"), &args).args(["--out", "out", "--published"]).output().unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("nothing is published yet") && stderr.contains("tessera content publish"), "{stderr}");
}
