//! Integration tests of the core: the router a user builds, driven request by request.
//! One binary; each module declares its own handlers and mounts only them (`.module`).

mod common;
mod compose;
mod entities;
mod guard;
mod keys;
mod optional;
mod rendering;
mod roles;
mod startup;
mod tokens;
