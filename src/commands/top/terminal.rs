//! `virtdiag top`'s terminal: raw mode and the alternate screen (ratatui on crossterm),
//! the keys, the drawing and the loop that feeds them. Built only with the `top`
//! feature, so the service's binary can be built without a terminal UI library.

use std::io::IsTerminal;
use std::os::fd::AsFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use ratatui::crossterm::event::{self, Event, KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use ratatui::layout::{Constraint, Layout};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Text};
use ratatui::widgets::{Cell, Paragraph, Row as TableRow, Table};
use ratatui::{DefaultTerminal, Frame};

use super::feed::{self, Update};
use super::model::{Column, Cycle, View};
use crate::cli::AgentArgs;
use crate::commands::failure::{Terminal, Usage};
use crate::error::{Error, Result};
use crate::escape::printable;

/// How often the screen is redrawn (the cycle's age) and signals are looked at.
const TICK: Duration = Duration::from_millis(250);

const KEYS: &str = "q quit  1-9,0 or </> sort  r reverse  / filter";

pub fn run(agent: &AgentArgs) -> Result<()> {
    if !std::io::stdout().is_terminal() || !std::io::stdin().is_terminal() {
        return Err(Usage::NotATerminal.into());
    }
    let limits = agent.limits();
    feed::probe(&agent.socket, limits)?;
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [
        signal_hook::consts::SIGINT,
        signal_hook::consts::SIGTERM,
        signal_hook::consts::SIGHUP,
    ] {
        signal_hook::flag::register(signal, Arc::clone(&stop))
            .map_err(|source| Terminal::Signal { signal, source })?;
    }
    // Bounded: when the screen falls behind, the feed waits, stops reading the socket,
    // and the agent closes it as too slow; the feed then reconnects.
    let (updates, received) = mpsc::sync_channel(feed::UPDATES_IN_FLIGHT);
    feed::spawn(agent.socket.clone(), limits, updates);
    // Raw mode and the alternate screen; the hook it installs restores them on a panic.
    let mut terminal = ratatui::try_init().map_err(Terminal::Io)?;
    let outcome = screen(&mut terminal, &received, &stop);
    ratatui::restore();
    outcome
}

/// The loop: take the feed's updates, draw, read a key, until asked to stop.
fn screen(
    terminal: &mut DefaultTerminal,
    received: &mpsc::Receiver<Update>,
    stop: &AtomicBool,
) -> Result<()> {
    let io = |e: std::io::Error| Error::from(Terminal::Io(e));
    let mut view = View::default();
    let mut prompt: Option<String> = None;
    while !stop.load(Ordering::Relaxed) {
        let now = Instant::now();
        while let Ok(update) = received.try_recv() {
            apply(&mut view, update, now);
        }
        let width = terminal
            .draw(|frame| draw(frame, &view, prompt.as_deref(), now))
            .map_err(io)?
            .area
            .width;
        // crossterm may hold events it has already read: only wait when it has none.
        if !pending(io)? {
            match wait_for_input(TICK) {
                Input::Ready => {}
                Input::None => continue,
                // The terminal went away (ssh dropped, window closed).
                Input::HungUp => break,
            }
        }
        while pending(io)? {
            match event::read() {
                Ok(Event::Key(key)) if key.kind == KeyEventKind::Press => {
                    if !on_key(&mut view, &mut prompt, key, width) {
                        return Ok(());
                    }
                }
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(io(e)),
            }
        }
    }
    Ok(())
}

fn apply(view: &mut View, update: Update, now: Instant) {
    match update {
        Update::Status(status) => {
            let host = view.cycle.host.take();
            let node = view.cycle.node.take();
            view.cycle = Cycle {
                host,
                node,
                ..Cycle::from_status(&status, now)
            };
            view.feed_error = None;
        }
        Update::Records(rows, host) => {
            if view.cycle.host.is_none() {
                view.cycle.host = host;
            }
            view.rows = rows;
        }
        Update::Cycle(line) => {
            view.cycle = Cycle::from_cycle_line(&line, now);
            view.feed_error = None;
        }
        Update::Lost(message) => view.feed_error = Some(message),
    }
}

/// Whether crossterm has an event ready now.
fn pending(io: impl Fn(std::io::Error) -> Error) -> Result<bool> {
    match event::poll(Duration::ZERO) {
        Ok(ready) => Ok(ready),
        Err(e) if e.kind() == std::io::ErrorKind::Interrupted => Ok(false),
        Err(e) => Err(io(e)),
    }
}

enum Input {
    Ready,
    None,
    HungUp,
}

/// Waits up to `timeout` for the terminal (standard input) to have input. Done here
/// rather than in crossterm, whose reader spins on a hung-up terminal (read returns 0
/// for ever) without returning to this loop.
fn wait_for_input(timeout: Duration) -> Input {
    let stdin = std::io::stdin();
    let mut fds = [PollFd::new(stdin.as_fd(), PollFlags::POLLIN)];
    let millis = u16::try_from(timeout.as_millis()).unwrap_or(u16::MAX);
    match poll(&mut fds, PollTimeout::from(millis)) {
        Ok(0) | Err(_) => Input::None,
        Ok(_) => {
            let events = fds[0].revents().unwrap_or(PollFlags::empty());
            if events.intersects(PollFlags::POLLHUP | PollFlags::POLLERR | PollFlags::POLLNVAL) {
                Input::HungUp
            } else {
                Input::Ready
            }
        }
    }
}

/// Handles one key; `false` to quit.
fn on_key(view: &mut View, prompt: &mut Option<String>, key: KeyEvent, width: u16) -> bool {
    if key.modifiers.contains(KeyModifiers::CONTROL) && key.code == KeyCode::Char('c') {
        return false;
    }
    if let Some(text) = prompt {
        match key.code {
            KeyCode::Enter => {
                view.set_filter(text);
                *prompt = None;
            }
            KeyCode::Esc => *prompt = None,
            KeyCode::Backspace => {
                text.pop();
            }
            KeyCode::Char(c) if !c.is_control() && text.len() < 200 => text.push(c),
            _ => {}
        }
        return true;
    }
    match key.code {
        KeyCode::Char('q') | KeyCode::Char('Q') => return false,
        KeyCode::Char('/') => *prompt = Some(view.filter.clone().unwrap_or_default()),
        KeyCode::Char('r') => view.descending = !view.descending,
        KeyCode::Char('<') | KeyCode::Left => view.sort_by(view.sort.step(false)),
        KeyCode::Char('>') | KeyCode::Right => view.sort_by(view.sort.step(true)),
        KeyCode::Char(c @ '0'..='9') => {
            // The column of that number counted from the left, as shown.
            let index = (c as usize - '0' as usize + 9) % 10;
            if let Some(&column) = Column::visible(width).get(index) {
                view.sort_by(column);
            }
        }
        // Debug builds only: a deliberate panic, to test that the terminal is restored.
        #[cfg(debug_assertions)]
        KeyCode::F(12) => panic!("F12 pressed: a deliberate panic (debug builds only)"),
        _ => {}
    }
    true
}

fn draw(frame: &mut Frame, view: &View, prompt: Option<&str>, now: Instant) {
    let [header, keys, table, footer] = Layout::vertical([
        Constraint::Length(2),
        Constraint::Length(1),
        Constraint::Min(1),
        Constraint::Length(1),
    ])
    .areas(frame.area());
    let bold = Style::default().add_modifier(Modifier::BOLD);
    let lines = vec![Line::from(view.header(now)), Line::from(view.host_line())];
    frame.render_widget(Paragraph::new(lines).style(bold), header);
    let order = if view.descending { "v" } else { "^" };
    let filter = view.filter.as_deref().map(printable);
    frame.render_widget(
        Paragraph::new(format!(
            "sort {} {order}  filter {}  |  {KEYS}",
            view.sort.title(),
            filter.as_deref().unwrap_or("-"),
        )),
        keys,
    );

    let columns = Column::visible(frame.area().width);
    let titles = columns.iter().map(|&c| {
        let style = if c == view.sort {
            bold.add_modifier(Modifier::REVERSED)
        } else {
            bold
        };
        Cell::from(aligned(c, c.title())).style(style)
    });
    let rows = view.visible().into_iter().map(|row| {
        let cells = TableRow::new(
            Column::ALL
                .iter()
                .zip(row.cells())
                .filter(|(c, _)| columns.contains(c))
                .map(|(c, text)| Cell::from(aligned(*c, &text))),
        );
        // A row with a verdict stands out; its state cell says which.
        match row.verdict {
            Some(_) => cells.style(Style::default().add_modifier(Modifier::REVERSED)),
            None => cells,
        }
    });
    let widths = columns.iter().map(|c| match c.width() {
        Some(w) => Constraint::Length(w),
        None => Constraint::Fill(1),
    });
    frame.render_widget(
        Table::new(rows, widths)
            .header(TableRow::new(titles))
            .column_spacing(1),
        table,
    );

    let bottom = match (prompt, &view.feed_error) {
        (Some(text), _) => format!(
            "filter (glob on name or Nova name; Enter applies, Esc cancels): {}",
            printable(text)
        ),
        (None, Some(error)) => printable(error),
        (None, None) => String::new(),
    };
    frame.render_widget(Paragraph::new(bottom), footer);
}

/// Figures to the right, text to the left.
fn aligned(column: Column, text: &str) -> Text<'static> {
    let line = Line::from(text.to_string());
    match column {
        Column::Name | Column::State => line.into(),
        _ => line.right_aligned().into(),
    }
}
