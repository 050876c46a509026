//! The `twinsync` binary, started as a process.
