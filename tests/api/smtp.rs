//! A small but real SMTP server for the mail tests: it listens on a loopback port, speaks
//! the protocol lettre speaks (EHLO, MAIL, RCPT, DATA, RSET, NOOP, QUIT), and keeps what it
//! receives. It can stop (connections dropped, port closed) and start again on the same port,
//! and it can hold back its answer to one mail, so that the mail is received but its sender
//! does not know it yet: a mail in flight.

use std::sync::{Arc, Mutex};

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

#[derive(Clone, Debug)]
pub struct Received {
    pub from: String,
    pub to: Vec<String>,
    pub data: String,
}

impl Received {
    /// The value of the first header `name` (unfolded), if present.
    pub fn header(&self, name: &str) -> Option<String> {
        let head = self.data.split("\r\n\r\n").next().unwrap_or("");
        let mut value: Option<String> = None;
        for line in head.split("\r\n") {
            if let Some(v) = value.as_mut() {
                if line.starts_with(' ') || line.starts_with('\t') {
                    v.push_str(line.trim_start());
                    continue;
                }
                break;
            }
            if let Some((k, v)) = line.split_once(':') {
                if k.eq_ignore_ascii_case(name) {
                    value = Some(v.trim().to_owned());
                }
            }
        }
        value
    }

    /// How many header lines are named `name`.
    pub fn header_count(&self, name: &str) -> usize {
        let head = self.data.split("\r\n\r\n").next().unwrap_or("");
        head.split("\r\n")
            .filter(|l| {
                l.split_once(':')
                    .is_some_and(|(k, _)| k.eq_ignore_ascii_case(name))
            })
            .count()
    }
}

pub struct SmtpServer {
    pub port: u16,
    received: Arc<Mutex<Vec<Received>>>,
    tasks: Arc<Mutex<Vec<JoinHandle<()>>>>,
    hold: Arc<Hold>,
}

/// The mail whose answer is held back: the `nth` received (1-based; 0 holds none).
struct Hold {
    nth: usize,
    held: Mutex<Option<Received>>,
    released: tokio::sync::watch::Sender<bool>,
}

impl Hold {
    fn new(nth: usize) -> Arc<Self> {
        Arc::new(Self {
            nth,
            held: Mutex::new(None),
            released: tokio::sync::watch::Sender::new(false),
        })
    }
}

impl SmtpServer {
    pub async fn start() -> Self {
        Self::start_on(0, Arc::new(Mutex::new(Vec::new())), Hold::new(0)).await
    }

    /// Like `start`, but the `nth` mail (1-based) is kept and then not answered until
    /// `release`: its sender waits for the "250" after the end of DATA.
    pub async fn start_holding(nth: usize) -> Self {
        assert!(nth > 0, "the first mail is number 1");
        Self::start_on(0, Arc::new(Mutex::new(Vec::new())), Hold::new(nth)).await
    }

    /// The mail whose answer is being held back, once it has arrived.
    pub fn held(&self) -> Option<Received> {
        self.hold.held.lock().unwrap().clone()
    }

    /// Answers the held mail (if its sender is still there to hear it).
    pub fn release(&self) {
        self.hold.released.send_replace(true);
    }

    async fn start_on(port: u16, received: Arc<Mutex<Vec<Received>>>, hold: Arc<Hold>) -> Self {
        let listener = TcpListener::bind(("127.0.0.1", port))
            .await
            .expect("bind the test SMTP server");
        let port = listener.local_addr().unwrap().port();
        let tasks: Arc<Mutex<Vec<JoinHandle<()>>>> = Arc::new(Mutex::new(Vec::new()));
        let (store, task_list, hold2) = (received.clone(), tasks.clone(), hold.clone());
        let accept = tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                let (store, hold) = (store.clone(), hold2.clone());
                let handle = tokio::spawn(async move {
                    let _ = session(socket, store, hold).await;
                });
                task_list.lock().unwrap().push(handle);
            }
        });
        tasks.lock().unwrap().push(accept);
        Self {
            port,
            received,
            tasks,
            hold,
        }
    }

    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    pub fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }

    /// Mails received for `address`.
    pub fn to(&self, address: &str) -> Vec<Received> {
        self.received()
            .into_iter()
            .filter(|m| m.to.iter().any(|t| t == address))
            .collect()
    }

    /// Goes down: the port closes and open connections are cut.
    pub fn stop(&self) {
        for task in self.tasks.lock().unwrap().drain(..) {
            task.abort();
        }
    }

    /// Comes back on the same port, keeping what it had received.
    pub async fn restart(&self) -> Self {
        self.stop();
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        Self::start_on(self.port, self.received.clone(), self.hold.clone()).await
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        self.stop();
    }
}

async fn session(
    socket: tokio::net::TcpStream,
    store: Arc<Mutex<Vec<Received>>>,
    hold: Arc<Hold>,
) -> std::io::Result<()> {
    let (read, mut write) = socket.into_split();
    let mut lines = BufReader::new(read);
    write.write_all(b"220 test.local ESMTP ready\r\n").await?;
    let (mut from, mut to) = (String::new(), Vec::new());
    let mut line = String::new();
    loop {
        line.clear();
        if lines.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let command = line.trim_end().to_owned();
        let upper = command.to_ascii_uppercase();
        if upper.starts_with("EHLO") {
            write
                .write_all(b"250-test.local\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n")
                .await?;
        } else if upper.starts_with("HELO") || upper.starts_with("NOOP") {
            write.write_all(b"250 OK\r\n").await?;
        } else if upper.starts_with("RSET") {
            from.clear();
            to.clear();
            write.write_all(b"250 OK\r\n").await?;
        } else if upper.starts_with("MAIL FROM:") {
            from = address(&command[10..]);
            write.write_all(b"250 OK\r\n").await?;
        } else if upper.starts_with("RCPT TO:") {
            to.push(address(&command[8..]));
            write.write_all(b"250 OK\r\n").await?;
        } else if upper == "DATA" {
            write
                .write_all(b"354 End data with <CR><LF>.<CR><LF>\r\n")
                .await?;
            let mut data = String::new();
            loop {
                line.clear();
                if lines.read_line(&mut line).await? == 0 {
                    return Ok(());
                }
                if line == ".\r\n" || line == ".\n" {
                    break;
                }
                let unstuffed = line.strip_prefix('.').unwrap_or(&line);
                data.push_str(unstuffed);
            }
            let mail = Received {
                from: from.clone(),
                to: std::mem::take(&mut to),
                data,
            };
            let number = {
                let mut store = store.lock().unwrap();
                store.push(mail.clone());
                store.len()
            };
            if number == hold.nth {
                *hold.held.lock().unwrap() = Some(mail);
                let mut released = hold.released.subscribe();
                // Received and kept, but not acknowledged: the sender cannot tell yet.
                let _ = released.wait_for(|released| *released).await;
            }
            write.write_all(b"250 OK queued\r\n").await?;
        } else if upper.starts_with("QUIT") {
            write.write_all(b"221 Bye\r\n").await?;
            return Ok(());
        } else {
            write.write_all(b"502 Command not implemented\r\n").await?;
        }
    }
}

fn address(raw: &str) -> String {
    let raw = raw.trim();
    let start = raw.find('<').map(|i| i + 1).unwrap_or(0);
    let end = raw[start..]
        .find('>')
        .map(|i| start + i)
        .unwrap_or(raw.len());
    raw[start..end].to_owned()
}
