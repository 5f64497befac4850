//! Fan-out of stream frames to WebSocket connections: each connection registers a channel and
//! the streams it follows; the venue publishes under its own lock, so every connection sees events
//! in the engine's order.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::sync::mpsc::Sender;

use serde_json::{Value, json};

/// What a connection's writer is told to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outbound {
    /// Send this text frame.
    Text(String),
    /// Send this text frame, a measurement probe's tick, and tell the probe when it went
    /// ([`crate::probe::Probe::tick_sent`]).
    Tick {
        /// The frame.
        text: String,
        /// The probe's tick number.
        seq: u64,
    },
}

/// One connection's subscriptions.
#[derive(Debug)]
struct Entry {
    tx: Sender<Outbound>,
    /// Market streams and listenKeys followed.
    streams: HashSet<String>,
    /// Frames wrapped as `{"stream":…,"data":…}` (`/stream`).
    combined: bool,
    /// WebSocket API user-data subscription ids.
    user_subs: Vec<u64>,
}

/// The registry of live connections.
#[derive(Debug, Default)]
pub struct Hub {
    conns: Mutex<HashMap<u64, Entry>>,
}

impl Hub {
    fn with<R>(&self, f: impl FnOnce(&mut HashMap<u64, Entry>) -> R) -> R {
        let mut g = self.conns.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        f(&mut g)
    }

    /// Registers connection `id`.
    pub fn register(&self, id: u64, tx: Sender<Outbound>, combined: bool) {
        self.with(|c| c.insert(id, Entry { tx, streams: HashSet::new(), combined, user_subs: Vec::new() }));
    }

    /// Forgets connection `id`.
    pub fn unregister(&self, id: u64) {
        self.with(|c| c.remove(&id));
    }

    /// Adds (or removes) streams of connection `id`.
    pub fn set_streams(&self, id: u64, names: &[String], on: bool) {
        self.with(|c| {
            if let Some(e) = c.get_mut(&id) {
                for n in names {
                    if on {
                        e.streams.insert(n.clone());
                    } else {
                        e.streams.remove(n);
                    }
                }
            }
        });
    }

    /// The streams connection `id` follows, sorted.
    pub fn streams(&self, id: u64) -> Vec<String> {
        let mut v: Vec<String> =
            self.with(|c| c.get(&id).map(|e| e.streams.iter().cloned().collect()).unwrap_or_default());
        v.sort();
        v
    }

    /// Adds a WebSocket API user-data subscription to connection `id`.
    pub fn add_user_sub(&self, id: u64, sub: u64) {
        self.with(|c| c.get_mut(&id).map(|e| e.user_subs.push(sub)));
    }

    /// Removes subscription `sub` from connection `id`; whether it existed.
    pub fn remove_user_sub(&self, id: u64, sub: u64) -> bool {
        self.with(|c| {
            c.get_mut(&id).is_some_and(|e| {
                let before = e.user_subs.len();
                e.user_subs.retain(|s| *s != sub);
                before != e.user_subs.len()
            })
        })
    }

    /// Sends `data` to every connection following `stream`.
    pub fn publish(&self, stream: &str, data: &Value) {
        let mut raw = None;
        let mut wrapped = None;
        self.with(|c| {
            for e in c.values() {
                if !e.streams.contains(stream) {
                    continue;
                }
                let text = if e.combined {
                    wrapped.get_or_insert_with(|| json!({"stream": stream, "data": data}).to_string()).clone()
                } else {
                    raw.get_or_insert_with(|| data.to_string()).clone()
                };
                let _ = e.tx.send(Outbound::Text(text));
            }
        });
    }

    /// Connections following `stream`.
    pub fn followers(&self, stream: &str) -> usize {
        self.with(|c| c.values().filter(|e| e.streams.contains(stream)).count())
    }

    /// Sends probe tick `seq` (`data` on `stream`) to every connection following `stream`;
    /// returns how many.
    pub fn publish_tick(&self, stream: &str, data: &Value, seq: u64) -> usize {
        let mut raw = None;
        let mut wrapped = None;
        self.with(|c| {
            let mut n = 0;
            for e in c.values().filter(|e| e.streams.contains(stream)) {
                let text = if e.combined {
                    wrapped.get_or_insert_with(|| json!({"stream": stream, "data": data}).to_string()).clone()
                } else {
                    raw.get_or_insert_with(|| data.to_string()).clone()
                };
                n += usize::from(e.tx.send(Outbound::Tick { text, seq }).is_ok());
            }
            n
        })
    }

    /// Sends user-data events: to listenKey streams in `keys` and to every WebSocket API
    /// subscription (`{"subscriptionId":N,"event":…}`). `copies` > 1 repeats each (fault).
    pub fn publish_user(&self, keys: &HashSet<String>, events: &[Value]) {
        self.with(|c| {
            for e in c.values() {
                for ev in events {
                    for k in e.streams.iter().filter(|s| keys.contains(*s)) {
                        let text = if e.combined {
                            json!({"stream": k, "data": ev}).to_string()
                        } else {
                            ev.to_string()
                        };
                        let _ = e.tx.send(Outbound::Text(text));
                    }
                    for s in &e.user_subs {
                        let _ =
                            e.tx.send(Outbound::Text(json!({"subscriptionId": s, "event": ev}).to_string()));
                    }
                }
            }
        });
    }

    /// Ends every user-data stream: `listenKeyExpired` to listenKey followers, then
    /// `eventStreamTerminated` to each WebSocket API subscription, which is removed.
    pub fn terminate_user(&self, keys: &HashSet<String>, now_ms: i64) {
        self.with(|c| {
            for e in c.values_mut() {
                let followed: Vec<String> = e.streams.iter().filter(|s| keys.contains(*s)).cloned().collect();
                for k in followed {
                    let ev = json!({"e": "listenKeyExpired", "E": now_ms, "listenKey": k});
                    let text = if e.combined {
                        json!({"stream": k, "data": ev}).to_string()
                    } else {
                        ev.to_string()
                    };
                    let _ = e.tx.send(Outbound::Text(text));
                    e.streams.remove(&k);
                }
                for s in std::mem::take(&mut e.user_subs) {
                    let ev =
                        json!({"subscriptionId": s, "event": {"e": "eventStreamTerminated", "E": now_ms}});
                    let _ = e.tx.send(Outbound::Text(ev.to_string()));
                }
            }
        });
    }
}
