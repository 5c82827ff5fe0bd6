//! SQLite store tests, each against a fresh database file.

mod contract;
mod db;
mod guarantees;
mod legacy;
