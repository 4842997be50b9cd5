//! A NATS server of our own, for the tests and `tessera bench cluster`: the
//! pinned official binary (fetched by `host/cli/tests/cluster/nats-server.sh`),
//! on 127.0.0.1 at a free port, JetStream on, its store in a folder the
//! caller owns; killed when dropped. Production runs use the operator's
//! server, not this.

use crate::ClusterError;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running server.
pub struct LocalServer {
    child: Child,
    binary: PathBuf,
    port: u16,
    store: PathBuf,
    url: String,
}

impl LocalServer {
    /// The pinned server binary, fetched by the project's script in `repo`
    /// when missing; `TESSERA_NATS_SERVER` names another.
    pub fn binary(repo: &Path) -> Result<PathBuf, ClusterError> {
        if let Some(path) = std::env::var_os("TESSERA_NATS_SERVER") {
            return Ok(PathBuf::from(path));
        }
        let script = repo.join("host/cli/tests/cluster/nats-server.sh");
        let failed = |message: String| ClusterError::Io { what: format!("running {}", script.display()), message };
        let out =
            Command::new("bash").arg(&script).stderr(Stdio::inherit()).output().map_err(|e| failed(e.to_string()))?;
        if !out.status.success() {
            return Err(failed(format!("it ended with {}", out.status)));
        }
        Ok(PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()))
    }

    /// Starts `binary` with its store in `store` and waits until it is ready.
    pub fn start(binary: &Path, store: &Path) -> Result<LocalServer, ClusterError> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(ClusterError::io("finding a free port"))?
            .port();
        let child = spawn(binary, port, store)?;
        Ok(LocalServer {
            child,
            binary: binary.to_path_buf(),
            port,
            store: store.to_path_buf(),
            url: format!("nats://127.0.0.1:{port}"),
        })
    }

    /// `nats://127.0.0.1:<port>`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The server's process id (for measuring its CPU time).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Kills the server (as a crash would) and starts it again on the same
    /// port with the same store.
    pub fn restart(&mut self) -> Result<(), ClusterError> {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.child = spawn(&self.binary, self.port, &self.store)?;
        Ok(())
    }
}

impl Drop for LocalServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts the server and waits until its log says it is ready.
fn spawn(binary: &Path, port: u16, store: &Path) -> Result<Child, ClusterError> {
    // A restarted server writes a new log: "ready" must be its own.
    let log = store.join("server.log");
    let _ = std::fs::remove_file(&log);
    std::fs::create_dir_all(store).map_err(ClusterError::io(format!("making {}", store.display())))?;
    let mut child = Command::new(binary)
        .args(["-a", "127.0.0.1", "-p", &port.to_string(), "-js", "-sd"])
        .arg(store)
        .arg("-l")
        .arg(&log)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(ClusterError::io(format!("starting {}", binary.display())))?;
    let started = Instant::now();
    loop {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        if text.contains("Server is ready") {
            return Ok(child);
        }
        if started.elapsed() > Duration::from_secs(20) {
            let _ = child.kill();
            let _ = child.wait();
            return Err(ClusterError::Io {
                what: format!("starting {}", binary.display()),
                message: format!("not ready after 20 s:\n{text}"),
            });
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}
