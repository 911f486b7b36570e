//! Attachments: photos and unboxing videos of damaged goods. The type is decided by the
//! file's content, never by its name or the client's word; the bytes are stored once under
//! the data directory by SHA-256.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::db::attachments::{self, Attachment, NewAttachment};
use crate::db::users::User;
use crate::db::{self, DbConnection};
use crate::domain::access::may_act;
use crate::error::AppError;

/// The content type of the bytes, if it is one we accept (images, PDF, MP4/MOV video).
pub fn sniff(bytes: &[u8]) -> Option<&'static str> {
    let starts = |magic: &[u8]| bytes.starts_with(magic);
    if starts(b"\xFF\xD8\xFF") {
        Some("image/jpeg")
    } else if starts(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else if starts(b"GIF87a") || starts(b"GIF89a") {
        Some("image/gif")
    } else if bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        Some("image/webp")
    } else if starts(b"%PDF-") {
        Some("application/pdf")
    } else if bytes.len() >= 12 && &bytes[4..8] == b"ftyp" {
        match &bytes[8..12] {
            b"heic" | b"heix" | b"mif1" | b"msf1" => Some("image/heic"),
            b"qt  " => Some("video/quicktime"),
            _ => Some("video/mp4"),
        }
    } else {
        None
    }
}

/// Where the bytes with this hash live: `<data>/attachments/ab/cdef…`.
pub fn path_for(data_dir: &Path, sha256: &str) -> PathBuf {
    data_dir
        .join("attachments")
        .join(&sha256[..2])
        .join(&sha256[2..])
}

/// A file name safe to show and to put in `Content-Disposition`: no paths, no control or
/// quote characters, at most 120 characters.
pub fn clean_filename(raw: &str) -> String {
    let base = raw.rsplit(['/', '\\']).next().unwrap_or("");
    let cleaned: String = base
        .chars()
        .filter(|c| !c.is_control() && !matches!(c, '"' | '\\' | ';'))
        .take(120)
        .collect();
    if cleaned.trim().is_empty() {
        "attachment".to_owned()
    } else {
        cleaned.trim().to_owned()
    }
}

/// Stores an uploaded file for a ticket.
pub fn store(
    conn: &mut DbConnection,
    data_dir: &Path,
    actor: &User,
    ticket_id: i64,
    event_id: Option<i64>,
    filename: &str,
    bytes: &[u8],
) -> Result<Attachment, AppError> {
    let ticket = super::tickets::load(conn, ticket_id)?;
    may_act(actor.id, actor.role(), ticket.assignee_id).map_err(AppError::Forbidden)?;
    if let Some(event_id) = event_id {
        let belongs = crate::db::events::for_ticket(conn, ticket_id, false)?
            .iter()
            .any(|e| e.id == event_id);
        if !belongs {
            return Err(AppError::invalid(
                "event_id",
                "is not an event of this ticket",
            ));
        }
    }
    if bytes.is_empty() {
        return Err(AppError::invalid("file", "is empty"));
    }
    let content_type = sniff(bytes).ok_or_else(|| {
        AppError::invalid(
            "file",
            "must be an image (JPEG, PNG, GIF, WebP, HEIC), a PDF or an MP4/MOV video",
        )
    })?;
    let sha256 = format!("{:x}", Sha256::digest(bytes));
    let path = path_for(data_dir, &sha256);
    if !path.exists() {
        write_atomically(&path, bytes).map_err(|e| {
            AppError::Internal(anyhow::Error::new(e).context("storing an attachment"))
        })?;
    }
    let attachment = attachments::insert(
        conn,
        &NewAttachment {
            ticket_id,
            event_id,
            filename: &clean_filename(filename),
            content_type,
            size_bytes: bytes.len() as i64,
            sha256: &sha256,
            uploaded_by: actor.id,
            created_at: db::now(),
        },
    )?;
    Ok(attachment)
}

/// Writes to a temporary file beside the target, syncs, then renames, so a crash never
/// leaves a half-written file under a valid hash.
fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let dir = path
        .parent()
        .ok_or_else(|| std::io::Error::other("attachment path has no parent"))?;
    std::fs::create_dir_all(dir)?;
    let temp = dir.join(format!(".upload-{}", uuid::Uuid::new_v4().simple()));
    let mut file = std::fs::File::create(&temp)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    std::fs::rename(&temp, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_come_from_content() {
        assert_eq!(sniff(b"\xFF\xD8\xFF\xE0rest"), Some("image/jpeg"));
        assert_eq!(sniff(b"%PDF-1.7"), Some("application/pdf"));
        assert_eq!(sniff(b"\x00\x00\x00\x18ftypmp42"), Some("video/mp4"));
        assert_eq!(sniff(b"<html><script>"), None);
        assert_eq!(sniff(b"MZ\x90\x00"), None);
    }

    #[test]
    fn filenames_are_tamed() {
        assert_eq!(clean_filename("../../etc/passwd"), "passwd");
        assert_eq!(clean_filename("C:\\foto\\rusak.jpg"), "rusak.jpg");
        assert_eq!(clean_filename("a\"b;c\r\n.jpg"), "abc.jpg");
        assert_eq!(clean_filename(""), "attachment");
    }
}
