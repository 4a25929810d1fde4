//! The entry point trunk builds: everything lives in the library so the browser tests can use it.

fn main() {
    portero_frontend::start();
}
