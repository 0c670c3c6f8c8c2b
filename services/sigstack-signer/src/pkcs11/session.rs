//! Sessions on a token, and the pool the signer draws them from.
//!
//! A PKCS#11 session runs one operation at a time (`C_SignInit` …
//! `C_Sign`), and cryptoki's `Session` is `Send` but not `Sync`. The signer
//! keeps up to `capacity` logged-in sessions, each with its own handle to
//! the key, and lends one to each `sign`; a caller finding all of them lent
//! waits for one to come back. Login is per application and token, not per
//! session (PKCS#11 v2.40 §5.5): the PIN is kept (wiped on drop) because
//! closing the last session logs the token out, and a session opened after
//! that must log in again.

use std::path::PathBuf;
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};

use cryptoki::context::Pkcs11;
use cryptoki::error::{Error, RvError};
use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass, ObjectHandle};
use cryptoki::session::{Session, UserType};
use cryptoki::slot::Slot;
use cryptoki::types::RawAuthPin;

use crate::SignerError;

/// A logged-in token, and where its PIN came from (for error messages).
pub(crate) struct Token {
    pub(crate) context: Pkcs11,
    pub(crate) module: PathBuf,
    pub(crate) slot: Slot,
    /// How the config named it (`label "x"`, `slot 3`), for messages and logs.
    pub(crate) name: String,
    pub(crate) pin: RawAuthPin,
    pub(crate) pin_source: String,
}

impl Token {
    pub(crate) fn pkcs11_error(&self, operation: &'static str, source: Error) -> SignerError {
        SignerError::Pkcs11 {
            module: self.module.clone(),
            operation,
            source,
        }
    }

    /// A new session, logged in as the user.
    pub(crate) fn session(&self, read_write: bool) -> Result<Session, SignerError> {
        let session = if read_write {
            self.context.open_rw_session(self.slot)
        } else {
            self.context.open_ro_session(self.slot)
        }
        .map_err(|e| self.pkcs11_error("C_OpenSession", e))?;
        match session.login_with_raw(UserType::User, &self.pin) {
            // Another session of this process logged the token in already.
            Ok(()) | Err(Error::Pkcs11(RvError::UserAlreadyLoggedIn, _)) => Ok(session),
            Err(e) => {
                let refused = match &e {
                    Error::Pkcs11(rv, _) => refused_pin(*rv),
                    _ => None,
                };
                Err(match refused {
                    Some(reason) => SignerError::WrongPin {
                        token: self.name.clone(),
                        pin_source: self.pin_source.clone(),
                        reason,
                    },
                    None => self.pkcs11_error("C_Login", e),
                })
            }
        }
    }
}

fn refused_pin(rv: RvError) -> Option<&'static str> {
    match rv {
        RvError::PinIncorrect => Some("incorrect PIN"),
        RvError::PinInvalid | RvError::PinLenRange => Some("not a valid PIN for this token"),
        RvError::PinLocked => Some("the PIN is locked after too many failures"),
        RvError::PinExpired => Some("the PIN has expired"),
        RvError::UserPinNotInitialized => Some("the token has no user PIN set"),
        _ => None,
    }
}

/// Which key: its `CKA_LABEL`, its `CKA_ID`, or both.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct KeySelector {
    pub(crate) label: Option<String>,
    pub(crate) id: Option<Vec<u8>>,
}

impl std::fmt::Display for KeySelector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (&self.label, &self.id) {
            (Some(label), Some(id)) => write!(f, "label {label:?} and id {}", hex::encode(id)),
            (Some(label), None) => write!(f, "label {label:?}"),
            (None, Some(id)) => write!(f, "id {}", hex::encode(id)),
            (None, None) => f.write_str("no label or id"),
        }
    }
}

impl KeySelector {
    pub(crate) fn template(&self, class: ObjectClass) -> Vec<Attribute> {
        let mut template = vec![Attribute::Class(class), Attribute::KeyType(KeyType::EC)];
        if let Some(label) = &self.label {
            template.push(Attribute::Label(label.as_bytes().to_vec()));
        }
        if let Some(id) = &self.id {
            template.push(Attribute::Id(id.clone()));
        }
        template
    }
}

/// The objects in `session` matching `template`.
pub(crate) fn find(
    token: &Token,
    session: &Session,
    template: &[Attribute],
) -> Result<Vec<ObjectHandle>, SignerError> {
    session
        .find_objects(template)
        .map_err(|e| token.pkcs11_error("C_FindObjects", e))
}

/// The private key `key` names, in `session`.
pub(crate) fn private_key(
    token: &Token,
    session: &Session,
    key: &KeySelector,
) -> Result<ObjectHandle, SignerError> {
    match find(token, session, &key.template(ObjectClass::PRIVATE_KEY))?.as_slice() {
        [handle] => Ok(*handle),
        [] => Err(SignerError::KeyNotFound {
            token: token.name.clone(),
            key: key.to_string(),
        }),
        more => Err(SignerError::KeyAmbiguous {
            token: token.name.clone(),
            key: key.to_string(),
            count: more.len(),
        }),
    }
}

/// `CKA_EC_PARAMS` and `CKA_EC_POINT` of the public key object paired with
/// `private`: same `CKA_ID` when it has one, else same `CKA_LABEL`.
pub(crate) fn public_key_attributes(
    token: &Token,
    session: &Session,
    key: &KeySelector,
    private: ObjectHandle,
) -> Result<(Vec<u8>, Vec<u8>), SignerError> {
    let attributes = session
        .get_attributes(private, &[AttributeType::Id, AttributeType::Label])
        .map_err(|e| token.pkcs11_error("C_GetAttributeValue", e))?;
    let mut pair = KeySelector {
        label: None,
        id: None,
    };
    for attribute in attributes {
        match attribute {
            Attribute::Id(id) if !id.is_empty() => pair.id = Some(id),
            Attribute::Label(label) if !label.is_empty() => {
                pair.label = Some(String::from_utf8_lossy(&label).into_owned());
            }
            _ => {}
        }
    }
    if pair.id.is_some() {
        pair.label = None;
    }
    let not_found = || SignerError::PublicKeyNotFound {
        token: token.name.clone(),
        key: key.to_string(),
    };
    if pair.id.is_none() && pair.label.is_none() {
        return Err(not_found());
    }
    let public = match find(token, session, &pair.template(ObjectClass::PUBLIC_KEY))?.as_slice() {
        [handle] => *handle,
        [] => return Err(not_found()),
        more => {
            return Err(SignerError::MalformedKey {
                token: token.name.clone(),
                key: key.to_string(),
                what: format!("{} public key objects share its {pair}", more.len()),
            });
        }
    };
    let attributes = session
        .get_attributes(public, &[AttributeType::EcParams, AttributeType::EcPoint])
        .map_err(|e| token.pkcs11_error("C_GetAttributeValue", e))?;
    let (mut params, mut point) = (None, None);
    for attribute in attributes {
        match attribute {
            Attribute::EcParams(p) => params = Some(p),
            Attribute::EcPoint(p) => point = Some(p),
            _ => {}
        }
    }
    match (params, point) {
        (Some(params), Some(point)) => Ok((params, point)),
        _ => Err(SignerError::MalformedKey {
            token: token.name.clone(),
            key: key.to_string(),
            what: "its public key object lacks CKA_EC_PARAMS or CKA_EC_POINT".into(),
        }),
    }
}

/// A session and its handle to the key.
pub(crate) struct KeySession {
    pub(crate) session: Session,
    pub(crate) key: ObjectHandle,
}

/// Up to `capacity` [`KeySession`]s, lent one per operation.
pub(crate) struct SessionPool {
    pub(crate) token: Token,
    pub(crate) key: KeySelector,
    capacity: usize,
    state: Mutex<PoolState>,
    returned: Condvar,
}

struct PoolState {
    idle: Vec<KeySession>,
    /// Sessions open, idle or lent.
    open: usize,
}

impl SessionPool {
    /// A pool holding `first`, already open.
    pub(crate) fn new(token: Token, key: KeySelector, capacity: usize, first: KeySession) -> Self {
        Self {
            token,
            key,
            capacity: capacity.max(1),
            state: Mutex::new(PoolState {
                idle: vec![first],
                open: 1,
            }),
            returned: Condvar::new(),
        }
    }

    /// A new logged-in session with its key handle.
    pub(crate) fn open_session(
        token: &Token,
        key: &KeySelector,
    ) -> Result<KeySession, SignerError> {
        let session = token.session(false)?;
        let handle = private_key(token, &session, key)?;
        Ok(KeySession {
            session,
            key: handle,
        })
    }

    fn state(&self) -> MutexGuard<'_, PoolState> {
        // The state is a list and a count, consistent at every unlock.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// An idle session, a new one while fewer than `capacity` are open, or
    /// else the next one returned.
    pub(crate) fn lease(&self) -> Result<Lease<'_>, SignerError> {
        let mut state = self.state();
        loop {
            if let Some(session) = state.idle.pop() {
                return Ok(Lease {
                    pool: self,
                    session: Some(session),
                });
            }
            if state.open < self.capacity {
                state.open += 1;
                drop(state);
                return match Self::open_session(&self.token, &self.key) {
                    Ok(session) => Ok(Lease {
                        pool: self,
                        session: Some(session),
                    }),
                    Err(e) => {
                        self.state().open -= 1;
                        self.returned.notify_one();
                        Err(e)
                    }
                };
            }
            state = self
                .returned
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }
}

/// A lent session: back to the pool on drop, unless discarded.
pub(crate) struct Lease<'a> {
    pool: &'a SessionPool,
    session: Option<KeySession>,
}

impl Lease<'_> {
    pub(crate) fn session(&self) -> &KeySession {
        // `session` is taken only by `discard` and `drop`, which consume the lease.
        self.session
            .as_ref()
            .expect("a live lease holds its session")
    }

    /// Closes the session after a failure, so the next lease opens a fresh
    /// one (a token that was reset, or logged out, recovers).
    pub(crate) fn discard(mut self) {
        if let Some(session) = self.session.take() {
            drop(session);
            self.pool.state().open -= 1;
            self.pool.returned.notify_one();
        }
    }
}

impl Drop for Lease<'_> {
    fn drop(&mut self) {
        if let Some(session) = self.session.take() {
            self.pool.state().idle.push(session);
            self.pool.returned.notify_one();
        }
    }
}
