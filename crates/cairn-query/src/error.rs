//! Parse errors with a position, a plain-words message and a hint.

/// A query that could not be parsed.
///
/// `Display` gives the one-line form (`message at position N`); [`ParseError::render`] gives
/// the multi-line form for terminals.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message} at position {position}")]
pub struct ParseError {
    /// Byte offset into the query text where the problem is.
    pub position: usize,
    /// What is wrong, in plain words.
    pub message: String,
    /// How to fix it, when there is something useful to say.
    pub hint: Option<String>,
}

impl ParseError {
    pub(crate) fn new(
        position: usize,
        message: impl Into<String>,
        hint: impl Into<String>,
    ) -> Self {
        ParseError {
            position,
            message: message.into(),
            hint: Some(hint.into()),
        }
    }

    /// Multi-line human rendering: the query (the line of it holding the error), a caret under
    /// the position followed by the message, then the hint.
    ///
    /// ```text
    ///   eventName:
    ///             ^ expected a value after "eventName:"
    ///   hint: quote values with spaces: eventName:"Some Value"
    /// ```
    ///
    /// Control characters in the query are shown as `�` so that a query cannot drive the
    /// terminal; the output has no trailing newline.
    pub fn render(&self, input: &str) -> String {
        let mut pos = self.position.min(input.len());
        while !input.is_char_boundary(pos) {
            pos -= 1;
        }
        let line_start = input[..pos].rfind('\n').map_or(0, |i| i + 1);
        let line_end = input[pos..].find('\n').map_or(input.len(), |i| pos + i);
        let shown = |c: char| match c {
            '\t' => '\t',
            c if c.is_control() => '\u{FFFD}',
            c => c,
        };
        let line: String = input[line_start..line_end].chars().map(shown).collect();
        // Tabs are copied into the padding so the caret lines up whatever the tab width.
        let pad: String = input[line_start..pos]
            .chars()
            .map(|c| if c == '\t' { '\t' } else { ' ' })
            .collect();
        let mut out = format!("  {line}\n  {pad}^ {}", self.message);
        if let Some(hint) = &self.hint {
            out.push_str("\n  hint: ");
            out.push_str(hint);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_is_one_line() {
        let e = ParseError::new(3, "boom", "fix it");
        assert_eq!(e.to_string(), "boom at position 3");
    }

    #[test]
    fn render_points_at_the_position() {
        let e = ParseError::new(4, "here", "hint text");
        assert_eq!(
            e.render("abc def"),
            "  abc def\n      ^ here\n  hint: hint text"
        );
    }

    #[test]
    fn render_handles_multi_line_tabs_and_odd_positions() {
        let e = ParseError::new(6, "m", "h");
        // Position 6 is on the second line, after a tab.
        assert_eq!(e.render("ab\n\tcde"), "  \tcde\n  \t  ^ m\n  hint: h");
        // Past the end and inside a multi-byte character are clamped, not panics.
        let far = ParseError::new(99, "m", "h");
        assert_eq!(far.render("ab"), "  ab\n    ^ m\n  hint: h");
        let inside = ParseError::new(1, "m", "h");
        assert_eq!(inside.render("é"), "  é\n  ^ m\n  hint: h");
        let control = ParseError::new(0, "m", "h");
        assert_eq!(
            control.render("\u{1b}[2J"),
            "  \u{FFFD}[2J\n  ^ m\n  hint: h"
        );
    }
}
