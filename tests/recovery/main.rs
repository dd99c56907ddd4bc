//! Crash recovery and chaos: the gateway binary run as a child process, killed with SIGKILL
//! mid-flight and restarted, against the provider simulators in this process.

mod balanced;
mod batches;
mod chaos;
mod chaos_kit;
mod cli;
mod crash;
mod harness;
mod instances;
mod logs;
mod operating;
mod outage;
mod two_processes;
