//! A NATS server for a test: the pinned official binary
//! (`tests/cluster/nats-server.sh` fetches it once), on 127.0.0.1 at a free
//! port, JetStream on, its store in a temporary folder; stopped when dropped.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running server.
pub struct NatsServer {
    child: Child,
    binary: PathBuf,
    /// `nats://127.0.0.1:<port>`.
    pub url: String,
    port: u16,
    store: tempfile::TempDir,
}

impl NatsServer {
    /// Installs (when missing) and starts a server.
    pub fn start() -> NatsServer {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cluster/nats-server.sh");
        let out = Command::new("bash").arg(&script).stderr(Stdio::inherit()).output().expect("bash runs");
        assert!(out.status.success(), "{} could not provide nats-server", script.display());
        let binary = PathBuf::from(String::from_utf8(out.stdout).unwrap().trim());
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let store = tempfile::tempdir().unwrap();
        let child = spawn(&binary, port, store.path());
        NatsServer { child, binary, url: format!("nats://127.0.0.1:{port}"), port, store }
    }

    /// Stops the server (as a crash would) and starts it again on the same
    /// port with the same store.
    pub fn restart(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.child = spawn(&self.binary, self.port, self.store.path());
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts the server and waits until its log says it is ready.
// The child is returned: its `NatsServer` kills and waits for it on drop.
#[allow(clippy::zombie_processes)]
fn spawn(binary: &Path, port: u16, store: &Path) -> Child {
    // A restarted server writes a new log: "ready" must be its own.
    let log = store.join("server.log");
    let _ = std::fs::remove_file(&log);
    let mut child = Command::new(binary)
        .args(["-a", "127.0.0.1", "-p", &port.to_string(), "-js", "-sd"])
        .arg(store)
        .arg("-l")
        .arg(&log)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("nats-server starts");
    let started = Instant::now();
    loop {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        if text.contains("Server is ready") {
            return child;
        }
        if started.elapsed() > Duration::from_secs(20) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("nats-server did not become ready:\n{text}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}
