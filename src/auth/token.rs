//! JSON Web Tokens: HS256 tokens issued by bpaas, and optionally RS256/ES256 tokens of an
//! external identity provider carrying the same claims.

use std::path::{Path, PathBuf};

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::auth::Role;
use crate::auth::api_keys::KeyHasher;
use crate::config::AuthConfig;
use crate::error::{AppError, AppResult};

/// Shorter secrets are refused: HS256 is only as strong as its key.
const MIN_SECRET_BYTES: usize = 32;

#[derive(Debug, Serialize, Deserialize)]
pub struct Claims {
    /// User id.
    pub sub: Uuid,
    /// Tenant id.
    pub tid: Uuid,
    pub roles: Vec<String>,
    pub iat: i64,
    pub exp: i64,
    /// The user's token epoch when issued: a token from an older epoch is revoked. Only tokens
    /// bpaas issues carry it; an external provider's tokens are revoked by their provider.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ep: Option<i32>,
}

pub struct TokenKeys {
    encoding: EncodingKey,
    hs256: DecodingKey,
    external: Option<(Algorithm, DecodingKey)>,
    /// `iss` and `aud` that external tokens must carry, when configured.
    external_issuer: Option<String>,
    external_audience: Option<String>,
    ttl_seconds: i64,
    /// Hashes API keys under a key derived from the same secret, so that replicas agree.
    pub api_keys: KeyHasher,
}

impl TokenKeys {
    /// Builds the keys from configuration, creating and keeping a secret when none is set.
    pub fn load(config: &AuthConfig, database_url: &str) -> Result<Self, String> {
        let secret = match &config.jwt_secret {
            Some(secret) => secret.clone(),
            None => {
                let path = config
                    .jwt_secret_file
                    .clone()
                    .unwrap_or_else(|| secret_file_for(database_url));
                load_or_create_secret(&path)?
            }
        };
        if secret.len() < MIN_SECRET_BYTES {
            return Err(format!(
                "the JWT secret must be at least {MIN_SECRET_BYTES} bytes long"
            ));
        }
        let external = match &config.jwt_public_key {
            None => None,
            Some(pem) => Some(external_key(pem)?),
        };
        Ok(Self {
            encoding: EncodingKey::from_secret(secret.as_bytes()),
            hs256: DecodingKey::from_secret(secret.as_bytes()),
            external,
            external_issuer: config.jwt_issuer.clone(),
            external_audience: config.jwt_audience.clone(),
            ttl_seconds: i64::try_from(config.token_ttl.as_secs()).unwrap_or(i64::MAX / 2),
            api_keys: KeyHasher::new(format!("bpaas api keys:{secret}").as_bytes())?,
        })
    }

    pub fn issue(
        &self,
        user_id: Uuid,
        tenant_id: Uuid,
        roles: &[Role],
        epoch: i32,
    ) -> AppResult<String> {
        let now = chrono::Utc::now().timestamp();
        let claims = Claims {
            sub: user_id,
            tid: tenant_id,
            roles: roles.iter().map(|r| r.as_str().to_owned()).collect(),
            iat: now,
            exp: now.saturating_add(self.ttl_seconds),
            ep: Some(epoch),
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(AppError::internal)
    }

    /// Verifies signature, algorithm, expiry and not-before; for an external provider's tokens
    /// also issuer and audience when configured. Every failure looks the same to the caller.
    pub fn verify(&self, token: &str) -> AppResult<Claims> {
        let invalid = || AppError::Unauthenticated("invalid or expired token");
        let header = jsonwebtoken::decode_header(token).map_err(|_| invalid())?;
        let mut validation = Validation::new(header.alg);
        validation.set_required_spec_claims(&["exp", "sub"]);
        validation.leeway = 30;
        validation.validate_nbf = true;
        let external = header.alg != Algorithm::HS256;
        let key = if external {
            match &self.external {
                Some((expected, key)) if *expected == header.alg => key,
                _ => return Err(invalid()),
            }
        } else {
            &self.hs256
        };
        // Our own tokens carry no audience; an external provider's are checked when configured.
        validation.validate_aud = false;
        if external {
            if let Some(issuer) = &self.external_issuer {
                validation.set_issuer(&[issuer]);
                validation.required_spec_claims.insert("iss".into());
            }
            if let Some(audience) = &self.external_audience {
                validation.validate_aud = true;
                validation.set_audience(&[audience]);
                validation.required_spec_claims.insert("aud".into());
            }
        }
        let mut claims = jsonwebtoken::decode::<Claims>(token, key, &validation)
            .map(|data| data.claims)
            .map_err(|_| invalid())?;
        // Our own tokens from before epochs existed count as epoch 0; external ones carry none.
        claims.ep = if external {
            None
        } else {
            Some(claims.ep.unwrap_or(0))
        };
        Ok(claims)
    }
}

fn external_key(pem: &str) -> Result<(Algorithm, DecodingKey), String> {
    if let Ok(key) = DecodingKey::from_rsa_pem(pem.as_bytes()) {
        return Ok((Algorithm::RS256, key));
    }
    if let Ok(key) = DecodingKey::from_ec_pem(pem.as_bytes()) {
        return Ok((Algorithm::ES256, key));
    }
    Err("BPAAS_JWT_PUBLIC_KEY is neither an RSA nor an EC public key in PEM form".into())
}

/// The secret lives next to the SQLite file; for other databases, in the working directory.
fn secret_file_for(database_url: &str) -> PathBuf {
    if let Some(rest) = database_url.strip_prefix("sqlite:") {
        let path = rest.trim_start_matches("//");
        let path = path.split('?').next().unwrap_or_default();
        if !path.is_empty() && !path.starts_with(":memory:") {
            return PathBuf::from(format!("{path}.jwt-secret"));
        }
    }
    PathBuf::from("bpaas.jwt-secret")
}

fn load_or_create_secret(path: &Path) -> Result<String, String> {
    match std::fs::read_to_string(path) {
        Ok(secret) => return Ok(secret.trim().to_owned()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
    }
    let secret = crate::auth::secrets::random_text(48);
    write_private(path, &secret).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    tracing::info!(path = %path.display(), "generated a new JWT secret");
    Ok(secret)
}

fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path)?;
    file.write_all(contents.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_file_sits_next_to_the_sqlite_database() {
        assert_eq!(
            secret_file_for("sqlite://data/bpaas.db?mode=rwc"),
            PathBuf::from("data/bpaas.db.jwt-secret")
        );
        assert_eq!(
            secret_file_for("sqlite:///var/lib/bpaas.db"),
            PathBuf::from("/var/lib/bpaas.db.jwt-secret")
        );
        assert_eq!(
            secret_file_for("postgres://db/bpaas"),
            PathBuf::from("bpaas.jwt-secret")
        );
    }

    #[test]
    fn generated_secret_is_private_and_stable() {
        let dir = std::env::temp_dir().join(format!("bpaas-secret-{}", Uuid::now_v7()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("s");
        let first = load_or_create_secret(&path).unwrap();
        let second = load_or_create_secret(&path).unwrap();
        assert_eq!(first, second);
        assert!(first.len() >= MIN_SECRET_BYTES);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        std::fs::remove_dir_all(dir).unwrap();
    }
}
