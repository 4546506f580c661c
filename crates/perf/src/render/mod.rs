//! Rendering: the lab's figures as terminal tables, Markdown, JSON and
//! HTML.
//!
//! * [`comparison`]: a comparison's table and pull-request Markdown;
//! * [`trend`]: trends over the history as a table with sparklines;
//! * the run and check tables and the versioned JSON are
//!   [`crate::report`]'s, the self-contained HTML report
//!   [`crate::html`]'s, the gate's table [`crate::instructions`]'s.

pub mod comparison;
pub mod trend;
