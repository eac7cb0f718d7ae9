//! The loop's side of the core: hands it inputs with the facts it asks for
//! ([`World`]), and carries out the effects it returns. None of these can block: sends
//! queue on clients' outputs, files go to the writer threads, log lines and
//! notifications to the log thread, views and configurations to threads of their own.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use mio::Token;

use super::core::{Effect, Input, Loaded, World};
use super::error::{Error, Step};
use super::status::ClientStatus;
use super::textfile::{Textfile, TextfileStats};
use super::worker::Command;
use super::writer::Writer;
use super::{setup, Daemon};
use crate::config;
use crate::log::Level;
use crate::query::budget::ANSWER_BUDGET;
use crate::query::protocol::Format;
use crate::query::server::Server;
use crate::spool::SpoolStats;

/// What the core may ask of the socket server and the spool writer.
struct Facts<'a> {
    server: &'a Server,
    writer: &'a Writer,
    textfile: &'a Textfile,
    max_clients: usize,
}

impl World for Facts<'_> {
    fn clients(&self) -> ClientStatus {
        ClientStatus {
            connected: self.server.client_count(),
            watching: self.server.watcher_count(),
            max: self.max_clients,
            bytes_in_flight: self.server.in_flight,
            budget_bytes: ANSWER_BUDGET,
            counters: self.server.counters,
        }
    }

    fn spool(&self) -> SpoolStats {
        self.writer.stats()
    }

    fn textfile(&self) -> TextfileStats {
        self.textfile.stats()
    }

    fn has_client(&self, token: Token) -> bool {
        self.server.has_client(token)
    }

    fn watching(&self, format: Format) -> bool {
        self.server.watching(format)
    }
}

impl Daemon {
    /// One input through the core, and its effects carried out.
    pub(super) fn handle(&mut self, input: Input, now: Instant) {
        let facts = Facts {
            server: &self.server,
            writer: &self.writer,
            textfile: &self.textfile,
            max_clients: self.core.config().socket.max_clients,
        };
        let effects = self.core.handle(input, &facts, now);
        self.carry_out(effects, now);
    }

    pub(super) fn carry_out(&mut self, effects: Vec<Effect>, now: Instant) {
        for effect in effects {
            match effect {
                Effect::Send(token, payload) => self.server.send_payload(token, &payload, now),
                Effect::Watch(token, format) => self.server.set_watching(token, format),
                Effect::Hold(token) => self.server.hold(token),
                Effect::Release(token) => self.server.release(token),
                Effect::Close(token) => self.server.close_after_flush(token),
                Effect::BroadcastCycle(format, payload) => {
                    self.server.broadcast(format, &payload, now)
                }
                Effect::BroadcastEvents(lines) => self.server.broadcast_events(&lines, now),
                Effect::Spool(batch) => {
                    let is_cycle = batch.is_cycle;
                    if !self.writer.write(batch) && is_cycle {
                        if let Some(suppressed) = self.log_limit.check("writer-behind", now) {
                            crate::log_warn!(
                                "spool: the writer is behind (slow or hung filesystem at {}); \
                                 dropped a cycle ({suppressed} similar suppressed)",
                                self.core.config().spool.path.display()
                            );
                        }
                    }
                }
                Effect::ReopenSpool => self.writer.reopen(),
                Effect::ConfigureSpool(spool) => self.writer.configure(spool),
                Effect::Textfile(Some((path, chunks))) => self.textfile.publish(path, chunks),
                // The writer removes the file it wrote before, if any.
                Effect::Textfile(None) => self.textfile.publish(PathBuf::new(), Vec::new()),
                Effect::Notify(state) => crate::log::notify(&state),
                Effect::Log(level, message) => crate::log::write(level, format_args!("{message}")),
                Effect::Collect(request) => self.worker.command(Command::CollectNow { request }),
                Effect::Reconfigure(collector, interval) => {
                    self.worker.reconfigure(collector, interval)
                }
                Effect::Build(latest, view) => {
                    let seq = latest.seq();
                    if !self.builder.ask(latest, view) {
                        // Never expected (the core asks once per cycle and view): the
                        // waiting clients get an error rather than a hang.
                        self.handle(Input::Built(seq, view), now);
                    }
                }
                Effect::Retire(latest) => self.builder.retire(latest),
                Effect::LoadConfig => self.load_config(now),
                Effect::SocketLimits(limits) => self.server.set_limits(limits),
                Effect::SocketAccess { mode, gid } => {
                    if let Err(e) = self.server.set_access(mode, gid) {
                        crate::log::write(
                            Level::Error,
                            format_args!("reload: socket.mode and socket.group not applied: {e}"),
                        );
                    }
                }
            }
        }
    }

    /// Reads the configuration on a thread of its own; the result comes back through
    /// the waker as [`Input::Loaded`]. The core asks for one load at a time.
    fn load_config(&mut self, now: Instant) {
        let source = self.source.clone();
        let overrides = self.overrides.clone();
        let sender = self.loaded.0.clone();
        let waker = Arc::clone(&self.waker);
        let spawned = std::thread::Builder::new()
            .name("reload".into())
            .spawn(move || {
                let loaded = (|| {
                    let config = config::load(&source, &overrides)?;
                    setup::reserve_descriptors(&config)?;
                    let gid = config::environment::group_id(&config.socket.group)?;
                    Ok(Loaded { config, gid })
                })();
                let _ = sender.send(loaded);
                let _ = waker.wake();
            });
        if let Err(source) = spawned {
            let error = Error::Os {
                step: Step::ReloadThread,
                source,
            };
            self.handle(Input::Loaded(Box::new(Err(error))), now);
        }
    }
}
