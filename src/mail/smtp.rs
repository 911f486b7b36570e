//! SMTP for `smtp://` URLs: one kept-open connection with TCP_NODELAY.
//!
//! lettre writes a message's body and the final "." as two writes. On a socket without
//! TCP_NODELAY, Nagle's algorithm holds the second write until the server acknowledges the
//! first, and servers delay that acknowledgement (40 ms on Linux) because they have nothing to
//! answer before the "." — so lettre's own transport managed 19 mails/s against Postfix's
//! `smtp-sink` on loopback. lettre cannot set the option on its sockets, so this opens the
//! socket itself and hands it to lettre's SMTP client. STARTTLS, authentication and the
//! timeouts behave as with lettre's transport; `smtps://` still uses lettre's transport.

use std::time::{Duration, Instant};

use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{AsyncSmtpConnection, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use lettre::Message;
use tokio::sync::Mutex;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StartTls {
    Never,
    WhenOffered,
    Required,
}

pub struct DirectSmtp {
    host: String,
    port: u16,
    starttls: StartTls,
    credentials: Option<Credentials>,
    hello: ClientId,
    timeout: Duration,
    /// The kept connection and when it last carried a mail.
    connection: Mutex<Option<(AsyncSmtpConnection, Instant)>>,
}

/// A connection that carried a mail this recently is used without a NOOP first (one round
/// trip less per mail in a busy pass); should it fail anyway, the mail is sent once more on a
/// new connection.
const RECENT: Duration = Duration::from_secs(1);

impl DirectSmtp {
    /// From an `smtp://[user:password@]host[:port][/hello-name][?tls=opportunistic|required]`
    /// URL: port 25 without TLS, 587 with it (as lettre reads the same URL).
    pub fn from_url(raw: &str, timeout: Duration) -> anyhow::Result<Self> {
        let url = url::Url::parse(raw).map_err(|e| anyhow::anyhow!("TANGGAP_MAIL_URL: {e}"))?;
        anyhow::ensure!(url.scheme() == "smtp", "TANGGAP_MAIL_URL: expected smtp://");
        let host = url
            .host_str()
            .filter(|h| !h.is_empty())
            .ok_or_else(|| anyhow::anyhow!("TANGGAP_MAIL_URL: no host"))?
            .trim_matches(|c| c == '[' || c == ']')
            .to_owned();
        let tls = url
            .query_pairs()
            .find(|(k, _)| k == "tls")
            .map(|(_, v)| v.into_owned());
        let starttls = match tls.as_deref() {
            None => StartTls::Never,
            Some("opportunistic") => StartTls::WhenOffered,
            Some("required") => StartTls::Required,
            Some(other) => anyhow::bail!("TANGGAP_MAIL_URL: unknown tls={other}"),
        };
        let port = url.port().unwrap_or(match starttls {
            StartTls::Never => 25,
            _ => 587,
        });
        let decode = |s: &str| -> anyhow::Result<String> {
            Ok(percent_encoding::percent_decode_str(s)
                .decode_utf8()?
                .into_owned())
        };
        let credentials = match url.password() {
            Some(password) => Some(Credentials::new(decode(url.username())?, decode(password)?)),
            None => None,
        };
        let hello = match url.path().trim_matches('/') {
            "" => ClientId::default(),
            name => ClientId::Domain(name.to_owned()),
        };
        Ok(Self {
            host,
            port,
            starttls,
            credentials,
            hello,
            timeout,
            connection: Mutex::new(None),
        })
    }

    async fn connect(&self) -> Result<AsyncSmtpConnection, String> {
        let tcp = tokio::time::timeout(
            self.timeout,
            tokio::net::TcpStream::connect((self.host.as_str(), self.port)),
        )
        .await
        .map_err(|_| "connecting to the SMTP server timed out".to_owned())?
        .map_err(|e| format!("connecting to the SMTP server: {e}"))?;
        tcp.set_nodelay(true).map_err(|e| e.to_string())?;
        let mut conn = AsyncSmtpConnection::connect_with_transport(Box::new(tcp), &self.hello)
            .await
            .map_err(|e| e.to_string())?;
        let tls = match self.starttls {
            StartTls::Never => false,
            StartTls::WhenOffered => conn.can_starttls(),
            StartTls::Required if conn.can_starttls() => true,
            StartTls::Required => return Err("the SMTP server does not offer STARTTLS".into()),
        };
        if tls {
            let parameters = TlsParameters::new(self.host.clone()).map_err(|e| e.to_string())?;
            conn.starttls(parameters, &self.hello)
                .await
                .map_err(|e| e.to_string())?;
        }
        if let Some(credentials) = &self.credentials {
            conn.auth(&[Mechanism::Plain, Mechanism::Login], credentials)
                .await
                .map_err(|e| e.to_string())?;
        }
        Ok(conn)
    }

    /// Sends one message over the kept connection, opening a new one when there is none or
    /// the old one no longer answers. After any failure the connection is dropped.
    pub async fn send(&self, message: &Message) -> Result<(), String> {
        let mut slot = self.connection.lock().await;
        let unchecked = slot
            .as_ref()
            .is_some_and(|(_, used)| used.elapsed() < RECENT);
        match self.send_on(&mut slot, message, unchecked).await {
            // The server never answered (the unchecked connection had gone away); a timeout
            // is not retried here, as the server may have taken the mail.
            Err((_, false)) if unchecked => self.send_on(&mut slot, message, false).await,
            result => result,
        }
        .map_err(|(error, _)| error)
    }

    async fn send_on(
        &self,
        slot: &mut Option<(AsyncSmtpConnection, Instant)>,
        message: &Message,
        unchecked: bool,
    ) -> Result<(), (String, bool)> {
        let alive = match slot.as_mut() {
            Some(_) if unchecked => true,
            Some((conn, _)) => conn.test_connected().await,
            None => false,
        };
        if !alive {
            let conn = self.connect().await.map_err(|e| (e, false))?;
            *slot = Some((conn, Instant::now()));
        }
        let Some((conn, used)) = slot.as_mut() else {
            return Err(("no SMTP connection".into(), false));
        };
        let sent = tokio::time::timeout(
            self.timeout,
            conn.send(message.envelope(), &message.formatted()),
        )
        .await;
        match sent {
            Ok(Ok(_)) => {
                *used = Instant::now();
                Ok(())
            }
            Ok(Err(e)) => {
                *slot = None;
                // A reply code: the server answered. (A closed connection reads as an
                // incomplete response and may be retried; so may a network error, which after
                // the final "." could resend a mail the server took — with the same Message-ID.)
                let answered = e.is_transient() || e.is_permanent();
                Err((e.to_string(), answered))
            }
            Err(_) => {
                *slot = None;
                Err(("sending to the SMTP server timed out".into(), true))
            }
        }
    }
}
