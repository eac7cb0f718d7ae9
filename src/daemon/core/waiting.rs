//! Clients and consumers waiting for a view the builder is making: asked for once per
//! cycle and view, answered together when it is built.

use super::{missing, Core, Effect, Then, Waiting, World};
use crate::query::views::{Latest, View};

impl Core {
    /// Makes sure `view` of `latest` is on its way, then `then` happens when it is
    /// built; or at once, if it is.
    pub(super) fn when_built(
        &mut self,
        latest: Latest,
        view: View,
        then: Then,
        world: &impl World,
    ) {
        self.wanted.mark(view);
        if latest.built(view).is_some() {
            self.finish(&latest, then, world);
            return;
        }
        if let Then::All(token, _) | Then::List(token) | Then::Metrics(token) = then {
            self.effects.push(Effect::Hold(token));
        }
        let key = (latest.seq(), view);
        if !self.building.contains(&key) {
            self.building.push(key);
            self.effects.push(Effect::Build(latest.clone(), view));
        }
        self.waiting.push(Waiting::View { latest, view, then });
    }

    /// The builder made `view` of cycle `seq`: everyone waiting for it is served.
    pub(super) fn built(&mut self, seq: u64, view: View, world: &impl World) {
        self.building.retain(|&key| key != (seq, view));
        let waiting = std::mem::take(&mut self.waiting);
        for entry in waiting {
            match entry {
                Waiting::View {
                    latest,
                    view: wanted,
                    then,
                } if wanted == view && latest.seq() == seq => self.finish(&latest, then, world),
                other => self.waiting.push(other),
            }
        }
    }

    fn finish(&mut self, latest: &Latest, then: Then, world: &impl World) {
        match then {
            Then::All(token, format) => {
                let payload = latest.all(format).unwrap_or_else(missing);
                self.effects.push(Effect::Send(token, payload));
                self.effects.push(Effect::Release(token));
            }
            Then::List(token) => {
                let payload = latest.list().unwrap_or_else(missing);
                self.effects.push(Effect::Send(token, payload));
                self.effects.push(Effect::Release(token));
            }
            Then::Metrics(token) => {
                let payload = self.metrics(latest, world);
                self.effects.push(Effect::Send(token, payload));
                self.effects.push(Effect::Release(token));
            }
            Then::Watchers(format, cycle_line) => {
                let payload = latest
                    .records_then(format, |out| out.extend_from_slice(&cycle_line))
                    .unwrap_or_else(missing);
                self.effects.push(Effect::BroadcastCycle(format, payload));
            }
            Then::Textfile => self.publish_textfile(latest, world),
        }
    }
}
