//! `cairn serve`, `cairn users` and `cairn tokens`.

use std::io::{BufRead, IsTerminal, Write, stdout};
use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, Result};
use cairn_server::tokens::{Role, Tokens};
use cairn_server::users::Users;
use cairn_store::Scope;
use serde_json::json;
use time::OffsetDateTime;

use crate::cli::{self, Format};
use crate::config::Loaded;
use crate::output;
use crate::{Outcome, UsageError};

pub fn serve(
    dir: &Path,
    a: cli::ServeArgs,
    config: Option<&Loaded>,
    quiet: bool,
) -> Result<Outcome> {
    let addr: std::net::SocketAddr = a
        .addr
        .parse()
        .map_err(|e| UsageError(format!("--addr {}: {e}", a.addr)))?;
    if a.no_auth && !addr.ip().is_loopback() {
        return Err(UsageError(format!(
            "--no-auth is refused on {addr}: anyone who can reach it would read every event; bind a loopback address"
        ))
        .into());
    }
    let timeout = cairn_query::time::parse_duration(&a.request_timeout)
        .map_err(|e| UsageError(format!("--request-timeout: {e}")))?;
    let tls = match (&a.tls_cert, &a.tls_key) {
        (Some(c), Some(k)) => Some(cairn_server::tls::config(c, k).map_err(UsageError)?),
        _ => None,
    };
    if a.follow {
        // The store must exist before the server opens it.
        cairn_store::Store::open_or_create(dir)
            .with_context(|| format!("opening {}", dir.display()))?;
    } else if !a.inputs.is_empty() {
        return Err(UsageError("SOURCEs are followed only with --follow".into()).into());
    }
    let store = Arc::new(crate::commands::open(dir)?);
    let mut state = cairn_server::AppState::new(store, a.no_auth);
    if let Some(auth) = &state.auth
        && !auth
            .has_credentials()
            .with_context(|| format!("reading the users and tokens of {}", dir.display()))?
    {
        return Err(UsageError(format!(
            "nobody can sign in: add a user with `cairn --data-dir {0} users add NAME --role admin` or a token with `cairn --data-dir {0} tokens create --name NAME` (or serve with --no-auth on a loopback address)",
            dir.display()
        ))
        .into());
    }
    state.views = Arc::new(crate::detect::ServeViews::new(dir, &a.rules, config));
    state.limits = cairn_server::Limits {
        max_body: a.max_body,
        request_timeout: std::time::Duration::from_secs(timeout.whole_seconds().max(1) as u64),
    };
    state.tls = tls.is_some();
    std::thread::scope(|sc| {
        // The follower stops on the same signals as the server.
        let follower = a.follow.then(|| {
            let mut args = cli::IngestArgs::defaults(Vec::new());
            args.inputs = a.inputs.clone();
            args.follow = true;
            args.rules = a.rules.clone();
            sc.spawn(move || crate::ingest::run(dir, args, config, quiet))
        });
        let served = run_server(addr, state, tls);
        if let Some(f) = follower {
            match f.join() {
                Ok(r) => {
                    r?;
                }
                Err(_) => anyhow::bail!("the follower thread panicked"),
            }
        }
        served
    })?;
    Ok(Outcome::Ok)
}

fn run_server(
    addr: std::net::SocketAddr,
    state: cairn_server::AppState,
    tls: Option<rustls::ServerConfig>,
) -> Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("cairn-serve")
        .build()
        .context("starting the server runtime")?;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|e| UsageError(format!("--addr {addr}: {e}")))?;
        let bound = listener.local_addr()?;
        let scheme = if tls.is_some() { "https" } else { "http" };
        tracing::info!(%bound, "serving {scheme}://{bound}/ (web UI on /, LookupEvents on POST /, JSON API on /api/)");
        let app = cairn_server::app(state)
            .into_make_service_with_connect_info::<std::net::SocketAddr>();
        let shutdown = async {
            let mut term =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {},
                _ = async { match term.as_mut() { Some(t) => { t.recv().await; } None => std::future::pending().await } } => {},
            }
            tracing::info!("shutting down");
        };
        match tls {
            Some(c) => {
                use axum::serve::ListenerExt;
                let l = cairn_server::tls::TlsListener::new(listener, c)?.tap_io(|_| {});
                axum::serve(l, app).with_graceful_shutdown(shutdown).await?
            }
            None => axum::serve(listener, app).with_graceful_shutdown(shutdown).await?,
        }
        Ok::<_, anyhow::Error>(())
    })
}

fn scope(s: &cli::ScopeArgs) -> Result<Scope> {
    for a in &s.accounts {
        if a.len() != 12 || !a.bytes().all(|b| b.is_ascii_digit()) {
            return Err(UsageError(format!("--accounts {a}: an account id has 12 digits")).into());
        }
    }
    Ok(Scope::new(&s.accounts, &s.regions))
}

fn role(r: &str) -> Result<Role> {
    Role::parse(r).ok_or_else(|| UsageError(format!("--role {r}: admin, analyst or viewer")).into())
}

fn scope_text(s: &Scope) -> String {
    let list = |v: &Option<std::collections::BTreeSet<String>>| {
        v.as_ref()
            .map(|v| v.iter().cloned().collect::<Vec<_>>().join(","))
            .unwrap_or_else(|| "all".into())
    };
    if s.is_all() {
        "all".into()
    } else {
        format!(
            "accounts {} regions {}",
            list(&s.accounts),
            list(&s.regions)
        )
    }
}

pub fn tokens(dir: &Path, c: cli::TokensCommand) -> Result<Outcome> {
    let mut all =
        Tokens::load(dir).with_context(|| format!("reading the tokens of {}", dir.display()))?;
    let now = OffsetDateTime::now_utc().unix_timestamp();
    let mut out = stdout();
    match c {
        cli::TokensCommand::Create {
            name,
            role: r,
            scope: s,
        } => {
            let t = all.create(&name, role(&r)?, scope(&s)?, now);
            all.save(dir)?;
            cairn_server::audit::record_cli(
                dir,
                "token_create",
                json!({"id": t.id, "name": name, "role": r, "scope": t.scope}),
            )?;
            writeln!(
                out,
                "access key id: {}\nsecret:        {}\n(the secret is not shown again)",
                t.id, t.secret
            )?;
        }
        cli::TokensCommand::List => {
            let rows: Vec<Vec<serde_json::Value>> = all
                .tokens
                .iter()
                .map(|t| {
                    vec![
                        t.id.clone().into(),
                        t.name.clone().into(),
                        t.role.name().into(),
                        scope_text(&t.scope).into(),
                        cairn_detect::engine::rfc3339(t.created).into(),
                        t.revoked
                            .map(cairn_detect::engine::rfc3339)
                            .unwrap_or_default()
                            .into(),
                    ]
                })
                .collect();
            output::print_rows(
                &mut out,
                &["id", "name", "role", "scope", "created", "revoked"],
                &rows,
                Format::Table,
            )?;
        }
        cli::TokensCommand::Revoke { id } => {
            if !all.revoke(&id, now) {
                return Err(UsageError(format!("no token {id}")).into());
            }
            all.save(dir)?;
            cairn_server::audit::record_cli(dir, "token_revoke", json!({"id": id}))?;
            writeln!(out, "revoked {id}")?;
        }
    }
    out.flush()?;
    Ok(Outcome::Ok)
}

/// A password from standard input's first line, or typed at a prompt (echoed: cairn keeps no
/// terminal dependency; prefer --password-stdin in scripts).
fn read_password(from_stdin: bool) -> Result<String> {
    let stdin = std::io::stdin();
    if !from_stdin && stdin.is_terminal() {
        eprint!("password: ");
    } else if !from_stdin {
        return Err(UsageError(
            "no terminal to ask for the password: pass --password-stdin and pipe it".into(),
        )
        .into());
    }
    let mut line = String::new();
    stdin.lock().read_line(&mut line)?;
    let p = line.trim_end_matches(['\n', '\r']).to_string();
    cairn_server::users::valid_password(&p).map_err(UsageError)?;
    Ok(p)
}

pub fn users(dir: &Path, c: cli::UsersCommand) -> Result<Outcome> {
    let mut all =
        Users::load(dir).with_context(|| format!("reading the users of {}", dir.display()))?;
    let now = OffsetDateTime::now_utc().unix_timestamp();
    let mut out = stdout();
    match c {
        cli::UsersCommand::Add {
            name,
            role: r,
            scope: s,
            password_stdin,
        } => {
            let (role, scope) = (role(&r)?, scope(&s)?);
            cairn_server::users::valid_name(&name).map_err(UsageError)?;
            if all.get(&name).is_some() {
                return Err(UsageError(format!("user {name:?} exists")).into());
            }
            let password = read_password(password_stdin)?;
            all.add(&name, &password, role, scope.clone(), now)
                .map_err(UsageError)?;
            all.save(dir)?;
            cairn_server::audit::record_cli(
                dir,
                "user_add",
                json!({"name": name, "role": r, "scope": scope}),
            )?;
            writeln!(out, "added {name} ({r}, {})", scope_text(&scope))?;
        }
        cli::UsersCommand::Remove { name } => {
            if !all.remove(&name) {
                return Err(UsageError(format!("no user {name:?}")).into());
            }
            all.save(dir)?;
            cairn_server::audit::record_cli(dir, "user_remove", json!({"name": name}))?;
            writeln!(out, "removed {name}")?;
        }
        cli::UsersCommand::List => {
            let rows: Vec<Vec<serde_json::Value>> = all
                .users
                .iter()
                .map(|u| {
                    vec![
                        u.name.clone().into(),
                        u.role.name().into(),
                        scope_text(&u.scope).into(),
                        cairn_detect::engine::rfc3339(u.created).into(),
                        cairn_detect::engine::rfc3339(u.changed).into(),
                    ]
                })
                .collect();
            output::print_rows(
                &mut out,
                &["name", "role", "scope", "created", "password changed"],
                &rows,
                Format::Table,
            )?;
        }
        cli::UsersCommand::Passwd {
            name,
            password_stdin,
        } => {
            if all.get(&name).is_none() {
                return Err(UsageError(format!("no user {name:?}")).into());
            }
            let password = read_password(password_stdin)?;
            all.passwd(&name, &password, now).map_err(UsageError)?;
            all.save(dir)?;
            cairn_server::audit::record_cli(dir, "user_passwd", json!({"name": name}))?;
            writeln!(out, "changed the password of {name}")?;
        }
    }
    out.flush()?;
    Ok(Outcome::Ok)
}
