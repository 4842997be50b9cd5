//! A plugin's stderr, kept for error messages: the first few KiB are held,
//! the rest is counted and dropped, and writing never blocks or fails — a
//! plugin that floods stderr cannot stall itself or the host. When a plugin
//! panics, Rust's panic message is on stderr; the host puts it in the
//! rejection so partner developers see *why* their plugin trapped.

use bytes::Bytes;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use tokio::io::AsyncWrite;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamError};

/// How much of stderr is kept per store.
const KEEP: usize = 4096;

/// A capped, shared stderr buffer (cheap to clone into the WASI context).
#[derive(Clone, Default)]
pub(crate) struct StderrTail {
    kept: Arc<Mutex<Vec<u8>>>,
}

impl StderrTail {
    fn push(&self, bytes: &[u8]) {
        let mut kept = self.kept.lock().unwrap_or_else(|e| e.into_inner());
        let room = KEEP.saturating_sub(kept.len());
        kept.extend_from_slice(&bytes[..bytes.len().min(room)]);
    }

    /// The panic message, if stderr holds one: `panicked at FILE:LINE:COL: MESSAGE`.
    pub(crate) fn panic_message(&self) -> Option<String> {
        let kept = self.kept.lock().unwrap_or_else(|e| e.into_inner());
        let text = String::from_utf8_lossy(&kept);
        let start = text.find("panicked at ")?;
        let message: Vec<&str> = text[start..]
            .lines()
            .take_while(|l| !l.starts_with("note: run with `RUST_BACKTRACE"))
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect();
        Some(message.join(" ").chars().take(500).collect())
    }
}

impl IsTerminal for StderrTail {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for StderrTail {
    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.clone())
    }
    fn async_stream(&self) -> Box<dyn AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }
}

#[wasmtime_wasi::async_trait]
impl Pollable for StderrTail {
    async fn ready(&mut self) {}
}

impl OutputStream for StderrTail {
    fn write(&mut self, bytes: Bytes) -> Result<(), StreamError> {
        self.push(&bytes);
        Ok(())
    }
    fn flush(&mut self) -> Result<(), StreamError> {
        Ok(())
    }
    fn check_write(&mut self) -> Result<usize, StreamError> {
        // Always room: what does not fit is dropped, never waited for.
        Ok(64 * 1024)
    }
}

impl AsyncWrite for StderrTail {
    fn poll_write(self: Pin<&mut Self>, _cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.push(buf);
        Poll::Ready(Ok(buf.len()))
    }
    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_panic_message_and_drops_the_backtrace_hint() {
        let t = StderrTail::default();
        t.push(b"\nthread '<unnamed>' panicked at /tessera/plugins/x/src/lib.rs:9:13:\nbad input\nnote: run with `RUST_BACKTRACE=1` environment variable to display a backtrace\n");
        assert_eq!(t.panic_message().as_deref(), Some("panicked at /tessera/plugins/x/src/lib.rs:9:13: bad input"));
    }

    #[test]
    fn keeps_only_the_first_bytes() {
        let t = StderrTail::default();
        for _ in 0..100 {
            t.push(&[b'x'; 1000]);
        }
        assert_eq!(t.kept.lock().unwrap().len(), KEEP);
        assert_eq!(t.panic_message(), None);
    }
}
