//! The web console: one HTML page, a script and a style sheet, embedded in the binary
//! (no CDN, no build step; works offline). Everything it shows comes from `/api/`.

use std::sync::Arc;

use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;

use super::HttpState;

const INDEX: &str = include_str!("console/index.html");
const SCRIPT: &str = include_str!("console/console.js");
const STYLE: &str = include_str!("console/console.css");

/// `/`, `/console.js`, `/console.css`.
pub(crate) fn router() -> Router<Arc<HttpState>> {
    Router::new()
        .route("/", get(|| asset("text/html; charset=utf-8", INDEX)))
        .route(
            "/console.js",
            get(|| asset("text/javascript; charset=utf-8", SCRIPT)),
        )
        .route(
            "/console.css",
            get(|| asset("text/css; charset=utf-8", STYLE)),
        )
}

async fn asset(content_type: &'static str, body: &'static str) -> impl IntoResponse {
    // Assets change only with the binary; `no-cache` revalidates cheaply after an upgrade.
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn assets_are_small_and_self_contained() {
        let total = super::INDEX.len() + super::SCRIPT.len() + super::STYLE.len();
        assert!(total < 48 * 1024, "console assets grew to {total} bytes");
        for a in [super::INDEX, super::SCRIPT, super::STYLE] {
            assert!(
                !a.contains("http://") && !a.contains("https://"),
                "no external URL"
            );
        }
    }
}
