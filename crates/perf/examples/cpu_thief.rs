//! A stand-in for a slower machine: a real-time (SCHED_FIFO) thread pinned
//! to one CPU that takes `--percent` of it in slices of about `--slice-us`
//! (default 200): it spins, sleeps one slice (as long as the kernel really
//! sleeps it, measured at start), and spins again. Anything else pinned to
//! that CPU runs at `100 - percent` % of its speed, at a grain fine enough
//! to slow every 2 ms batch `kmidi-perf check` times (and every
//! calibration batch) alike, not only the tails: `--percent 50` is a 2×
//! slower machine. (Finer slices cost more in the VM's timer exits than
//! they give away.)
//!
//! Needs root (SCHED_FIFO). Runs until killed, or for `--seconds`.
//!
//! ```sh
//! cargo run --release -p kmidi-perf --example cpu_thief -- --cpu 0 --percent 50 &
//! taskset -c 0 target/release/kmidi-perf check
//! ```

use std::time::{Duration, Instant};

/// `name`'s value, or `default` when it is absent; exits with a message
/// naming the flag when the value is missing, not a whole number, or
/// outside `allowed`.
fn arg(name: &str, default: u64, allowed: std::ops::RangeInclusive<u64>) -> u64 {
    let args: Vec<String> = std::env::args().collect();
    let Some(i) = args.iter().position(|a| a == name) else {
        return default;
    };
    match args.get(i + 1).map(|v| v.parse::<u64>()) {
        Some(Ok(v)) if allowed.contains(&v) => v,
        _ => {
            eprintln!(
                "cpu_thief: {name} needs a whole number from {} to {}, got {:?}",
                allowed.start(),
                allowed.end(),
                args.get(i + 1).map(String::as_str).unwrap_or("nothing")
            );
            std::process::exit(2);
        }
    }
}

fn main() {
    let cpu = arg("--cpu", 0, 0..=(libc::CPU_SETSIZE as u64 - 1)) as usize;
    let percent = arg("--percent", 50, 1..=90) as f64;
    let slice = Duration::from_micros(arg("--slice-us", 200, 10..=100_000));
    let seconds = arg("--seconds", 0, 0..=u64::MAX);
    // SAFETY: cpu_set_t is plain data; CPU_SET writes one bit of it;
    // sched_setaffinity and sched_setscheduler read the structs passed by
    // pointer for the duration of the call (pid 0: this thread).
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(cpu, &mut set);
        if libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) != 0 {
            eprintln!(
                "cpu_thief: cannot pin to CPU {cpu}: {}",
                std::io::Error::last_os_error()
            );
            std::process::exit(2);
        }
        let param = libc::sched_param { sched_priority: 10 };
        if libc::sched_setscheduler(0, libc::SCHED_FIFO, &param) != 0 {
            eprintln!(
                "cpu_thief: SCHED_FIFO refused ({}): run as root",
                std::io::Error::last_os_error()
            );
            std::process::exit(2);
        }
    }
    // One slice of sleep, as the kernel really grants it.
    let request = slice;
    let mut sleeps: Vec<Duration> = (0..200)
        .map(|_| {
            let t = Instant::now();
            std::thread::sleep(request);
            t.elapsed()
        })
        .collect();
    sleeps.sort();
    let idle = sleeps[sleeps.len() / 2];
    let busy = idle.mul_f64(percent / (100.0 - percent));
    eprintln!(
        "cpu_thief: CPU {cpu}, busy {} µs then asleep {} µs: {percent}% of the CPU",
        busy.as_micros(),
        idle.as_micros()
    );
    let start = Instant::now();
    loop {
        let t = Instant::now();
        while t.elapsed() < busy {
            std::hint::spin_loop();
        }
        std::thread::sleep(request);
        if seconds > 0 && start.elapsed().as_secs() >= seconds {
            break;
        }
    }
}
