//! A pool of connections: opened on demand up to a maximum, kept open for
//! the next transaction, each with the statements it has prepared.

use std::collections::HashMap;
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::Duration;

use tokio::runtime::Handle;
use tokio_postgres::{Client, Statement};

use crate::error::{Error, ErrorKind, Result};

use super::connect::Target;

/// One open connection and its prepared statements, by SQL text.
pub(super) struct Conn {
    pub(super) client: Client,
    pub(super) statements: HashMap<String, Statement>,
}

struct Slots {
    idle: Vec<Conn>,
    /// Connections open, idle or lent.
    open: usize,
}

/// The pool. Connections whose server went away are dropped, not reused.
pub(super) struct Pool {
    pub(super) target: Target,
    pub(super) schema: String,
    handle: Handle,
    max: usize,
    wait: Duration,
    slots: Mutex<Slots>,
    freed: Condvar,
}

impl Pool {
    pub(super) fn new(
        target: Target,
        schema: String,
        handle: Handle,
        max: usize,
        wait: Duration,
    ) -> Pool {
        Pool {
            target,
            schema,
            handle,
            max: max.max(1),
            wait,
            slots: Mutex::new(Slots {
                idle: Vec::new(),
                open: 0,
            }),
            freed: Condvar::new(),
        }
    }

    fn slots(&self) -> MutexGuard<'_, Slots> {
        self.slots.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A new connection outside the pool (the node lock's).
    pub(super) fn connect_alone(&self) -> Result<Client> {
        self.target.connect(&self.handle, &self.schema)
    }

    /// An idle connection, a new one while fewer than the maximum are open,
    /// or the next one returned.
    ///
    /// # Errors
    ///
    /// `Storage` when connecting fails, or (temporary) when every
    /// connection stays lent for the pool's wait.
    pub(super) fn get(&self) -> Result<Lent<'_>> {
        let mut slots = self.slots();
        loop {
            while let Some(conn) = slots.idle.pop() {
                if conn.client.is_closed() {
                    slots.open -= 1;
                    continue;
                }
                return Ok(Lent {
                    pool: self,
                    conn: Some(conn),
                    broken: false,
                });
            }
            if slots.open < self.max {
                slots.open += 1;
                drop(slots);
                return match self.connect_alone() {
                    Ok(client) => Ok(Lent {
                        pool: self,
                        conn: Some(Conn {
                            client,
                            statements: HashMap::new(),
                        }),
                        broken: false,
                    }),
                    Err(e) => {
                        self.slots().open -= 1;
                        self.freed.notify_one();
                        Err(e)
                    }
                };
            }
            let (next, waited) = self
                .freed
                .wait_timeout(slots, self.wait)
                .unwrap_or_else(|e| e.into_inner());
            slots = next;
            if waited.timed_out() && slots.idle.is_empty() && slots.open >= self.max {
                return Err(Error::new(
                    ErrorKind::Storage,
                    format!(
                        "cannot start a transaction: all {} connections stayed busy for {} s",
                        self.max,
                        self.wait.as_secs()
                    ),
                )
                .set_temporary(true)
                .with_context("database", &self.target.name));
            }
        }
    }

    fn give_back(&self, conn: Option<Conn>) {
        let mut slots = self.slots();
        match conn {
            Some(conn) if !conn.client.is_closed() => slots.idle.push(conn),
            _ => slots.open -= 1,
        }
        drop(slots);
        self.freed.notify_one();
    }
}

/// A connection lent by the pool, returned when dropped (closed instead
/// when marked broken).
pub(super) struct Lent<'p> {
    pool: &'p Pool,
    conn: Option<Conn>,
    pub(super) broken: bool,
}

impl Lent<'_> {
    pub(super) fn conn(&mut self) -> &mut Conn {
        self.conn
            .as_mut()
            .expect("a lent connection is present until dropped")
    }
}

impl Drop for Lent<'_> {
    fn drop(&mut self) {
        let conn = self.conn.take().filter(|_| !self.broken);
        self.pool.give_back(conn);
    }
}
