//! Terminal output shared by the demo and the `watch` console: alert lines in colour, a
//! progress line that rewrites itself on a terminal.

use std::io::{IsTerminal, Write};

use surgecast_core::{Alert, AlertKind, AlertState, AlertTransition, Severity};
use surgecast_engine::StatusSnapshot;
use surgecast_escalation::OpelChange;

/// Writes lines to stdout, keeping a rewritable progress line at the bottom on a terminal.
#[derive(Debug)]
pub struct Console {
    tty: bool,
    progress_shown: bool,
}

const RESET: &str = "\x1b[0m";

fn colour(severity: Severity) -> &'static str {
    match severity {
        Severity::Info => "\x1b[36m",
        Severity::Warning => "\x1b[33m",
        Severity::Critical => "\x1b[1;31m",
    }
}

fn level_colour(level: u8) -> &'static str {
    match level {
        1 => "\x1b[32m",
        2 => "\x1b[33m",
        3 => "\x1b[38;5;208m",
        _ => "\x1b[1;31m",
    }
}

impl Console {
    pub fn new() -> Self {
        Self {
            tty: std::io::stdout().is_terminal(),
            progress_shown: false,
        }
    }

    fn paint(&self, code: &str, text: &str) -> String {
        if self.tty {
            format!("{code}{text}{RESET}")
        } else {
            text.to_string()
        }
    }

    /// Prints a whole line above the progress line.
    pub fn line(&mut self, text: &str) {
        let mut out = std::io::stdout().lock();
        if self.tty && self.progress_shown {
            let _ = write!(out, "\r\x1b[K");
            self.progress_shown = false;
        }
        let _ = writeln!(out, "{text}");
        let _ = out.flush();
    }

    /// Shows the progress line (rewritten in place on a terminal, a plain line otherwise).
    pub fn progress(&mut self, text: &str) {
        let mut out = std::io::stdout().lock();
        if self.tty {
            let _ = write!(out, "\r\x1b[K{text}");
            self.progress_shown = true;
        } else {
            let _ = writeln!(out, "{text}");
        }
        let _ = out.flush();
    }

    /// Ends the progress line so that later output starts on a fresh line.
    pub fn finish_progress(&mut self) {
        if self.tty && self.progress_shown {
            println!();
            self.progress_shown = false;
        }
    }

    /// One alert-log entry as a line, or `None` for entries not worth a line (pending).
    pub fn alert_line(&self, t: &AlertTransition) -> Option<String> {
        let a = &t.alert;
        let verb = match (t.from, t.to) {
            (_, AlertState::Pending) => return None,
            (Some(AlertState::Firing), AlertState::Firing) => return None,
            (_, AlertState::Firing) => "FIRING",
            (_, AlertState::Acknowledged) => "ACKED",
            (_, AlertState::Resolved) => "RESOLVED",
        };
        let site = a
            .site
            .as_ref()
            .map_or("system".to_string(), ToString::to_string);
        let mut text = format!(
            "{} #{:<5} {:8} {:8} {:6} {}",
            t.at.format("%a %d %b %H:%M"),
            t.seq,
            verb,
            a.severity.as_str(),
            site,
            a.summary
        );
        if let (AlertKind::EarlyWarning, Some(w)) = (a.kind, &a.warning) {
            text.push_str(&format!(
                " [p={:.2}, breach ~{}, lead {} min, model {}]",
                w.probability,
                w.predicted_breach_at.format("%a %H:%M"),
                w.lead_time.0,
                w.model
            ));
        }
        if verb == "FIRING" && !a.actions.is_empty() {
            text.push_str(&format!("\n{:>26} actions: {}", "", a.actions.join("; ")));
        }
        if let Some(ack) = a.acknowledged.as_ref().filter(|_| verb == "ACKED") {
            text.push_str(&format!(" by {}: {}", ack.operator, ack.note));
        }
        let code = if verb == "RESOLVED" {
            "\x1b[2m"
        } else {
            colour(a.severity)
        };
        Some(self.paint(code, &text))
    }

    /// An OPEL level change as a line.
    pub fn opel_line(&self, c: &OpelChange) -> String {
        let site = c
            .site
            .as_ref()
            .map_or("SYSTEM".to_string(), ToString::to_string);
        let mut top: Vec<_> = c.contributions.iter().filter(|x| x.points > 0).collect();
        top.sort_by(|a, b| b.weighted.total_cmp(&a.weighted));
        let why: Vec<String> = top
            .iter()
            .take(3)
            .map(|x| {
                format!(
                    "{}={} ({} pts)",
                    x.measure,
                    x.value.map_or("n/a".into(), |v| format!("{v:.0}")),
                    x.points
                )
            })
            .collect();
        let from = c.from.map_or("-".into(), |l| l.number().to_string());
        let text = format!(
            "{} OPEL   {:6} {} -> {} (score {:.1}){}",
            c.at.format("%a %d %b %H:%M"),
            site,
            from,
            c.to.number(),
            c.score,
            if why.is_empty() {
                String::new()
            } else {
                format!(": {}", why.join(", "))
            }
        );
        self.paint(level_colour(c.to.number()), &text)
    }

    /// Sites at each OPEL level, coloured.
    pub fn levels_summary(&self, s: &StatusSnapshot) -> String {
        self.levels_line(
            s.sites
                .iter()
                .filter_map(|site| site.level.map(|l| l.number())),
            s.system_level.map(|l| l.number()),
        )
    }

    /// Counts of sites at each OPEL level (1-4) and the system level, coloured.
    pub fn levels_line(
        &self,
        site_levels: impl IntoIterator<Item = u8>,
        system: Option<u8>,
    ) -> String {
        let mut counts = [0usize; 4];
        for l in site_levels.into_iter().filter(|l| (1..=4).contains(l)) {
            counts[usize::from(l) - 1] += 1;
        }
        let parts: Vec<String> = counts
            .iter()
            .enumerate()
            .map(|(i, n)| self.paint(level_colour(i as u8 + 1), &format!("OPEL{} {n}", i + 1)))
            .collect();
        let system = system.map_or("-".into(), |l| self.paint(level_colour(l), &l.to_string()));
        format!("{} | system {}", parts.join(" "), system)
    }

    /// An active alert as a line (the `watch` console's listing), with the fingerprint an
    /// operator acknowledges it by.
    pub fn active_line(&self, a: &Alert) -> String {
        let site = a
            .site
            .as_ref()
            .map_or("system".to_string(), ToString::to_string);
        let mut text = format!(
            "  {} {:12} {:8} {:6} {}",
            a.fingerprint,
            a.state.as_str(),
            a.severity.as_str(),
            site,
            a.summary
        );
        if let Some(ack) = &a.acknowledged {
            text.push_str(&format!(" (taken by {}: {})", ack.operator, ack.note));
        }
        self.paint(colour(a.severity), &text)
    }
}
