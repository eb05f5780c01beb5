//! Reads the consultation form's multipart body: its text fields, and the attached
//! files (checked later, by content, in `clinical::consultation::attachments`).

use super::super::layout::error_page;
use axum::extract::Multipart;
use axum::http::StatusCode;
use axum::response::Response;
use clinical::consultation::ConsultationForm;
use clinical::consultation::form::AttachmentInput;

pub struct Upload {
    pub csrf: Option<String>,
    pub form: ConsultationForm,
}

pub async fn read(mut multipart: Multipart) -> Result<Upload, Response> {
    let unreadable = |status: StatusCode| {
        if status == StatusCode::PAYLOAD_TOO_LARGE {
            error_page(
                status,
                "The files are too large",
                "Attach files of up to 10 MB each, and fewer at a time. Nothing has been saved.",
            )
        } else {
            error_page(
                StatusCode::BAD_REQUEST,
                "The form could not be read",
                "Go back and try again. Nothing has been saved.",
            )
        }
    };
    let mut pairs: Vec<(String, String)> = Vec::new();
    let mut files = Vec::new();
    while let Some(field) = multipart
        .next_field()
        .await
        .map_err(|e| unreadable(e.status()))?
    {
        let name = field.name().unwrap_or_default().to_string();
        let file_name = field.file_name().map(str::to_string);
        let bytes = field.bytes().await.map_err(|e| unreadable(e.status()))?;
        match file_name {
            Some(file_name) if name == "attachments" => {
                // A file input left empty still sends a part with no name and no bytes.
                if !bytes.is_empty() {
                    files.push(AttachmentInput {
                        file_name,
                        bytes: bytes.to_vec(),
                    });
                }
            }
            Some(_) => {}
            None => pairs.push((name, String::from_utf8_lossy(&bytes).into_owned())),
        }
    }
    let csrf = pairs
        .iter()
        .find(|(k, _)| k == "csrf")
        .map(|(_, v)| v.clone());
    let mut form = ConsultationForm::from_pairs(
        pairs
            .iter()
            .filter(|(k, _)| k != "csrf")
            .map(|(k, v)| (k.as_str(), v.as_str())),
    );
    form.attachments = files;
    Ok(Upload { csrf, form })
}
