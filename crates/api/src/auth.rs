//! Bearer-token authentication with roles.
//!
//! Tokens come from a TOML file (`[[token]] name, role, token`) or the `SURGECAST_TOKENS`
//! environment variable (`name:role:token,...`). They are compared in constant time and never
//! logged: only the token's *name* appears in logs and audit records.

use std::collections::BTreeMap;
use std::fmt;

use serde::Deserialize;
use tonic::{Request, Status};

/// What a caller may do. Each role includes the ones before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Read status, forecasts, destinations; stream alerts.
    Viewer,
    /// Also acknowledge and silence alerts.
    Operator,
    /// Everything.
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Operator => "operator",
            Role::Admin => "admin",
        }
    }
}

impl std::str::FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "viewer" => Ok(Role::Viewer),
            "operator" => Ok(Role::Operator),
            "admin" => Ok(Role::Admin),
            other => Err(format!(
                "unknown role {other:?}: expected viewer, operator or admin"
            )),
        }
    }
}

/// The authenticated caller, put in each request's extensions by the interceptor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub name: String,
    pub role: Role,
}

#[derive(Clone)]
struct Token {
    secret: Vec<u8>,
    principal: Principal,
}

/// The tokens the hub accepts. `Debug` shows names and roles only.
#[derive(Clone, Default)]
pub struct TokenStore {
    tokens: Vec<Token>,
    /// When true, calls without a token are served as an anonymous viewer (demo only).
    pub allow_anonymous_viewer: bool,
}

impl fmt::Debug for TokenStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<(&str, &str)> = self
            .tokens
            .iter()
            .map(|t| (t.principal.name.as_str(), t.principal.role.as_str()))
            .collect();
        f.debug_struct("TokenStore")
            .field("tokens", &names)
            .field("allow_anonymous_viewer", &self.allow_anonymous_viewer)
            .finish()
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TokenFile {
    #[serde(rename = "token", default)]
    tokens: Vec<TokenEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TokenEntry {
    name: String,
    role: Role,
    token: String,
}

/// Why a token source was refused.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("token file is not valid: {0}")]
    Parse(#[from] toml::de::Error),
    #[error("token {name:?} is shorter than 16 characters; use a long random secret")]
    TooShort { name: String },
    #[error("token name {0:?} is used twice; names identify callers in the audit log")]
    DuplicateName(String),
    #[error("SURGECAST_TOKENS entry {index} is not name:role:token")]
    BadEnvEntry { index: usize },
    #[error("{0}")]
    BadRole(String),
}

impl TokenStore {
    /// Parses a token file's contents.
    pub fn from_toml_str(text: &str) -> Result<Self, TokenError> {
        let file: TokenFile = toml::from_str(text)?;
        Self::from_entries(file.tokens.into_iter().map(|e| (e.name, e.role, e.token)))
    }

    /// Parses `name:role:token,name:role:token`.
    pub fn from_env_value(value: &str) -> Result<Self, TokenError> {
        let mut entries = Vec::new();
        for (index, part) in value
            .split(',')
            .filter(|p| !p.trim().is_empty())
            .enumerate()
        {
            let mut it = part.trim().splitn(3, ':');
            let (Some(name), Some(role), Some(token)) = (it.next(), it.next(), it.next()) else {
                return Err(TokenError::BadEnvEntry { index });
            };
            let role = role.parse::<Role>().map_err(TokenError::BadRole)?;
            entries.push((name.to_string(), role, token.to_string()));
        }
        Self::from_entries(entries)
    }

    fn from_entries(
        entries: impl IntoIterator<Item = (String, Role, String)>,
    ) -> Result<Self, TokenError> {
        let mut names = BTreeMap::new();
        let mut tokens = Vec::new();
        for (name, role, token) in entries {
            if token.len() < 16 {
                return Err(TokenError::TooShort { name });
            }
            if names.insert(name.clone(), ()).is_some() {
                return Err(TokenError::DuplicateName(name));
            }
            tokens.push(Token {
                secret: token.into_bytes(),
                principal: Principal { name, role },
            });
        }
        Ok(Self {
            tokens,
            allow_anonymous_viewer: false,
        })
    }

    /// Adds every token of `other`.
    pub fn merge(&mut self, other: TokenStore) {
        self.tokens.extend(other.tokens);
    }

    pub fn len(&self) -> usize {
        self.tokens.len()
    }

    pub fn is_empty(&self) -> bool {
        self.tokens.is_empty()
    }

    /// The principal a presented secret belongs to. Compares every token in constant time.
    pub fn authenticate(&self, presented: &[u8]) -> Option<Principal> {
        let mut found = None;
        for t in &self.tokens {
            if constant_time_eq(&t.secret, presented) {
                found = Some(t.principal.clone());
            }
        }
        found
    }

    /// A tonic interceptor: authenticates the `authorization: Bearer ...` header and puts the
    /// [`Principal`] in the request's extensions.
    pub fn interceptor(
        &self,
    ) -> impl FnMut(Request<()>) -> Result<Request<()>, Status> + Clone + use<> {
        let store = self.clone();
        move |mut req: Request<()>| {
            let header = req.metadata().get("authorization");
            let principal = match header {
                None if store.allow_anonymous_viewer => Principal {
                    name: "anonymous".into(),
                    role: Role::Viewer,
                },
                None => {
                    return Err(Status::unauthenticated(
                        "missing credentials: send an `authorization: Bearer <token>` header",
                    ));
                }
                Some(value) => {
                    let value = value.as_bytes();
                    let token = value
                        .strip_prefix(b"Bearer ")
                        .or_else(|| value.strip_prefix(b"bearer "))
                        .ok_or_else(|| {
                            Status::unauthenticated("authorization header must be `Bearer <token>`")
                        })?;
                    store
                        .authenticate(token)
                        .ok_or_else(|| Status::unauthenticated("unknown or revoked token"))?
                }
            };
            req.extensions_mut().insert(principal);
            Ok(req)
        }
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    let mut diff = a.len() ^ b.len();
    for i in 0..a.len().max(b.len()) {
        let x = a.get(i).copied().unwrap_or(0);
        let y = b.get(i).copied().unwrap_or(0xff);
        diff |= usize::from(x ^ y);
    }
    diff == 0
}

/// The caller of a request, if it has at least `role`; the proper status otherwise.
pub fn require<T>(req: &Request<T>, role: Role) -> Result<Principal, Status> {
    let principal = req
        .extensions()
        .get::<Principal>()
        .cloned()
        .ok_or_else(|| Status::unauthenticated("no credentials"))?;
    if principal.role < role {
        return Err(Status::permission_denied(format!(
            "{} has role {}; this call needs {}",
            principal.name,
            principal.role.as_str(),
            role.as_str()
        )));
    }
    Ok(principal)
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = r#"
[[token]]
name = "console-1"
role = "operator"
token = "op-secret-0123456789"

[[token]]
name = "nwas-dispatch"
role = "viewer"
token = "viewer-secret-0123456789"
"#;

    #[test]
    fn authenticates_and_orders_roles() {
        let store = TokenStore::from_toml_str(FILE).unwrap();
        let p = store.authenticate(b"op-secret-0123456789").unwrap();
        assert_eq!(p.role, Role::Operator);
        assert!(store.authenticate(b"op-secret-012345678").is_none());
        assert!(store.authenticate(b"").is_none());
        assert!(Role::Viewer < Role::Operator && Role::Operator < Role::Admin);
        // Debug never shows secrets.
        assert!(!format!("{store:?}").contains("secret"));
    }

    #[test]
    fn interceptor_statuses() {
        let store = TokenStore::from_toml_str(FILE).unwrap();
        let mut intercept = store.interceptor();
        let err = intercept(Request::new(())).unwrap_err();
        assert_eq!(err.code(), tonic::Code::Unauthenticated);
        let mut req = Request::new(());
        req.metadata_mut().insert(
            "authorization",
            "Bearer viewer-secret-0123456789".parse().unwrap(),
        );
        let req = intercept(req).unwrap();
        assert_eq!(require(&req, Role::Viewer).unwrap().name, "nwas-dispatch");
        assert_eq!(
            require(&req, Role::Operator).unwrap_err().code(),
            tonic::Code::PermissionDenied
        );
    }

    #[test]
    fn rejects_weak_and_malformed_sources() {
        assert!(matches!(
            TokenStore::from_env_value("a:viewer:short"),
            Err(TokenError::TooShort { .. })
        ));
        assert!(TokenStore::from_env_value("a:boss:0123456789abcdef").is_err());
        assert!(TokenStore::from_env_value("nonsense").is_err());
        let s = TokenStore::from_env_value("a:admin:0123456789abcdef,b:viewer:fedcba9876543210")
            .unwrap();
        assert_eq!(s.len(), 2);
    }
}
