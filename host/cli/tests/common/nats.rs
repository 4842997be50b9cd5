//! A NATS server for a test ([`tessera_cluster::server::LocalServer`]), its
//! store in a temporary folder that lives as long as it does.

use std::path::Path;

/// A running server.
pub struct NatsServer {
    server: tessera_cluster::server::LocalServer,
    /// `nats://127.0.0.1:<port>`.
    pub url: String,
    _store: tempfile::TempDir,
}

impl NatsServer {
    /// Installs (when missing) and starts a server.
    pub fn start() -> NatsServer {
        let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let binary = tessera_cluster::server::LocalServer::binary(&repo).expect("the pinned nats-server");
        let store = tempfile::tempdir().unwrap();
        let server = tessera_cluster::server::LocalServer::start(&binary, store.path()).expect("nats-server starts");
        NatsServer { url: server.url().to_owned(), server, _store: store }
    }

    /// Kills the server and starts it again on the same port and store.
    pub fn restart(&mut self) {
        self.server.restart().expect("nats-server starts again");
    }
}
