//! The tables of accounts, sessions, OAuth clients, codes and tokens (the `auth`
//! component's migrations, run by `Auth::new`). Every row carries its practice (ODS code). Secrets are stored
//! only as SHA-256 (tokens, codes, client secrets) or argon2id (passwords); the TOTP
//! seed has to be kept as it is, since the server computes codes from it. Times are
//! microseconds since the Unix epoch, like the rest of the store.

use store::migrate::{Component, Migration, execute_all};
use store::{Dialect, StoreError, Transaction};

pub const COMPONENT: Component = Component {
    name: "auth",
    migrations: &[
        Migration {
            version: 1,
            name: "baseline: staff accounts, sessions, OAuth clients, codes and tokens",
            apply: baseline,
        },
        Migration {
            version: 2,
            name: "id_token signing keys",
            apply: signing_keys,
        },
    ],
};

fn baseline(tx: &mut dyn Transaction, dialect: Dialect) -> Result<(), StoreError> {
    execute_all(tx, ddl(dialect))
}

fn signing_keys(tx: &mut dyn Transaction, dialect: Dialect) -> Result<(), StoreError> {
    execute_all(tx, crate::id_token::signing_key_ddl(dialect))
}

const TABLES: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS auth_users (
        id TEXT PRIMARY KEY,
        practice TEXT NOT NULL,
        username TEXT NOT NULL,
        display_name TEXT NOT NULL,
        role TEXT NOT NULL,
        practitioner TEXT,
        password_hash TEXT NOT NULL,
        totp_secret TEXT,
        totp_last_step BIGINT,
        failed_count BIGINT NOT NULL,
        locked_until BIGINT,
        created BIGINT NOT NULL,
        UNIQUE (practice, username)
    )",
    "CREATE TABLE IF NOT EXISTS auth_sessions (
        token_hash TEXT PRIMARY KEY,
        practice TEXT NOT NULL,
        user_id TEXT,
        stage TEXT NOT NULL,
        csrf TEXT NOT NULL,
        created BIGINT NOT NULL,
        last_seen BIGINT NOT NULL,
        source TEXT
    )",
    "CREATE INDEX IF NOT EXISTS auth_sessions_by_last_seen ON auth_sessions (last_seen)",
    "CREATE TABLE IF NOT EXISTS oauth_clients (
        client_id TEXT PRIMARY KEY,
        practice TEXT NOT NULL,
        name TEXT NOT NULL,
        scopes TEXT NOT NULL,
        redirect_uris TEXT NOT NULL,
        confidential {bool} NOT NULL,
        secret_hash TEXT,
        rate_limit_per_minute BIGINT NOT NULL,
        created BIGINT NOT NULL
    )",
    "CREATE INDEX IF NOT EXISTS oauth_clients_by_practice ON oauth_clients (practice)",
    "CREATE TABLE IF NOT EXISTS oauth_codes (
        code_hash TEXT PRIMARY KEY,
        practice TEXT NOT NULL,
        client_id TEXT NOT NULL,
        user_id TEXT NOT NULL,
        redirect_uri TEXT NOT NULL,
        challenge TEXT NOT NULL,
        scopes TEXT NOT NULL,
        patient TEXT,
        expires BIGINT NOT NULL,
        used {bool} NOT NULL
    )",
    "CREATE INDEX IF NOT EXISTS oauth_codes_by_expiry ON oauth_codes (expires)",
    "CREATE TABLE IF NOT EXISTS oauth_tokens (
        token_hash TEXT PRIMARY KEY,
        practice TEXT NOT NULL,
        kind TEXT NOT NULL,
        client_id TEXT NOT NULL,
        user_id TEXT,
        scopes TEXT NOT NULL,
        patient TEXT,
        family TEXT NOT NULL,
        grant_type TEXT NOT NULL,
        expires BIGINT NOT NULL,
        revoked {bool} NOT NULL,
        used {bool} NOT NULL
    )",
    "CREATE INDEX IF NOT EXISTS oauth_tokens_by_family ON oauth_tokens (family)",
    "CREATE INDEX IF NOT EXISTS oauth_tokens_by_expiry ON oauth_tokens (expires)",
];

fn ddl(dialect: Dialect) -> Vec<String> {
    let boolean = match dialect {
        Dialect::Sqlite => "INTEGER",
        Dialect::Postgres => "BOOLEAN",
    };
    TABLES
        .iter()
        .map(|s| s.replace("{bool}", boolean))
        .collect()
}
