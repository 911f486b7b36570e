//! Account operations shared by the API and the CLI: create a user, change a user, set a
//! password. Each checks its input with the domain rules, then writes through `db::users`.

use crate::config::{Locale, Settings};
use crate::db::users::{self, NewUser, User, UserChanges};
use crate::db::{self, DbConnection};
use crate::domain::user::{check_password, parse_name, Email, Role};
use crate::error::{AppError, FieldErrors};
use crate::startup::FirstAdmin;

/// What it takes to create a user.
#[derive(Debug, Clone)]
pub struct UserInput {
    pub email: String,
    pub name: String,
    pub role: String,
    pub password: String,
    pub manager_id: Option<i64>,
    pub locale: Option<String>,
    pub must_change_password: bool,
}

pub fn create_user(
    conn: &mut DbConnection,
    input: &UserInput,
    default_locale: Locale,
) -> Result<User, AppError> {
    let mut fields = FieldErrors::new();
    let email = Email::parse(&input.email)
        .map_err(|m| fields.insert("email".into(), m))
        .ok();
    let name = parse_name(&input.name)
        .map_err(|m| fields.insert("name".into(), m))
        .ok();
    let role = Role::parse(&input.role)
        .map_err(|m| fields.insert("role".into(), m))
        .ok();
    if let Err(m) = check_password(&input.password) {
        fields.insert("password".into(), m);
    }
    let locale = match &input.locale {
        Some(raw) => Locale::parse(raw).or_else(|| {
            fields.insert("locale".into(), format!("'{raw}' is not one of: id, en"));
            None
        }),
        None => Some(default_locale),
    };
    AppError::check(fields)?;
    let (Some(email), Some(name), Some(role), Some(locale)) = (email, name, role, locale) else {
        return Err(AppError::Internal(anyhow::anyhow!(
            "validated input went missing"
        )));
    };
    let password_hash = crate::auth::password::hash(&input.password)?;
    crate::db::write(conn, |conn| {
        if users::find_by_email(conn, email.as_str())?.is_some() {
            return Err(AppError::conflict(
                "email_taken",
                "a user with this email already exists",
            ));
        }
        if let Some(manager_id) = input.manager_id {
            check_manager(conn, None, manager_id)?;
        }
        let now = db::now();
        let user = users::insert(
            conn,
            &NewUser {
                email: email.as_str(),
                name: &name,
                role: role.as_str(),
                password_hash: &password_hash,
                manager_id: input.manager_id,
                locale: locale.as_str(),
                active: true,
                away: false,
                must_change_password: input.must_change_password,
                token_version: 1,
                created_at: now,
                updated_at: now,
            },
        )?;
        tracing::info!(user.id = user.id, user.role = role.as_str(), "user created");
        Ok(user)
    })
}

/// A manager must exist, be active, hold the manager or admin role, and not create a loop.
fn check_manager(
    conn: &mut DbConnection,
    user_id: Option<i64>,
    manager_id: i64,
) -> Result<(), AppError> {
    let manager = users::find(conn, manager_id)?;
    match manager {
        None => Err(AppError::invalid("manager_id", "no user has this id")),
        Some(m) if !m.active => Err(AppError::invalid("manager_id", "this user is deactivated")),
        Some(m) if !m.role().is_senior() => Err(AppError::invalid(
            "manager_id",
            "must be a manager or an admin",
        )),
        Some(_) => match user_id {
            Some(id) if users::would_loop(conn, id, manager_id)? => Err(AppError::invalid(
                "manager_id",
                "would make a user their own manager",
            )),
            _ => Ok(()),
        },
    }
}

/// A change to a user; `manager_id: Some(None)` clears the manager.
#[derive(Debug, Default, Clone)]
pub struct UserPatch {
    pub name: Option<String>,
    pub role: Option<String>,
    pub manager_id: Option<Option<i64>>,
    pub active: Option<bool>,
    pub locale: Option<String>,
    pub away: Option<bool>,
}

pub fn update_user(conn: &mut DbConnection, id: i64, patch: &UserPatch) -> Result<User, AppError> {
    let mut fields = FieldErrors::new();
    let mut changes = UserChanges::default();
    if let Some(raw) = &patch.name {
        changes.name = parse_name(raw)
            .map_err(|m| fields.insert("name".into(), m))
            .ok();
    }
    let new_role = match &patch.role {
        Some(raw) => Role::parse(raw)
            .map_err(|m| fields.insert("role".into(), m))
            .ok(),
        None => None,
    };
    changes.role = new_role.map(|r| r.as_str().to_owned());
    if let Some(raw) = &patch.locale {
        match Locale::parse(raw) {
            Some(locale) => changes.locale = Some(locale.as_str().to_owned()),
            None => {
                fields.insert("locale".into(), format!("'{raw}' is not one of: id, en"));
            }
        }
    }
    AppError::check(fields)?;
    changes.manager_id = patch.manager_id;
    changes.active = patch.active;
    changes.away = patch.away;
    crate::db::write(conn, |conn| {
        let current = users::find(conn, id)?.ok_or_else(|| AppError::not_found("user"))?;
        if let Some(Some(manager_id)) = patch.manager_id {
            check_manager(conn, Some(id), manager_id)?;
        }
        let loses_admin = current.role() == Role::Admin
            && (patch.active == Some(false) || new_role.is_some_and(|r| r != Role::Admin));
        if loses_admin && active_admins(conn)? <= 1 {
            return Err(AppError::conflict(
                "last_admin",
                "the desk must keep at least one active admin",
            ));
        }
        let revoke = patch.active == Some(false) && current.active;
        let user = users::update(conn, id, &changes, revoke, db::now())?;
        if revoke {
            tracing::info!(user.id = id, "user deactivated; their tokens are revoked");
        }
        Ok(user)
    })
}

fn active_admins(conn: &mut DbConnection) -> Result<usize, AppError> {
    Ok(users::list(conn)?
        .iter()
        .filter(|u| u.active && u.role() == Role::Admin)
        .count())
}

/// Sets a new password (checked against the policy) and revokes every older token.
pub fn set_password(
    conn: &mut DbConnection,
    id: i64,
    password: &str,
    must_change: bool,
) -> Result<User, AppError> {
    check_password(password).map_err(|m| AppError::invalid("password", m))?;
    let hash = crate::auth::password::hash(password)?;
    let changes = UserChanges {
        password_hash: Some(hash),
        must_change_password: Some(must_change),
        ..Default::default()
    };
    Ok(users::update(conn, id, &changes, true, db::now())?)
}

pub fn find_by_email(conn: &mut DbConnection, raw: &str) -> Result<User, AppError> {
    let email = Email::parse(raw).map_err(|m| AppError::invalid("email", m))?;
    users::find_by_email(conn, email.as_str())?.ok_or_else(|| AppError::not_found("user"))
}

/// On an empty database, creates an admin with a random one-time password.
pub fn ensure_first_admin(
    conn: &mut DbConnection,
    settings: &Settings,
) -> anyhow::Result<Option<FirstAdmin>> {
    if users::count(conn)? > 0 {
        return Ok(None);
    }
    let password = crate::auth::generate_password();
    let input = UserInput {
        email: settings.admin_email.clone(),
        name: "Admin".into(),
        role: Role::Admin.as_str().into(),
        password: password.clone(),
        manager_id: None,
        locale: None,
        must_change_password: true,
    };
    let user = create_user(conn, &input, settings.locale)
        .map_err(|e| anyhow::anyhow!("creating the first admin: {e}"))?;
    Ok(Some(FirstAdmin {
        email: user.email,
        password,
    }))
}
