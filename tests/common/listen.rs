//! `floatip listen` running in a lab namespace, its output read line by line as it comes, so
//! a test waits for what it expects to see instead of sleeping.

use super::lab::*;
use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Stdio};
use std::sync::{mpsc, Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How long `floatip listen` may take to open its socket.
const READY_TIMEOUT: Duration = Duration::from_secs(10);

pub struct Listener {
    child: Child,
    stdout: Arc<Mutex<Vec<String>>>,
    stderr: Arc<Mutex<Vec<String>>>,
    readers: Vec<JoinHandle<()>>,
}

fn collect(
    stream: impl Read + Send + 'static,
    into: Arc<Mutex<Vec<String>>>,
    ready: Option<mpsc::Sender<()>>,
) -> JoinHandle<()> {
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines().map_while(Result::ok) {
            // "listening on IF" comes once the socket is bound and filtered.
            if line.contains("listening on ") {
                if let Some(ready) = &ready {
                    let _ = ready.send(());
                }
            }
            into.lock().unwrap_or_else(|e| e.into_inner()).push(line);
        }
    })
}

impl Listener {
    /// Starts `floatip listen --nic NIC ARGS` in `host` and returns once it is listening.
    pub fn start(lab: &Lab, host: Host, nic: &str, args: &[&str]) -> Listener {
        let mut all = vec!["listen", "--nic", nic];
        all.extend_from_slice(args);
        let mut child = lab
            .exec_command(host, AGENT_BIN, &all, &[])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start floatip listen: {e}"));
        let (stdout, stderr) = (Arc::default(), Arc::default());
        let (ready, is_ready) = mpsc::channel();
        let readers = vec![
            collect(child.stdout.take().unwrap(), Arc::clone(&stdout), None),
            collect(
                child.stderr.take().unwrap(),
                Arc::clone(&stderr),
                Some(ready),
            ),
        ];
        let listener = Listener {
            child,
            stdout,
            stderr,
            readers,
        };
        if is_ready.recv_timeout(READY_TIMEOUT).is_err() {
            panic!(
                "floatip listen did not start listening within {READY_TIMEOUT:?}: {:?}",
                listener.errors()
            );
        }
        listener
    }

    /// The lines printed so far.
    pub fn lines(&self) -> Vec<String> {
        self.stdout
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// What it wrote on stderr so far.
    pub fn errors(&self) -> Vec<String> {
        self.stderr
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Polls until `pred(lines())` holds or `timeout` passes; returns whether it held.
    pub fn wait_for(&self, timeout: Duration, mut pred: impl FnMut(&[String]) -> bool) -> bool {
        let start = Instant::now();
        loop {
            if pred(&self.lines()) {
                return true;
            }
            if start.elapsed() > timeout {
                return false;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Ends it (SIGKILL to our child, by PID) and returns every line it printed. Panics if it
    /// had already exited, which a long `--seconds` means it failed.
    pub fn stop(mut self) -> Vec<String> {
        if let Ok(Some(status)) = self.child.try_wait() {
            panic!("floatip listen ended early ({status}): {:?}", self.errors());
        }
        self.end();
        self.lines()
    }

    fn end(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        for reader in self.readers.drain(..) {
            let _ = reader.join();
        }
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        self.end();
    }
}
