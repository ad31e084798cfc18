//! ftpflow: FTP sessions, transfers and ladder diagrams from packet captures.
//!
//! The pipeline, one module per layer:
//! capture source → link/IP/TCP decode → TCP reassembly → FTP control parsing →
//! session correlation → model → renderers.

pub mod analyzer;
pub mod capture;
pub mod check;
pub mod decode;
pub mod dns;
pub mod export;
pub mod extract;
pub mod findings;
pub mod ftp;
pub mod ladder;
pub mod live;
pub mod model;
pub mod output;
pub mod session;
pub mod tcp;
pub mod time;
pub mod tui;
