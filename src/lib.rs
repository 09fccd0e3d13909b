//! sqlpact: database contracts for Go and Rust services on PostgreSQL.
pub mod analyze;
pub mod catalog;
pub mod changelog;
pub mod compat;
pub mod diag;
pub mod generate;
pub mod init;
pub mod model;
pub mod present;
pub mod registry;
pub mod render;
pub mod source;
pub mod sqltext;
pub mod types;
pub mod verify;
pub mod wire;
