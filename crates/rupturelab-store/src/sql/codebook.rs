//! The codebook calls, in SQL shared by both backends (compiled once inside
//! `sqlite` and once inside `postgres`, like `web.rs`): the tree of codes is read into
//! memory, changed there, checked (every path a valid `CodePath`, sibling
//! keys distinct) and written back in the same transaction as the audit
//! event and the new version snapshot. `codes.position` is the code's index
//! in tree order (parents before children), as `create_study` writes it.
//! Statements use `$n` placeholders; a write first locks the study row
//! (`LOCK_STUDY`) so that PostgreSQL, too, runs one codebook change of a
//! study at a time, as SQLite's single writer does.

use std::collections::{HashMap, HashSet};

use rupturelab_core::*;
use serde_json::{json, Value};
use sqlx::Row;

use super::study::insert_audit;
use super::{begin_write, invalid, Conn, Pool, Tx, LOCK_STUDY};
use crate::codebook::*;
use crate::{Result, StoreError, StudyId};

/// The codes below `$1` (itself included) in study `$2`.
const SUBTREE: &str =
    "WITH RECURSIVE sub(id) AS (SELECT id FROM codes WHERE id = $1 AND study_id = $2 \
     UNION ALL SELECT c.id FROM codes c JOIN sub ON c.parent_id = sub.id) SELECT id FROM sub";

#[derive(Debug, Clone)]
struct Node {
    id: i64,
    parent: Option<i64>,
    position: i64,
    key: String,
    code: Code,
}

#[derive(Debug, Clone, Default)]
struct Tree {
    nodes: HashMap<i64, Node>,
    children: HashMap<Option<i64>, Vec<i64>>,
}

impl Tree {
    async fn load(conn: &mut Conn, sid: i64) -> Result<Tree> {
        let mut t = Tree::default();
        for r in sqlx::query(
            "SELECT id, parent_id, position, path, name, codable, definition, inclusion, exclusion, example, colour \
             FROM codes WHERE study_id = $1 ORDER BY position, id",
        )
        .bind(sid)
        .fetch_all(&mut *conn)
        .await?
        {
            let path = CodePath::parse(r.get::<&str, _>(3)).map_err(invalid)?;
            let n = Node {
                id: r.get(0),
                parent: r.get(1),
                position: r.get(2),
                key: path.leaf().to_string(),
                code: Code {
                    path,
                    name: r.get(4),
                    codable: r.get(5),
                    definition: r.get(6),
                    inclusion: r.get(7),
                    exclusion: r.get(8),
                    example: r.get(9),
                    colour: r.get(10),
                },
            };
            t.children.entry(n.parent).or_default().push(n.id);
            t.nodes.insert(n.id, n);
        }
        Ok(t)
    }

    fn node(&self, id: CodeId) -> Result<&Node> {
        self.nodes
            .get(&id.0)
            .ok_or_else(|| invalid(format!("there is no code with id {} in this study", id.0)))
    }

    fn siblings(&self, parent: Option<i64>) -> &[i64] {
        self.children
            .get(&parent)
            .map(|v| v.as_slice())
            .unwrap_or(&[])
    }

    /// Ids in tree order: parents before children, siblings in order.
    fn order(&self) -> Vec<i64> {
        fn walk(t: &Tree, parent: Option<i64>, out: &mut Vec<i64>) {
            for &c in t.siblings(parent) {
                out.push(c);
                walk(t, Some(c), out);
            }
        }
        let mut out = Vec::with_capacity(self.nodes.len());
        walk(self, None, &mut out);
        out
    }

    /// `id` and everything below it, in tree order.
    fn subtree(&self, id: i64) -> Vec<i64> {
        fn walk(t: &Tree, id: i64, out: &mut Vec<i64>) {
            out.push(id);
            for &c in t.siblings(Some(id)) {
                walk(t, c, out);
            }
        }
        let mut out = Vec::new();
        walk(self, id, &mut out);
        out
    }

    /// Takes a code out of its parent's children; returns its old place.
    fn detach(&mut self, id: i64) -> (Option<i64>, usize) {
        let parent = self.nodes[&id].parent;
        let list = self.children.entry(parent).or_default();
        let idx = list.iter().position(|&c| c == id).unwrap_or(list.len());
        if idx < list.len() {
            list.remove(idx);
        }
        (parent, idx)
    }

    fn attach(&mut self, id: i64, parent: Option<i64>, index: usize) {
        let list = self.children.entry(parent).or_default();
        let idx = index.min(list.len());
        list.insert(idx, id);
        if let Some(n) = self.nodes.get_mut(&id) {
            n.parent = parent;
        }
    }

    /// Recomputes every path from the keys and checks the result: valid
    /// paths, no two siblings with the same key.
    fn derive_paths(&mut self) -> Result<()> {
        let order = self.order();
        let mut paths: HashMap<i64, String> = HashMap::new();
        for id in &order {
            let n = &self.nodes[id];
            let p = match n.parent {
                Some(pid) => format!("{}/{}", paths[&pid], n.key),
                None => n.key.clone(),
            };
            paths.insert(*id, p);
        }
        let mut seen = HashSet::new();
        for id in order {
            let p = &paths[&id];
            let path = CodePath::parse(p).map_err(invalid)?;
            if !seen.insert(p.clone()) {
                return Err(invalid(format!(
                    "there would be two codes `{p}`; siblings need different keys, so rename one first"
                )));
            }
            if let Some(n) = self.nodes.get_mut(&id) {
                n.code.path = path;
            }
        }
        Ok(())
    }

    fn codes(&self) -> Vec<Code> {
        self.order()
            .into_iter()
            .map(|id| self.nodes[&id].code.clone())
            .collect()
    }
}

/// Writes parents, positions (tree order) and paths that differ from what
/// the database holds (`before`, as loaded). Changed paths first go to a
/// temporary value (a control character, which keys cannot hold), so the
/// unique index never sees two equal paths in between.
async fn write_tree(conn: &mut Conn, before: &Tree, after: &Tree) -> Result<()> {
    let order = after.order();
    let moved: Vec<i64> = order
        .iter()
        .copied()
        .filter(|id| {
            before
                .nodes
                .get(id)
                .is_some_and(|b| b.code.path != after.nodes[id].code.path)
        })
        .collect();
    for id in &moved {
        sqlx::query("UPDATE codes SET path = $1 WHERE id = $2")
            .bind(format!("\u{1}{id}"))
            .bind(id)
            .execute(&mut *conn)
            .await?;
    }
    for (pos, id) in order.iter().enumerate() {
        let n = &after.nodes[id];
        let same = before.nodes.get(id).is_some_and(|b| {
            b.parent == n.parent && b.position == pos as i64 && b.code.path == n.code.path
        });
        if !same {
            sqlx::query("UPDATE codes SET parent_id = $1, position = $2, path = $3 WHERE id = $4")
                .bind(n.parent)
                .bind(pos as i64)
                .bind(n.code.path.as_str())
                .bind(id)
                .execute(&mut *conn)
                .await?;
        }
    }
    Ok(())
}

fn code_json(c: &Code) -> Value {
    json!({
        "path": c.path.as_str(), "name": c.name, "codable": c.codable,
        "definition": c.definition, "inclusion": c.inclusion, "exclusion": c.exclusion,
        "example": c.example, "colour": c.colour,
    })
}

fn code_from_json(v: &Value) -> Result<Code> {
    let s = |k: &str| v.get(k).and_then(|x| x.as_str()).map(str::to_string);
    Ok(Code {
        path: CodePath::parse(&s("path").unwrap_or_default())
            .map_err(|e| invalid(format!("stored codebook version: {e}")))?,
        name: s("name").unwrap_or_default(),
        codable: v.get("codable").and_then(|x| x.as_bool()).unwrap_or(true),
        definition: s("definition"),
        inclusion: s("inclusion"),
        exclusion: s("exclusion"),
        example: s("example"),
        colour: s("colour"),
    })
}

async fn study_exists(conn: &mut Conn, sid: i64) -> Result<i64> {
    sqlx::query_scalar("SELECT created_at FROM studies WHERE id = $1")
        .bind(sid)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or_else(|| StoreError::NoSuchStudy(format!("#{sid}")))
}

/// [`study_exists`] inside a write transaction, locking the study row
/// against other codebook writers until the transaction ends.
async fn lock_study(conn: &mut Conn, sid: i64) -> Result<i64> {
    sqlx::query_scalar(&format!(
        "SELECT created_at FROM studies WHERE id = $1{LOCK_STUDY}"
    ))
    .bind(sid)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or_else(|| StoreError::NoSuchStudy(format!("#{sid}")))
}

/// Before the first change, keeps the codebook as it was (dated when the
/// study was created) so that "as of" a date before the change shows it.
async fn ensure_baseline(conn: &mut Conn, sid: i64) -> Result<()> {
    let created = lock_study(conn, sid).await?;
    let any: Option<i64> =
        sqlx::query_scalar("SELECT id FROM codebook_versions WHERE study_id = $1 LIMIT 1")
            .bind(sid)
            .fetch_optional(&mut *conn)
            .await?;
    if any.is_none() {
        let codes = Tree::load(conn, sid).await?.codes();
        insert_version(
            conn,
            sid,
            created,
            "",
            "codebook.baseline",
            "the codebook before the first change",
            &codes,
        )
        .await?;
    }
    Ok(())
}

async fn insert_version(
    conn: &mut Conn,
    sid: i64,
    at: i64,
    actor: &str,
    action: &str,
    detail: &str,
    codes: &[Code],
) -> Result<()> {
    let snapshot = Value::Array(codes.iter().map(code_json).collect()).to_string();
    sqlx::query(
        "INSERT INTO codebook_versions (study_id, at, actor, action, detail, codes) VALUES ($1,$2,$3,$4,$5,$6)",
    )
    .bind(sid)
    .bind(at)
    .bind(actor)
    .bind(action)
    .bind(detail)
    .bind(snapshot)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Records a change: the audit event and the new version, in the caller's
/// transaction.
async fn record(
    tx: &mut Tx<'_>,
    sid: i64,
    actor: &str,
    action: &str,
    entity: String,
    detail: String,
) -> Result<()> {
    let at = Timestamp::now();
    insert_audit(
        tx,
        sid,
        &AuditEvent {
            at,
            actor: actor.to_string(),
            action: action.to_string(),
            entity,
            detail: detail.clone(),
        },
    )
    .await?;
    let codes = Tree::load(tx, sid).await?.codes();
    insert_version(tx, sid, at.0, actor, action, &detail, &codes).await
}

fn clean(s: &Option<String>) -> Option<String> {
    s.as_deref()
        .map(|t| text::normalize(t.trim()))
        .filter(|t| !t.is_empty())
}

fn check_colour(c: &Option<String>) -> Result<()> {
    if let Some(c) = c {
        let ok =
            c.len() == 7 && c.starts_with('#') && c[1..].chars().all(|ch| ch.is_ascii_hexdigit());
        if !ok {
            return Err(invalid(format!(
                "colour `{c}` is not a colour; write #RRGGBB, e.g. #0072B2"
            )));
        }
    }
    Ok(())
}

async fn own_codings(conn: &mut Conn, code: i64) -> Result<i64> {
    Ok(
        sqlx::query_scalar("SELECT COUNT(*) FROM codings WHERE code_id = $1")
            .bind(code)
            .fetch_one(&mut *conn)
            .await?,
    )
}

pub(super) async fn codebook(pool: &Pool, id: StudyId) -> Result<Vec<StoredCode>> {
    let mut conn = pool.acquire().await?;
    study_exists(&mut conn, id.0).await?;
    let tree = Tree::load(&mut conn, id.0).await?;
    let counts: HashMap<i64, i64> =
        sqlx::query("SELECT code_id, COUNT(*) FROM codings WHERE study_id = $1 GROUP BY code_id")
            .bind(id.0)
            .fetch_all(&mut *conn)
            .await?
            .into_iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect();
    Ok(tree
        .order()
        .into_iter()
        .map(|i| {
            let n = &tree.nodes[&i];
            StoredCode {
                id: CodeId(i),
                parent: n.parent.map(CodeId),
                code: n.code.clone(),
                codings: counts.get(&i).copied().unwrap_or(0),
            }
        })
        .collect())
}

pub(super) async fn add_code(
    pool: &Pool,
    id: StudyId,
    new: &NewCode,
    actor: &str,
) -> Result<StoredCode> {
    let sid = id.0;
    let mut tx = begin_write(pool).await?;
    ensure_baseline(&mut tx, sid).await?;
    let before = Tree::load(&mut tx, sid).await?;
    let parent_path = match new.parent {
        Some(p) => Some(before.node(p)?.code.path.clone()),
        None => None,
    };
    let path = match &parent_path {
        Some(p) => format!("{p}/{}", new.key),
        None => new.key.to_string(),
    };
    let path = CodePath::parse(&path).map_err(invalid)?;
    if before.nodes.values().any(|n| n.code.path == path) {
        return Err(invalid(format!(
            "a code `{path}` exists already; choose another key"
        )));
    }
    let name = text::normalize(new.name.trim());
    let name = if name.is_empty() {
        new.key.to_string()
    } else {
        name
    };
    let new_id: i64 = sqlx::query_scalar(
        "INSERT INTO codes (study_id, parent_id, position, path, name, codable) VALUES ($1,$2,$3,$4,$5,$6) RETURNING id",
    )
    .bind(sid)
    .bind(new.parent.map(|p| p.0))
    .bind(i64::MAX / 2)
    .bind(path.as_str())
    .bind(&name)
    .bind(new.codable)
    .fetch_one(&mut *tx)
    .await?;
    let tree = Tree::load(&mut tx, sid).await?;
    let mut after = tree.clone();
    after.derive_paths()?;
    write_tree(&mut tx, &tree, &after).await?;
    record(
        &mut tx,
        sid,
        actor,
        "codebook.add",
        format!("code:{path}"),
        format!("— → `{path}` ({name})"),
    )
    .await?;
    tx.commit().await?;
    Ok(StoredCode {
        id: CodeId(new_id),
        parent: new.parent,
        code: after.nodes[&new_id].code.clone(),
        codings: 0,
    })
}

pub(super) async fn edit_code(
    pool: &Pool,
    id: StudyId,
    code: CodeId,
    edit: &CodeEdit,
    actor: &str,
) -> Result<StoredCode> {
    let sid = id.0;
    check_colour(&edit.colour)?;
    let mut tx = begin_write(pool).await?;
    ensure_baseline(&mut tx, sid).await?;
    let before = Tree::load(&mut tx, sid).await?;
    let old = before.node(code)?.clone();
    let codings = own_codings(&mut tx, code.0).await?;
    if !edit.codable && codings > 0 {
        return Err(invalid(format!(
            "`{}` has {codings} codings, so it must stay codable; merge it into another code or delete them first",
            old.code.path
        )));
    }
    let mut after = before.clone();
    let renamed = edit.key.as_str() != old.key;
    if renamed {
        if let Some(n) = after.nodes.get_mut(&code.0) {
            n.key = edit.key.to_string();
        }
        after.derive_paths()?;
        write_tree(&mut tx, &before, &after).await?;
    }
    let name = text::normalize(edit.name.trim());
    let new_code = Code {
        path: after.nodes[&code.0].code.path.clone(),
        name: if name.is_empty() {
            edit.key.to_string()
        } else {
            name
        },
        codable: edit.codable,
        definition: clean(&edit.definition),
        inclusion: clean(&edit.inclusion),
        exclusion: clean(&edit.exclusion),
        example: clean(&edit.example),
        colour: edit.colour.clone(),
    };
    sqlx::query(
        "UPDATE codes SET name = $1, codable = $2, definition = $3, inclusion = $4, exclusion = $5, example = $6, colour = $7 WHERE id = $8",
    )
    .bind(&new_code.name)
    .bind(new_code.codable)
    .bind(&new_code.definition)
    .bind(&new_code.inclusion)
    .bind(&new_code.exclusion)
    .bind(&new_code.example)
    .bind(&new_code.colour)
    .bind(code.0)
    .execute(&mut *tx)
    .await?;
    let mut changes = Vec::new();
    if renamed {
        changes.push(format!("path `{}` → `{}`", old.code.path, new_code.path));
    }
    let o = &old.code;
    let fields: [(&str, Option<&str>, Option<&str>); 7] = [
        ("name", Some(&o.name), Some(&new_code.name)),
        (
            "codable",
            Some(if o.codable { "yes" } else { "no" }),
            Some(if new_code.codable { "yes" } else { "no" }),
        ),
        (
            "definition",
            o.definition.as_deref(),
            new_code.definition.as_deref(),
        ),
        (
            "inclusion",
            o.inclusion.as_deref(),
            new_code.inclusion.as_deref(),
        ),
        (
            "exclusion",
            o.exclusion.as_deref(),
            new_code.exclusion.as_deref(),
        ),
        ("example", o.example.as_deref(), new_code.example.as_deref()),
        ("colour", o.colour.as_deref(), new_code.colour.as_deref()),
    ];
    for (f, a, b) in fields {
        if a != b {
            changes.push(format!(
                "{f}: {} → {}",
                a.map(|s| format!("\"{s}\"")).unwrap_or_else(|| "—".into()),
                b.map(|s| format!("\"{s}\"")).unwrap_or_else(|| "—".into())
            ));
        }
    }
    if changes.is_empty() {
        // Nothing changed: no audit event, no version.
        tx.commit().await?;
    } else {
        record(
            &mut tx,
            sid,
            actor,
            if renamed {
                "codebook.rename"
            } else {
                "codebook.edit"
            },
            format!("code:{}", new_code.path),
            changes.join("; "),
        )
        .await?;
        tx.commit().await?;
    }
    Ok(StoredCode {
        id: code,
        parent: old.parent.map(CodeId),
        code: new_code,
        codings,
    })
}

pub(super) async fn move_code(
    pool: &Pool,
    id: StudyId,
    code: CodeId,
    to: CodeMove,
    actor: &str,
) -> Result<()> {
    let sid = id.0;
    let mut tx = begin_write(pool).await?;
    ensure_baseline(&mut tx, sid).await?;
    let before = Tree::load(&mut tx, sid).await?;
    let node = before.node(code)?.clone();
    let path = node.code.path.clone();
    let sibs = before.siblings(node.parent).to_vec();
    let idx = sibs.iter().position(|&c| c == code.0).unwrap_or(0);
    let (parent, index) = match to {
        CodeMove::Up if idx > 0 => (node.parent, idx - 1),
        CodeMove::Up => {
            return Err(invalid(format!(
                "`{path}` is already the first of its siblings"
            )))
        }
        CodeMove::Down if idx + 1 < sibs.len() => (node.parent, idx + 1),
        CodeMove::Down => {
            return Err(invalid(format!(
                "`{path}` is already the last of its siblings"
            )))
        }
        CodeMove::Indent if idx > 0 => (Some(sibs[idx - 1]), usize::MAX),
        CodeMove::Indent => {
            return Err(invalid(format!(
                "`{path}` has no code before it to move under"
            )))
        }
        CodeMove::Outdent => match node.parent {
            Some(p) => {
                let gp = before.nodes[&p].parent;
                let pidx = before
                    .siblings(gp)
                    .iter()
                    .position(|&c| c == p)
                    .unwrap_or(0);
                (gp, pidx + 1)
            }
            None => return Err(invalid(format!("`{path}` is already at the top level"))),
        },
        CodeMove::To { parent, position } => {
            if let Some(p) = parent {
                before.node(p)?;
                if before.subtree(code.0).contains(&p.0) {
                    return Err(invalid(format!(
                        "`{path}` cannot move under itself or one of its sub-codes"
                    )));
                }
            }
            (parent.map(|p| p.0), position)
        }
    };
    let mut after = before.clone();
    after.detach(code.0);
    after.attach(code.0, parent, index);
    after.derive_paths()?;
    write_tree(&mut tx, &before, &after).await?;
    let new_path = after.nodes[&code.0].code.path.clone();
    let new_idx = after
        .siblings(parent)
        .iter()
        .position(|&c| c == code.0)
        .unwrap_or(0);
    let detail = if new_path == path {
        format!("`{path}`: position {} → {}", idx + 1, new_idx + 1)
    } else {
        format!("`{path}` → `{new_path}` (position {})", new_idx + 1)
    };
    record(
        &mut tx,
        sid,
        actor,
        "codebook.move",
        format!("code:{new_path}"),
        detail,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

pub(super) async fn merge_codes(
    pool: &Pool,
    id: StudyId,
    from: CodeId,
    into: CodeId,
    actor: &str,
) -> Result<MergeOutcome> {
    let sid = id.0;
    let mut tx = begin_write(pool).await?;
    ensure_baseline(&mut tx, sid).await?;
    let before = Tree::load(&mut tx, sid).await?;
    let f = before.node(from)?.clone();
    let i = before.node(into)?.clone();
    if before.subtree(from.0).contains(&into.0) {
        return Err(invalid(format!(
            "`{}` cannot be merged into itself or one of its own sub-codes (`{}`)",
            f.code.path, i.code.path
        )));
    }
    let codings = own_codings(&mut tx, from.0).await?;
    if codings > 0 && !i.code.codable {
        return Err(invalid(format!(
            "`{}` is not codable, so the {codings} codings of `{}` cannot move to it; make it codable first",
            i.code.path, f.code.path
        )));
    }
    let mut after = before.clone();
    after.detach(from.0);
    for c in before.siblings(Some(from.0)).to_vec() {
        after.detach(c);
        after.attach(c, Some(into.0), usize::MAX);
    }
    after.nodes.remove(&from.0);
    after.children.remove(&Some(from.0));
    after.derive_paths().map_err(|e| match e {
        StoreError::Invalid(m) => invalid(format!(
            "the sub-codes of `{}` cannot move under `{}`: {m}",
            f.code.path, i.code.path
        )),
        o => o,
    })?;
    // Codings the survivor has already (same coder, response, span) collapse.
    let collapsed = sqlx::query(
        "DELETE FROM codings WHERE code_id = $1 AND EXISTS (SELECT 1 FROM codings d WHERE d.code_id = $2 \
         AND d.coder_id = codings.coder_id AND d.response_id = codings.response_id \
         AND COALESCE(d.span_start, -1) = COALESCE(codings.span_start, -1) \
         AND COALESCE(d.span_end, -1) = COALESCE(codings.span_end, -1))",
    )
    .bind(from.0)
    .bind(into.0)
    .execute(&mut *tx)
    .await?
    .rows_affected() as i64;
    let moved =
        sqlx::query("UPDATE codings SET code_id = $1, version = version + 1 WHERE code_id = $2")
            .bind(into.0)
            .bind(from.0)
            .execute(&mut *tx)
            .await?
            .rows_affected() as i64;
    sqlx::query("UPDATE memos SET code_id = $1 WHERE code_id = $2")
        .bind(into.0)
        .bind(from.0)
        .execute(&mut *tx)
        .await?;
    write_tree(&mut tx, &before, &after).await?;
    sqlx::query("DELETE FROM codes WHERE id = $1")
        .bind(from.0)
        .execute(&mut *tx)
        .await?;
    record(
        &mut tx,
        sid,
        actor,
        "codebook.merge",
        format!("code:{}", f.code.path),
        format!(
            "`{}` → `{}`: {moved} codings moved, {collapsed} duplicates collapsed",
            f.code.path, i.code.path
        ),
    )
    .await?;
    tx.commit().await?;
    Ok(MergeOutcome { moved, collapsed })
}

async fn impact(conn: &mut Conn, sid: i64, code: i64) -> Result<DeleteImpact> {
    let q = |what: &str| format!("SELECT COUNT(*) FROM {what} WHERE code_id IN ({SUBTREE})");
    let codes: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM ({SUBTREE}) AS subtree"))
        .bind(code)
        .bind(sid)
        .fetch_one(&mut *conn)
        .await?;
    let codings: i64 = sqlx::query_scalar(&q("codings"))
        .bind(code)
        .bind(sid)
        .fetch_one(&mut *conn)
        .await?;
    let memos: i64 = sqlx::query_scalar(&q("memos"))
        .bind(code)
        .bind(sid)
        .fetch_one(&mut *conn)
        .await?;
    Ok(DeleteImpact {
        codes,
        codings,
        memos,
    })
}

pub(super) async fn delete_impact(pool: &Pool, id: StudyId, code: CodeId) -> Result<DeleteImpact> {
    let mut conn = pool.acquire().await?;
    let tree = Tree::load(&mut conn, id.0).await?;
    tree.node(code)?;
    impact(&mut conn, id.0, code.0).await
}

pub(super) async fn delete_code(
    pool: &Pool,
    id: StudyId,
    code: CodeId,
    actor: &str,
) -> Result<Deletion> {
    let sid = id.0;
    let mut tx = begin_write(pool).await?;
    ensure_baseline(&mut tx, sid).await?;
    let before = Tree::load(&mut tx, sid).await?;
    let root = before.node(code)?.clone();
    let index = before
        .siblings(root.parent)
        .iter()
        .position(|&c| c == code.0)
        .unwrap_or(0);
    let imp = impact(&mut tx, sid, code.0).await?;
    let codes: Vec<Value> = before
        .subtree(code.0)
        .into_iter()
        .map(|i| {
            let n = &before.nodes[&i];
            json!({"id": n.id, "parent": n.parent, "key": n.key, "code": code_json(&n.code)})
        })
        .collect();
    let codings: Vec<Value> = sqlx::query(&format!(
        "SELECT response_id, code_id, coder_id, span_start, span_end, memo, version, created_at \
         FROM codings WHERE code_id IN ({SUBTREE}) ORDER BY id"
    ))
    .bind(code.0)
    .bind(sid)
    .fetch_all(&mut *tx)
    .await?
    .into_iter()
    .map(|r| {
        json!({
            "response": r.get::<i64, _>(0), "code": r.get::<i64, _>(1), "coder": r.get::<i64, _>(2),
            "start": r.get::<Option<i64>, _>(3), "end": r.get::<Option<i64>, _>(4),
            "memo": r.get::<Option<String>, _>(5), "version": r.get::<i64, _>(6),
            "created_at": r.get::<i64, _>(7),
        })
    })
    .collect();
    let memos: Vec<Value> = sqlx::query(&format!(
        "SELECT author, code_id, text, created_at FROM memos WHERE code_id IN ({SUBTREE}) ORDER BY id"
    ))
    .bind(code.0)
    .bind(sid)
    .fetch_all(&mut *tx)
    .await?
    .into_iter()
    .map(|r| {
        json!({"author": r.get::<String, _>(0), "code": r.get::<i64, _>(1),
               "text": r.get::<String, _>(2), "created_at": r.get::<Option<i64>, _>(3)})
    })
    .collect();
    let data = json!({"parent": root.parent, "index": index, "codes": codes, "codings": codings, "memos": memos});
    let now = Timestamp::now().0;
    let del_id: i64 = sqlx::query_scalar(
        "INSERT INTO codebook_deletions (study_id, at, actor, path, data) VALUES ($1,$2,$3,$4,$5) RETURNING id",
    )
    .bind(sid)
    .bind(now)
    .bind(actor)
    .bind(root.code.path.as_str())
    .bind(data.to_string())
    .fetch_one(&mut *tx)
    .await?;
    sqlx::query("DELETE FROM codes WHERE id = $1")
        .bind(code.0)
        .execute(&mut *tx)
        .await?;
    let tree = Tree::load(&mut tx, sid).await?;
    write_tree(&mut tx, &tree, &tree).await?;
    record(
        &mut tx,
        sid,
        actor,
        "codebook.delete",
        format!("code:{}", root.code.path),
        format!(
            "`{}` → —: {} codes, {} codings, {} memos removed (undo: deletion {del_id})",
            root.code.path, imp.codes, imp.codings, imp.memos
        ),
    )
    .await?;
    tx.commit().await?;
    Ok(Deletion {
        id: del_id,
        path: root.code.path,
        impact: imp,
    })
}

pub(super) async fn undo_delete_code(
    pool: &Pool,
    id: StudyId,
    deletion: i64,
    actor: &str,
) -> Result<CodePath> {
    let sid = id.0;
    let mut tx = begin_write(pool).await?;
    ensure_baseline(&mut tx, sid).await?;
    let row = sqlx::query(
        "SELECT path, data, restored_at FROM codebook_deletions WHERE id = $1 AND study_id = $2",
    )
    .bind(deletion)
    .bind(sid)
    .fetch_optional(&mut *tx)
    .await?
    .ok_or_else(|| invalid(format!("there is no deletion {deletion} in this study")))?;
    let old_path: String = row.get(0);
    if row.get::<Option<i64>, _>(2).is_some() {
        return Err(invalid(format!(
            "the deletion of `{old_path}` was undone already"
        )));
    }
    let data: Value = serde_json::from_str(row.get::<&str, _>(1))
        .map_err(|e| invalid(format!("the stored deletion cannot be read: {e}")))?;
    let before = Tree::load(&mut tx, sid).await?;
    let root_parent = data["parent"].as_i64();
    if let Some(p) = root_parent {
        if !before.nodes.contains_key(&p) {
            return Err(invalid(format!(
                "the parent of `{old_path}` was deleted since; undo that deletion first"
            )));
        }
    }
    let index = data["index"].as_u64().unwrap_or(0) as usize;
    let empty = Vec::new();
    let mut ids: HashMap<i64, i64> = HashMap::new();
    let mut paths: HashMap<i64, String> = HashMap::new();
    let mut root_id = None;
    for c in data["codes"].as_array().unwrap_or(&empty) {
        let old_id = c["id"].as_i64().unwrap_or(0);
        let code = code_from_json(&c["code"])?;
        let key = c["key"].as_str().unwrap_or(code.path.leaf()).to_string();
        let (parent, path) = match c["parent"].as_i64() {
            Some(p) if ids.contains_key(&p) => (Some(ids[&p]), format!("{}/{key}", paths[&p])),
            _ => (
                root_parent,
                match root_parent {
                    Some(p) => format!("{}/{key}", before.nodes[&p].code.path),
                    None => key.clone(),
                },
            ),
        };
        let path = CodePath::parse(&path).map_err(invalid)?;
        if root_id.is_none() && before.nodes.values().any(|n| n.code.path == path) {
            return Err(invalid(format!(
                "`{old_path}` cannot be restored: a code `{path}` exists now; rename or delete it first"
            )));
        }
        let new_id: i64 = sqlx::query_scalar(
            "INSERT INTO codes (study_id, parent_id, position, path, name, codable, definition, inclusion, exclusion, example, colour) \
             VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11) RETURNING id",
        )
        .bind(sid)
        .bind(parent)
        .bind(i64::MAX / 2)
        .bind(path.as_str())
        .bind(&code.name)
        .bind(code.codable)
        .bind(&code.definition)
        .bind(&code.inclusion)
        .bind(&code.exclusion)
        .bind(&code.example)
        .bind(&code.colour)
        .fetch_one(&mut *tx)
        .await?;
        ids.insert(old_id, new_id);
        paths.insert(old_id, path.to_string());
        root_id.get_or_insert(new_id);
    }
    let root_id = root_id.ok_or_else(|| invalid("the stored deletion holds no code"))?;
    let loaded = Tree::load(&mut tx, sid).await?;
    let mut after = loaded.clone();
    after.detach(root_id);
    after.attach(root_id, root_parent, index);
    after.derive_paths()?;
    write_tree(&mut tx, &loaded, &after).await?;
    let mut restored = 0i64;
    for c in data["codings"].as_array().unwrap_or(&empty) {
        let Some(code_id) = c["code"].as_i64().and_then(|o| ids.get(&o)) else {
            continue;
        };
        restored += sqlx::query(
            "INSERT INTO codings (study_id, response_id, code_id, coder_id, span_start, span_end, memo, version, created_at) \
             SELECT $1,$2,$3,$4,$5,$6,$7,$8,$9 WHERE EXISTS (SELECT 1 FROM responses WHERE id = $2 AND study_id = $1) \
             AND EXISTS (SELECT 1 FROM coders WHERE id = $4 AND study_id = $1)",
        )
        .bind(sid)
        .bind(c["response"].as_i64())
        .bind(code_id)
        .bind(c["coder"].as_i64())
        .bind(c["start"].as_i64())
        .bind(c["end"].as_i64())
        .bind(c["memo"].as_str())
        .bind(c["version"].as_i64().unwrap_or(1) + 1)
        .bind(c["created_at"].as_i64().unwrap_or(0))
        .execute(&mut *tx)
        .await?
        .rows_affected() as i64;
    }
    for m in data["memos"].as_array().unwrap_or(&empty) {
        let Some(code_id) = m["code"].as_i64().and_then(|o| ids.get(&o)) else {
            continue;
        };
        sqlx::query(
            "INSERT INTO memos (study_id, author, target_kind, response_id, code_id, text, created_at) VALUES ($1,$2,'code',NULL,$3,$4,$5)",
        )
        .bind(sid)
        .bind(m["author"].as_str().unwrap_or_default())
        .bind(code_id)
        .bind(m["text"].as_str().unwrap_or_default())
        .bind(m["created_at"].as_i64())
        .execute(&mut *tx)
        .await?;
    }
    sqlx::query("UPDATE codebook_deletions SET restored_at = $1 WHERE id = $2")
        .bind(Timestamp::now().0)
        .bind(deletion)
        .execute(&mut *tx)
        .await?;
    let path = after.nodes[&root_id].code.path.clone();
    record(
        &mut tx,
        sid,
        actor,
        "codebook.restore",
        format!("code:{path}"),
        format!(
            "— → `{path}`: {} codes and {restored} codings restored (undo of deletion {deletion})",
            ids.len()
        ),
    )
    .await?;
    tx.commit().await?;
    Ok(path)
}

pub(super) async fn replace_codebook(
    pool: &Pool,
    id: StudyId,
    codes: &[Code],
    source: &str,
    actor: &str,
) -> Result<()> {
    let sid = id.0;
    let mut seen: HashMap<&str, bool> = HashMap::new();
    for c in codes {
        check_colour(&c.colour)?;
        if let Some(p) = c.path.parent() {
            if !seen.contains_key(p.as_str()) {
                return Err(invalid(format!(
                    "code `{}` comes before its parent `{p}` (or the parent is missing); nothing was changed",
                    c.path
                )));
            }
        }
        if seen.insert(c.path.as_str(), c.codable).is_some() {
            return Err(invalid(format!(
                "code `{}` appears twice; nothing was changed",
                c.path
            )));
        }
    }
    let mut tx = begin_write(pool).await?;
    ensure_baseline(&mut tx, sid).await?;
    let mut problems = Vec::new();
    for r in sqlx::query(
        "SELECT DISTINCT k.path FROM codings c JOIN codes k ON k.id = c.code_id WHERE c.study_id = $1 ORDER BY k.path",
    )
    .bind(sid)
    .fetch_all(&mut *tx)
    .await?
    {
        let p: String = r.get(0);
        match seen.get(p.as_str()) {
            Some(true) => {}
            Some(false) => problems.push(format!(
                "codings use `{p}`, which the new codebook marks not codable"
            )),
            None => problems.push(format!(
                "codings use `{p}`, which the new codebook does not have"
            )),
        }
    }
    for r in sqlx::query(
        "SELECT DISTINCT k.path FROM memos m JOIN codes k ON k.id = m.code_id WHERE m.study_id = $1 ORDER BY k.path",
    )
    .bind(sid)
    .fetch_all(&mut *tx)
    .await?
    {
        let p: String = r.get(0);
        if !seen.contains_key(p.as_str()) {
            problems.push(format!(
                "a memo is about `{p}`, which the new codebook does not have"
            ));
        }
    }
    if !problems.is_empty() {
        problems.truncate(20);
        return Err(invalid(format!(
            "{}; nothing was changed (add those codes to the new codebook, or merge them away first)",
            problems.join("; ")
        )));
    }
    let old = Tree::load(&mut tx, sid).await?;
    let old_ids: HashMap<String, i64> = old
        .nodes
        .values()
        .map(|n| (n.code.path.to_string(), n.id))
        .collect();
    let mut kept: HashMap<&str, i64> = HashMap::new();
    for (pos, c) in codes.iter().enumerate() {
        let parent = c.path.parent().map(|p| kept[p.as_str()]);
        let id = match old_ids.get(c.path.as_str()) {
            Some(&id) => {
                sqlx::query(
                    "UPDATE codes SET parent_id = $1, position = $2, name = $3, codable = $4, definition = $5, \
                     inclusion = $6, exclusion = $7, example = $8, colour = $9 WHERE id = $10",
                )
                .bind(parent)
                .bind(pos as i64)
                .bind(&c.name)
                .bind(c.codable)
                .bind(&c.definition)
                .bind(&c.inclusion)
                .bind(&c.exclusion)
                .bind(&c.example)
                .bind(&c.colour)
                .bind(id)
                .execute(&mut *tx)
                .await?;
                id
            }
            None => {
                sqlx::query_scalar(
                    "INSERT INTO codes (study_id, parent_id, position, path, name, codable, definition, inclusion, exclusion, example, colour) \
                     VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11) RETURNING id",
                )
                .bind(sid)
                .bind(parent)
                .bind(pos as i64)
                .bind(c.path.as_str())
                .bind(&c.name)
                .bind(c.codable)
                .bind(&c.definition)
                .bind(&c.inclusion)
                .bind(&c.exclusion)
                .bind(&c.example)
                .bind(&c.colour)
                .fetch_one(&mut *tx)
                .await?
            }
        };
        kept.insert(c.path.as_str(), id);
    }
    let keep: HashSet<i64> = kept.values().copied().collect();
    for n in old.nodes.values().filter(|n| !keep.contains(&n.id)) {
        sqlx::query("DELETE FROM codes WHERE id = $1")
            .bind(n.id)
            .execute(&mut *tx)
            .await?;
    }
    record(
        &mut tx,
        sid,
        actor,
        "codebook.replace",
        "codebook".into(),
        format!(
            "{} codes → {} codes from {source}",
            old.nodes.len(),
            codes.len()
        ),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

pub(super) async fn codebook_versions(pool: &Pool, id: StudyId) -> Result<Vec<CodebookVersion>> {
    let rows = sqlx::query(
        "SELECT id, at, actor, action, detail, codes FROM codebook_versions WHERE study_id = $1 ORDER BY at, id",
    )
    .bind(id.0)
    .fetch_all(pool)
    .await?;
    rows.into_iter()
        .map(|r| {
            let codes: Value = serde_json::from_str(r.get::<&str, _>(5))
                .map_err(|e| invalid(format!("a stored codebook version cannot be read: {e}")))?;
            Ok(CodebookVersion {
                id: r.get(0),
                at: Timestamp(r.get(1)),
                actor: r.get(2),
                action: r.get(3),
                detail: r.get(4),
                codes: codes.as_array().map(|a| a.len()).unwrap_or(0),
            })
        })
        .collect()
}

pub(super) async fn codebook_as_of(
    pool: &Pool,
    id: StudyId,
    at: Timestamp,
) -> Result<Option<Vec<Code>>> {
    let mut conn = pool.acquire().await?;
    let created = study_exists(&mut conn, id.0).await?;
    if at.0 < created {
        return Ok(None);
    }
    let snap: Option<String> = sqlx::query_scalar(
        "SELECT codes FROM codebook_versions WHERE study_id = $1 AND at <= $2 ORDER BY at DESC, id DESC LIMIT 1",
    )
    .bind(id.0)
    .bind(at.0)
    .fetch_optional(&mut *conn)
    .await?;
    match snap {
        Some(s) => {
            let v: Value = serde_json::from_str(&s)
                .map_err(|e| invalid(format!("a stored codebook version cannot be read: {e}")))?;
            v.as_array()
                .map(|a| a.iter().map(code_from_json).collect::<Result<Vec<_>>>())
                .transpose()
        }
        // No change was ever made: the codebook is as it is now.
        None => Ok(Some(Tree::load(&mut conn, id.0).await?.codes())),
    }
}

pub(super) async fn save_consensus(
    pool: &Pool,
    id: StudyId,
    response: &ResponseKey,
    codings: &[ConsensusCoding],
    note: &str,
    actor: &str,
) -> Result<()> {
    let sid = id.0;
    let mut tx = begin_write(pool).await?;
    lock_study(&mut tx, sid).await?;
    let row = sqlx::query(
        "SELECT r.id, r.text FROM responses r JOIN participants p ON p.id = r.participant_id \
         JOIN questions q ON q.id = r.question_id LEFT JOIN segments s ON s.id = r.segment_id \
         WHERE r.study_id = $1 AND p.code = $2 AND q.key = $3 AND COALESCE(s.key, '') = $4",
    )
    .bind(sid)
    .bind(response.participant.as_str())
    .bind(response.question.as_str())
    .bind(response.segment.as_ref().map(|k| k.as_str()).unwrap_or(""))
    .fetch_optional(&mut *tx)
    .await?
    .ok_or_else(|| invalid(format!("there is no response {response} in this study")))?;
    let rid: i64 = row.get(0);
    let len = row
        .get::<Option<String>, _>(1)
        .map(|t| t.chars().count())
        .ok_or_else(|| invalid(format!("response {response} is not an open answer")))?;
    let mut code_ids = HashMap::new();
    let mut wanted: Vec<&ConsensusCoding> = codings.iter().collect();
    wanted.sort();
    wanted.dedup();
    for c in &wanted {
        if let Some(s) = c.span {
            if s.start >= s.end || s.end > len {
                return Err(invalid(format!(
                    "the span {}–{} of `{}` is not within the answer (0–{len} code points)",
                    s.start, s.end, c.code
                )));
            }
        }
        let r = sqlx::query("SELECT id, codable FROM codes WHERE study_id = $1 AND path = $2")
            .bind(sid)
            .bind(c.code.as_str())
            .fetch_optional(&mut *tx)
            .await?
            .ok_or_else(|| invalid(format!("there is no code `{}` in the codebook", c.code)))?;
        if !r.get::<bool, _>(1) {
            return Err(invalid(format!(
                "`{}` is a category that is not codable; apply one of its themes",
                c.code
            )));
        }
        code_ids.insert(c.code.clone(), r.get::<i64, _>(0));
    }
    let coder: i64 = match sqlx::query_scalar::<_, i64>(
        "SELECT id FROM coders WHERE study_id = $1 AND name = $2",
    )
    .bind(sid)
    .bind(CONSENSUS)
    .fetch_optional(&mut *tx)
    .await?
    {
        Some(c) => c,
        None => {
            sqlx::query_scalar(
                "INSERT INTO coders (study_id, position, name) VALUES ($1, (SELECT COALESCE(MAX(position), -1) + 1 FROM coders WHERE study_id = $1), $2) RETURNING id",
            )
            .bind(sid)
            .bind(CONSENSUS)
            .fetch_one(&mut *tx)
            .await?
        }
    };
    let describe = |path: &str, a: Option<i64>, b: Option<i64>| match (a, b) {
        (Some(a), Some(b)) => format!("{path} [{a}–{b}]"),
        _ => path.to_string(),
    };
    let before: Vec<String> = sqlx::query(
        "SELECT k.path, c.span_start, c.span_end FROM codings c JOIN codes k ON k.id = c.code_id \
         WHERE c.response_id = $1 AND c.coder_id = $2 ORDER BY k.position, c.span_start",
    )
    .bind(rid)
    .bind(coder)
    .fetch_all(&mut *tx)
    .await?
    .into_iter()
    .map(|r| describe(r.get::<&str, _>(0), r.get(1), r.get(2)))
    .collect();
    sqlx::query("DELETE FROM codings WHERE response_id = $1 AND coder_id = $2")
        .bind(rid)
        .bind(coder)
        .execute(&mut *tx)
        .await?;
    let now = Timestamp::now().0;
    for c in &wanted {
        sqlx::query(
            "INSERT INTO codings (study_id, response_id, code_id, coder_id, span_start, span_end, created_at) VALUES ($1,$2,$3,$4,$5,$6,$7)",
        )
        .bind(sid)
        .bind(rid)
        .bind(code_ids[&c.code])
        .bind(coder)
        .bind(c.span.map(|s| s.start as i64))
        .bind(c.span.map(|s| s.end as i64))
        .bind(now)
        .execute(&mut *tx)
        .await?;
    }
    let old_note: Option<String> = sqlx::query_scalar(
        "SELECT text FROM memos WHERE study_id = $1 AND target_kind = 'response' AND response_id = $2 AND author = $3",
    )
    .bind(sid)
    .bind(rid)
    .bind(CONSENSUS)
    .fetch_optional(&mut *tx)
    .await?;
    let note = text::normalize(note.trim());
    if old_note.as_deref().unwrap_or("") != note {
        sqlx::query(
            "DELETE FROM memos WHERE study_id = $1 AND target_kind = 'response' AND response_id = $2 AND author = $3",
        )
        .bind(sid)
        .bind(rid)
        .bind(CONSENSUS)
        .execute(&mut *tx)
        .await?;
        if !note.is_empty() {
            sqlx::query(
                "INSERT INTO memos (study_id, author, target_kind, response_id, code_id, text, created_at) VALUES ($1,$2,'response',$3,NULL,$4,$5)",
            )
            .bind(sid)
            .bind(CONSENSUS)
            .bind(rid)
            .bind(&note)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
    }
    let after: Vec<String> = wanted
        .iter()
        .map(|c| {
            describe(
                c.code.as_str(),
                c.span.map(|s| s.start as i64),
                c.span.map(|s| s.end as i64),
            )
        })
        .collect();
    let list = |v: &[String]| {
        if v.is_empty() {
            "—".to_string()
        } else {
            v.join(", ")
        }
    };
    let note_change = match (old_note.as_deref().unwrap_or(""), note.as_str()) {
        (a, b) if a == b => "",
        ("", _) => "; discussion note added",
        (_, "") => "; discussion note removed",
        _ => "; discussion note changed",
    };
    insert_audit(
        &mut tx,
        sid,
        &AuditEvent {
            at: Timestamp(now),
            actor: actor.to_string(),
            action: "consensus.save".into(),
            entity: format!("response:{response}"),
            detail: format!("{} → {}{note_change}", list(&before), list(&after)),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(())
}
