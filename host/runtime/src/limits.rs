//! Per-call resource limits, and how a plugin's request and a tenant's
//! ceiling combine into the limits a plugin actually runs with.
//!
//! Budgets differ by orders of magnitude between plugins (a QR code is a few
//! million instructions, a typeset page a hundred million), so there is no
//! global number: each plugin asks for what it needs in `plugin.toml`, the
//! tenant caps what it is willing to pay in `tenant.toml`, and a request over
//! the cap is refused at load time rather than failing at 3 a.m. mid-run.

use serde::Deserialize;
use std::time::Duration;

/// Limits as written in `plugin.toml` (requested) or `tenant.toml`
/// (ceiling). Absent fields fall back to [`Limits::default`] for requests
/// and to "no extra cap" for ceilings.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct LimitSpec {
    /// Fuel (roughly, wasm instructions) per call.
    pub fuel: Option<u64>,
    /// Linear memory cap of the instance, in MiB.
    pub memory_mib: Option<u64>,
    /// Wall-clock deadline per call, in milliseconds.
    pub timeout_ms: Option<u64>,
    /// Bytes a call may return, in KiB.
    pub output_kib: Option<u64>,
    /// Bytes a call may log, in KiB.
    pub log_kib: Option<u64>,
}

/// The limits a plugin runs with, per call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Fuel per call.
    pub fuel: u64,
    /// Linear memory cap in bytes.
    pub memory_bytes: u64,
    /// Wall-clock deadline per call.
    pub timeout: Duration,
    /// Output bytes per call.
    pub output_bytes: u64,
    /// Log bytes per call.
    pub log_bytes: u64,
}

impl Limits {
    /// The budget of one call that does the work of `documents` calls (a
    /// print spool): fuel, deadline and output cap multiplied, memory as it is.
    pub fn times(&self, documents: u32) -> Limits {
        let n = u64::from(documents.max(1));
        Limits {
            fuel: self.fuel.saturating_mul(n),
            timeout: self.timeout.saturating_mul(documents.max(1)),
            output_bytes: self.output_bytes.saturating_mul(n),
            ..*self
        }
    }
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            fuel: 10_000_000,
            memory_bytes: 16 << 20,
            timeout: Duration::from_millis(1_000),
            output_bytes: 1 << 20,
            log_bytes: 4 << 10,
        }
    }
}

/// A limit a plugin asked for above what the tenant (or the host) allows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LimitRefusal {
    /// Which limit (`fuel`, `memory_mib`, ...).
    pub limit: &'static str,
    /// What the plugin asked for.
    pub requested: u64,
    /// The most that is allowed.
    pub allowed: u64,
    /// Who set the cap: `tenant` or `host`.
    pub by: &'static str,
}

/// The largest memory any plugin may have: the size of a pooling-allocator slot.
pub const HOST_MAX_MEMORY_MIB: u64 = 512;

impl Limits {
    /// Combines a plugin's request with the tenant's ceiling.
    pub fn resolve(requested: &LimitSpec, ceiling: &LimitSpec) -> Result<Limits, LimitRefusal> {
        let d = Limits::default();
        let pick = |limit: &'static str, req: Option<u64>, cap: Option<u64>, default: u64| {
            let value = req.unwrap_or(default);
            match cap {
                Some(cap) if value > cap => Err(LimitRefusal { limit, requested: value, allowed: cap, by: "tenant" }),
                _ => Ok(value),
            }
        };
        let memory_mib = pick("memory_mib", requested.memory_mib, ceiling.memory_mib, d.memory_bytes >> 20)?;
        if memory_mib > HOST_MAX_MEMORY_MIB {
            return Err(LimitRefusal {
                limit: "memory_mib",
                requested: memory_mib,
                allowed: HOST_MAX_MEMORY_MIB,
                by: "host",
            });
        }
        Ok(Limits {
            fuel: pick("fuel", requested.fuel, ceiling.fuel, d.fuel)?,
            memory_bytes: memory_mib << 20,
            timeout: Duration::from_millis(pick(
                "timeout_ms",
                requested.timeout_ms,
                ceiling.timeout_ms,
                d.timeout.as_millis() as u64,
            )?),
            output_bytes: pick("output_kib", requested.output_kib, ceiling.output_kib, d.output_bytes >> 10)? << 10,
            log_bytes: pick("log_kib", requested.log_kib, ceiling.log_kib, d.log_bytes >> 10)? << 10,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_within_ceiling_is_kept() {
        let req = LimitSpec { fuel: Some(5), memory_mib: Some(8), ..Default::default() };
        let cap = LimitSpec { fuel: Some(10), ..Default::default() };
        let l = Limits::resolve(&req, &cap).unwrap();
        assert_eq!(l.fuel, 5);
        assert_eq!(l.memory_bytes, 8 << 20);
        assert_eq!(l.log_bytes, Limits::default().log_bytes);
    }

    #[test]
    fn request_over_tenant_ceiling_is_refused_naming_both_numbers() {
        let req = LimitSpec { fuel: Some(50), ..Default::default() };
        let cap = LimitSpec { fuel: Some(10), ..Default::default() };
        let r = Limits::resolve(&req, &cap).unwrap_err();
        assert_eq!(r, LimitRefusal { limit: "fuel", requested: 50, allowed: 10, by: "tenant" });
    }

    #[test]
    fn memory_over_the_host_slot_is_refused_by_the_host() {
        let req = LimitSpec { memory_mib: Some(4096), ..Default::default() };
        let r = Limits::resolve(&req, &LimitSpec::default()).unwrap_err();
        assert_eq!(r.by, "host");
    }
}
