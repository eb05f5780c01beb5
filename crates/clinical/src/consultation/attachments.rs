//! Files attached to a consultation (a letter, a photo of a rash): PDF, PNG or JPEG up
//! to 10 MiB, recognised by their first bytes, never by their name (a renamed file is
//! still what it is).

use super::form::AttachmentInput;

pub const MAX_BYTES: usize = 10 * 1024 * 1024;

/// A checked file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    pub title: String,
    /// `application/pdf`, `image/png` or `image/jpeg`.
    pub content_type: &'static str,
    pub bytes: Vec<u8>,
}

const KINDS: [(&[u8], &str); 3] = [
    (b"%PDF-", "application/pdf"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
];

/// The file's type from its content, if it is one OpenGP accepts.
pub fn sniff(bytes: &[u8]) -> Option<&'static str> {
    KINDS
        .iter()
        .find(|(magic, _)| bytes.starts_with(magic))
        .map(|(_, content_type)| *content_type)
}

/// Checks one upload; the message names the file so the clinician knows which.
pub fn check(input: &AttachmentInput) -> Result<Attachment, String> {
    let name = title_of(&input.file_name);
    if input.bytes.len() > MAX_BYTES {
        return Err(format!(
            "{name} is larger than 10 MB: attach a smaller file"
        ));
    }
    let Some(content_type) = sniff(&input.bytes) else {
        return Err(format!("{name} is not a PDF, PNG or JPEG file"));
    };
    Ok(Attachment {
        title: name,
        content_type,
        bytes: input.bytes.clone(),
    })
}

/// The file name without any folder a browser sent, kept short.
fn title_of(file_name: &str) -> String {
    let base = file_name
        .rsplit(['/', '\\'])
        .next()
        .unwrap_or_default()
        .trim();
    let base: String = base.chars().filter(|c| !c.is_control()).take(120).collect();
    if base.is_empty() {
        "The file".to_string()
    } else {
        base
    }
}

/// Standard base64 (RFC 4648 with padding), as FHIR's base64Binary wants.
pub fn base64(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_files_by_content_not_name() {
        let pdf = AttachmentInput {
            file_name: "C:\\letters\\referral.png".into(),
            bytes: b"%PDF-1.7 ...".to_vec(),
        };
        let checked = check(&pdf).unwrap();
        assert_eq!(checked.content_type, "application/pdf");
        assert_eq!(checked.title, "referral.png");
        let fake = AttachmentInput {
            file_name: "photo.jpg".into(),
            bytes: b"MZ\x90\x00 not an image".to_vec(),
        };
        assert_eq!(
            check(&fake).unwrap_err(),
            "photo.jpg is not a PDF, PNG or JPEG file"
        );
    }
}
