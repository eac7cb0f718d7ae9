//! A client's request through the core. Each answer costs the loop at most one pass
//! over the domain names (a `get` by pattern) and one record's line; whole-cycle
//! answers are shared views, built off the loop if nobody asked for them before.

use mio::Token;

use super::{owned, Core, Effect, Then, Waiting, World};
use crate::query::answers;
use crate::query::protocol::{Format, Request};
use crate::query::views::View;

impl Core {
    pub(super) fn answer(&mut self, token: Token, request: Request, world: &impl World) {
        let mut out = Vec::new();
        match request {
            Request::Help => answers::help(&mut out),
            Request::Version => answers::version(&mut out),
            Request::Status => {
                answers::line(self.status(world), &mut out);
            }
            Request::List => {
                self.when_built(self.latest.clone(), View::List, Then::List(token), world);
                return;
            }
            Request::Metrics => {
                let latest = self.latest.clone();
                if self.domains_published() {
                    self.when_built(latest, View::Metrics, Then::Metrics(token), world);
                } else {
                    let payload = self.metrics(&latest, world);
                    self.effects.push(Effect::Send(token, payload));
                }
                return;
            }
            Request::Get { target, format } => {
                if let Err(e) = answers::get(&self.latest, &target, format, &mut out) {
                    e.to_line_into(&mut out);
                }
            }
            Request::All { format } => {
                self.answer_all(token, format, self.latest.clone(), world);
                return;
            }
            Request::Collect { format } => {
                self.collect(token, format, world);
                return;
            }
            Request::Watch { format } => {
                if let Some(view) = View::of_format(format) {
                    // The next cycle is built with this view.
                    self.wanted.mark(view);
                }
                self.effects.push(Effect::Watch(token, format));
                return;
            }
            Request::Events { count } => {
                let mut written = 0;
                for line in self.events.last(count) {
                    out.extend_from_slice(line);
                    written += 1;
                }
                let seq = self.status.last_cycle.as_ref().map_or(0, |c| c.seq);
                answers::end_line(written, seq, &mut out);
            }
            Request::Quit => {
                self.effects.push(Effect::Close(token));
                return;
            }
        }
        self.effects.push(Effect::Send(token, owned(out)));
    }

    /// `collect`: the client waits for the next on-demand cycle (coalesced).
    fn collect(&mut self, token: Token, format: Format, world: &impl World) {
        let request = self.ask_cycle();
        if let Some(view) = View::of_format(format) {
            self.wanted.mark(view);
        }
        let waiting_cycles = self
            .waiting
            .iter()
            .filter(|w| matches!(w, Waiting::Cycle { .. }))
            .count();
        if waiting_cycles >= self.config.socket.max_clients {
            // Clients that left while waiting: bounded by the live ones.
            self.waiting.retain(|w| match w {
                Waiting::Cycle { token, .. } => world.has_client(*token),
                Waiting::View { .. } => true,
            });
        }
        self.waiting.push(Waiting::Cycle {
            request,
            token,
            format,
        });
        self.effects.push(Effect::Hold(token));
    }
}
