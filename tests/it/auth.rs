use base64::Engine;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::json;

use crate::common::{ADMIN_PASSWORD, JWT_SECRET, TestServer, error_code};

const ME: &str = "{ me { id email roles } }";

fn claims(sub: &str, tid: &str, exp_offset: i64) -> serde_json::Value {
    let now = chrono::Utc::now().timestamp();
    json!({ "sub": sub, "tid": tid, "roles": ["admin"], "iat": now, "exp": now + exp_offset })
}

#[tokio::test]
async fn login_returns_a_token_that_identifies_the_user() {
    let server = TestServer::start().await;
    let acme = server.tenant("acme").await;
    let response = server
        .gql(
            None,
            "mutation { login(tenant: \"acme\", email: \"ADMIN@acme.example.com\", password: \"admin-password-1\") { token user { email roles } } }",
            json!({}),
        )
        .await;
    let login = &response["data"]["login"];
    assert_eq!(login["user"]["email"], "admin@acme.example.com");
    assert_eq!(login["user"]["roles"], json!(["ADMIN"]));
    let token = login["token"].as_str().unwrap();

    let me = server.gql(Some(token), ME, json!({})).await;
    assert_eq!(me["data"]["me"]["id"], acme.admin_id.to_string());
    assert_eq!(me["data"]["me"]["email"], acme.admin_email);
}

#[tokio::test]
async fn every_login_failure_looks_the_same() {
    let server = TestServer::start().await;
    let acme = server.tenant("acme").await;
    server.tenant("other").await;
    let (user_id, _) = server
        .user(&acme, "gone@acme.example.com", &["SALES"])
        .await;
    server
        .gql(
            Some(&acme.token),
            "mutation($id: ID!) { updateUser(id: $id, input: { version: 1, active: false }) { active } }",
            json!({ "id": user_id }),
        )
        .await;

    let attempts = [
        ("acme", "admin@acme.example.com", "wrong-password"),
        ("acme", "nobody@acme.example.com", ADMIN_PASSWORD),
        ("no-such-tenant", "admin@acme.example.com", ADMIN_PASSWORD),
        ("other", "admin@acme.example.com", ADMIN_PASSWORD),
        ("acme", "gone@acme.example.com", "user-password-1"),
    ];
    for (tenant, email, password) in attempts {
        let response = server
            .gql(
                None,
                "mutation($t: String!, $e: String!, $p: String!) { login(tenant: $t, email: $e, password: $p) { token } }",
                json!({ "t": tenant, "e": email, "p": password }),
            )
            .await;
        assert_eq!(error_code(&response), "UNAUTHENTICATED", "{tenant} {email}");
        assert_eq!(response["errors"][0]["message"], "invalid credentials");
        assert!(response["data"].is_null(), "{response}");
    }
}

#[tokio::test]
async fn without_a_token_only_login_runs() {
    let server = TestServer::start().await;
    let acme = server.tenant("acme").await;
    for query in [
        ME.to_owned(),
        "{ users { totalCount } }".to_owned(),
        format!("{{ user(id: \"{}\") {{ email }} }}", acme.admin_id),
    ] {
        let response = server.gql(None, &query, json!({})).await;
        assert_eq!(error_code(&response), "UNAUTHENTICATED", "{query}");
    }
    let response = server
        .gql(
            None,
            "mutation { createUser(input: { email: \"x@y.com\", displayName: \"X\", password: \"password-1\", roles: [ADMIN] }) { id } }",
            json!({}),
        )
        .await;
    assert_eq!(error_code(&response), "UNAUTHENTICATED");
}

#[tokio::test]
async fn expired_tampered_and_wrong_algorithm_tokens_are_refused() {
    let server = TestServer::start().await;
    let acme = server.tenant("acme").await;
    let (sub, tid) = (acme.admin_id.to_string(), acme.id.to_string());
    let secret = EncodingKey::from_secret(JWT_SECRET.as_bytes());

    let valid = jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims(&sub, &tid, 600),
        &secret,
    )
    .unwrap();
    let ok = server.gql(Some(&valid), ME, json!({})).await;
    assert_eq!(
        ok["data"]["me"]["email"], acme.admin_email,
        "a well-made token works: {ok}"
    );

    let expired = jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims(&sub, &tid, -3600),
        &secret,
    )
    .unwrap();
    let wrong_alg = jsonwebtoken::encode(
        &Header::new(Algorithm::HS512),
        &claims(&sub, &tid, 600),
        &secret,
    )
    .unwrap();
    let wrong_key = jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims(&sub, &tid, 600),
        &EncodingKey::from_secret(b"another-secret-of-sufficient-length-0123456789"),
    )
    .unwrap();
    // Same signature, but the payload now claims another tenant.
    let mut parts: Vec<String> = valid.split('.').map(str::to_owned).collect();
    let forged = claims(&sub, &uuid::Uuid::now_v7().to_string(), 600);
    parts[1] = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(forged.to_string());
    let tampered = parts.join(".");
    let unsigned = format!(
        "{}.{}.",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#),
        parts[1]
    );

    for (name, token) in [
        ("expired", expired),
        ("HS512", wrong_alg),
        ("wrong key", wrong_key),
        ("tampered", tampered),
        ("alg none", unsigned),
        ("garbage", "not-a-token".to_owned()),
    ] {
        let response = server.gql(Some(&token), ME, json!({})).await;
        assert_eq!(
            error_code(&response),
            "UNAUTHENTICATED",
            "{name}: {response}"
        );
        assert_eq!(
            response["errors"][0]["message"], "invalid or expired token",
            "{name}"
        );
    }
}

#[tokio::test]
async fn a_client_with_a_stale_token_can_still_sign_in_again() {
    let server = TestServer::start().await;
    server.tenant("acme").await;
    let response = server
        .gql(
            Some("expired.or.broken"),
            "mutation { login(tenant: \"acme\", email: \"admin@acme.example.com\", password: \"admin-password-1\") { token } }",
            json!({}),
        )
        .await;
    assert!(response["data"]["login"]["token"].is_string(), "{response}");
}

#[tokio::test]
async fn tokens_of_an_external_identity_provider_are_accepted() {
    let fixtures = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/it/fixtures");
    for (algorithm, private, public) in [
        (
            Algorithm::RS256,
            "idp_rsa_private.pem",
            "idp_rsa_public.pem",
        ),
        (Algorithm::ES256, "idp_ec_private.pem", "idp_ec_public.pem"),
    ] {
        let public_pem = std::fs::read_to_string(format!("{fixtures}/{public}")).unwrap();
        let private_pem = std::fs::read(format!("{fixtures}/{private}")).unwrap();
        let server =
            TestServer::start_with(|config| config.auth.jwt_public_key = Some(public_pem)).await;
        let acme = server.tenant("acme").await;
        let key = match algorithm {
            Algorithm::RS256 => EncodingKey::from_rsa_pem(&private_pem).unwrap(),
            _ => EncodingKey::from_ec_pem(&private_pem).unwrap(),
        };
        let claims = claims(&acme.admin_id.to_string(), &acme.id.to_string(), 600);
        let token = jsonwebtoken::encode(&Header::new(algorithm), &claims, &key).unwrap();
        let response = server.gql(Some(&token), ME, json!({})).await;
        assert_eq!(
            response["data"]["me"]["email"], acme.admin_email,
            "{algorithm:?}: {response}"
        );

        // The provider's key does not make HS256 tokens signed with it (or anything else) valid.
        let forged = jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &EncodingKey::from_secret(b"guessed-secret-guessed-secret-guessed-secret"),
        )
        .unwrap();
        let response = server.gql(Some(&forged), ME, json!({})).await;
        assert_eq!(error_code(&response), "UNAUTHENTICATED");
    }
}

#[tokio::test]
async fn a_deactivated_users_token_stops_working_at_once() {
    let server = TestServer::start().await;
    let acme = server.tenant("acme").await;
    let (id, token) = server.user(&acme, "sam@acme.example.com", &["SALES"]).await;
    assert_eq!(
        server.gql(Some(&token), ME, json!({})).await["data"]["me"]["email"],
        "sam@acme.example.com"
    );
    server
        .gql(
            Some(&acme.token),
            "mutation($id: ID!) { updateUser(id: $id, input: { version: 1, active: false }) { active } }",
            json!({ "id": id }),
        )
        .await;
    let response = server.gql(Some(&token), ME, json!({})).await;
    assert_eq!(error_code(&response), "UNAUTHENTICATED");
}
