//! The store conformance suite against `MemoryStore`, one named test per case.

twinsync::store_conformance!(twinsync::store::MemoryStore::new);
