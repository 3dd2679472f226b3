//! Who is acting (SPEC §2), and what each may do: a use-case names the scope it requires and
//! the level it is checked at (the seed pages' "ApiScope" and "API Scope Level").

use crate::error::{EngineError, EngineResult};
use domain::catalog::v1;
use domain::scope::Scope;

/// A verified caller.
#[derive(Debug, Clone)]
pub enum Actor {
    /// The operator (admin API, CLI).
    Operator,
    /// A service subscriber (partner application) with its grants.
    Partner {
        id: i64,
        uuid: String,
        username: String,
        grants: Vec<Grant>,
    },
    /// A signed dealer token.
    DealerToken {
        dealer_uuid: String,
        scopes: Vec<Scope>,
    },
    /// A signed department token.
    DepartmentToken {
        department_uuid: String,
        scopes: Vec<Scope>,
    },
    /// A customer holding a payment link: may pay that link's invoice, nothing else.
    Customer { payment_request_guid: String },
    /// A Checkout merchant authenticated for one namespace.
    Merchant(Merchant),
    /// The server itself (background jobs: the resolver, expiry, settlement).
    System,
}

/// A Checkout merchant authenticated for one namespace.
#[derive(Debug, Clone)]
pub struct Merchant {
    pub namespace: store::repo::checkout::NamespaceRow,
    pub subject: String,
}

#[derive(Debug, Clone)]
pub struct Grant {
    pub dealer_uuid: String,
    /// `None`: the grant covers every department of the dealer.
    pub department_uuid: Option<String>,
    pub scope: Scope,
}

/// A department as authorization sees it.
pub struct DepartmentRef<'a> {
    pub uuid: &'a str,
    pub dealer_uuid: &'a str,
}

impl Actor {
    /// Who this is, whatever credential it used this time: a partner, the dealer or
    /// department behind a token, a Checkout namespace. Idempotency keys are bound to it.
    pub fn identity(&self) -> String {
        match self {
            Actor::Operator => "operator".into(),
            Actor::Partner { uuid, .. } => format!("partner:{uuid}"),
            Actor::DealerToken { dealer_uuid, .. } => format!("dealer:{dealer_uuid}"),
            Actor::DepartmentToken {
                department_uuid, ..
            } => format!("department:{department_uuid}"),
            Actor::Customer {
                payment_request_guid,
            } => format!("customer:{payment_request_guid}"),
            Actor::Merchant(m) => format!("namespace:{}", m.namespace.namespace),
            Actor::System => "system".into(),
        }
    }

    /// ServiceSubscriberScope: the actor must hold `scope` for the whole dealer.
    pub fn require_dealer(&self, scope: Scope, dealer_uuid: &str) -> EngineResult<()> {
        let ok = match self {
            Actor::Operator | Actor::System => true,
            Actor::Partner { grants, .. } => grants
                .iter()
                .any(|g| g.dealer_uuid == dealer_uuid && g.department_uuid.is_none() && g.scope.satisfies(scope)),
            Actor::DealerToken { dealer_uuid: d, scopes } => d == dealer_uuid && scopes.iter().any(|s| s.satisfies(scope)),
            Actor::DepartmentToken { .. } => {
                return Err(EngineError::unauthorized(
                    v1::REQUEST_NOT_AUTHORIZED,
                    "a department token cannot act for a whole dealer; this route has ServiceSubscriberScope",
                ))
            }
            Actor::Customer { .. } | Actor::Merchant(_) => {
                return Err(EngineError::unauthorized(v1::REQUEST_NOT_AUTHORIZED, "not allowed for this caller"))
            }
        };
        if ok {
            Ok(())
        } else {
            Err(EngineError::unauthorized(
                v1::INVALID_SCOPE_DEALER,
                format!("no grant of {} for this dealer", scope.as_str()),
            ))
        }
    }

    /// DepartmentScope: a grant for the department or for its whole dealer.
    pub fn require_department(&self, scope: Scope, dep: &DepartmentRef) -> EngineResult<()> {
        let ok = match self {
            Actor::Operator | Actor::System => true,
            Actor::Partner { grants, .. } => grants.iter().any(|g| {
                g.dealer_uuid == dep.dealer_uuid
                    && g.department_uuid.as_deref().is_none_or(|d| d == dep.uuid)
                    && g.scope.satisfies(scope)
            }),
            Actor::DealerToken {
                dealer_uuid,
                scopes,
            } => dealer_uuid == dep.dealer_uuid && scopes.iter().any(|s| s.satisfies(scope)),
            Actor::DepartmentToken {
                department_uuid,
                scopes,
            } => department_uuid == dep.uuid && scopes.iter().any(|s| s.satisfies(scope)),
            Actor::Customer { .. } | Actor::Merchant(_) => false,
        };
        if ok {
            Ok(())
        } else {
            Err(no_department_scope(scope))
        }
    }

    pub fn is_operator(&self) -> bool {
        matches!(self, Actor::Operator)
    }
}

pub fn no_department_scope(scope: Scope) -> EngineError {
    EngineError::unauthorized(
        v1::INVALID_SCOPE_DEPARTMENT,
        format!("no grant of {} for this department", scope.as_str()),
    )
}
