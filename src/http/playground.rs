//! The GraphiQL playground, served entirely from this binary so it works without internet.
//! The vendored bundles (GraphiQL 3.8.3, React 18.3.1, MIT licensed) sit gzipped in
//! `assets/playground/`.

use axum::extract::Path;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};

struct Asset {
    name: &'static str,
    content_type: &'static str,
    gzipped: &'static [u8],
}

const ASSETS: &[Asset] = &[
    Asset {
        name: "react.production.min.js",
        content_type: "text/javascript; charset=utf-8",
        gzipped: include_bytes!("../../assets/playground/react.production.min.js.gz"),
    },
    Asset {
        name: "react-dom.production.min.js",
        content_type: "text/javascript; charset=utf-8",
        gzipped: include_bytes!("../../assets/playground/react-dom.production.min.js.gz"),
    },
    Asset {
        name: "graphiql.min.js",
        content_type: "text/javascript; charset=utf-8",
        gzipped: include_bytes!("../../assets/playground/graphiql.min.js.gz"),
    },
    Asset {
        name: "graphiql.min.css",
        content_type: "text/css; charset=utf-8",
        gzipped: include_bytes!("../../assets/playground/graphiql.min.css.gz"),
    },
];

/// A browser navigating to `/graphql` (HTML accepted, no `query` parameter) gets the playground.
pub fn wanted(headers: &HeaderMap, query_string: &str) -> bool {
    let accepts_html = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.contains("text/html"));
    let has_query = query_string
        .split('&')
        .any(|pair| pair.split('=').next() == Some("query"));
    accepts_html && !has_query
}

pub fn page() -> Response {
    Html(PAGE).into_response()
}

pub async fn asset(Path(name): Path<String>) -> Response {
    let Some(asset) = ASSETS.iter().find(|a| a.name == name) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    // Every browser accepts gzip, so the bundles are served as stored.
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static(asset.content_type),
            ),
            (header::CONTENT_ENCODING, HeaderValue::from_static("gzip")),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=86400"),
            ),
        ],
        asset.gzipped,
    )
        .into_response()
}

/// The bpaas mark: three process steps joined by arrows.
const FAVICON: &str = r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect width="32" height="32" rx="6" fill="#1f4e79"/><circle cx="8" cy="16" r="4" fill="#fff"/><circle cx="24" cy="9" r="4" fill="#fff"/><circle cx="24" cy="23" r="4" fill="#fff"/><path d="M11.5 14.2 20.5 10.8M11.5 17.8 20.5 21.2" stroke="#fff" stroke-width="2"/></svg>"##;

pub async fn favicon() -> Response {
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("image/svg+xml"),
            ),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=86400"),
            ),
        ],
        FAVICON,
    )
        .into_response()
}

/// Paste a token into the Headers tab, or open `/graphql#token=...` to have it filled in.
const PAGE: &str = r##"<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>bpaas GraphQL playground</title>
  <link rel="icon" type="image/svg+xml" href="/favicon.ico">
  <link rel="stylesheet" href="/graphql/assets/graphiql.min.css">
  <style>html, body, #graphiql { height: 100%; margin: 0; }</style>
</head>
<body>
  <div id="graphiql">Loading the playground…</div>
  <script src="/graphql/assets/react.production.min.js"></script>
  <script src="/graphql/assets/react-dom.production.min.js"></script>
  <script src="/graphql/assets/graphiql.min.js"></script>
  <script>
    const hash = new URLSearchParams(window.location.hash.slice(1));
    const token = hash.get("token");
    if (token) {
      // Keep the token out of the address bar and history.
      history.replaceState(null, "", window.location.pathname);
    }
    const headers = JSON.stringify({ Authorization: "Bearer " + (token || "paste-your-token-here") }, null, 2);
    // Subscriptions go over /graphql/ws; the Headers tab travels as the connection_init payload.
    const fetcher = GraphiQL.createFetcher({
      url: window.location.origin + "/graphql",
      subscriptionUrl: (window.location.protocol === "https:" ? "wss://" : "ws://") + window.location.host + "/graphql/ws",
    });
    ReactDOM.createRoot(document.getElementById("graphiql")).render(
      React.createElement(GraphiQL, {
        fetcher,
        defaultHeaders: headers,
        headerEditorEnabled: true,
        shouldPersistHeaders: true,
        defaultEditorToolsVisibility: "headers",
        defaultQuery: "# Paste your token in the Headers tab below, then run:\n{\n  me {\n    email\n    roles\n  }\n}\n",
      })
    );
  </script>
</body>
</html>
"##;
