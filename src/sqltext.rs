//! Lexical helpers over SQL text: statement splitting that respects quotes, dollar
//! quotes and comments, locations in sqlparser's error messages, and the one entry
//! to sqlparser, which refuses expressions too deep to walk.

use std::ops::Range;

use sqlparser::ast::{Ident, ObjectName, Statement};
use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::keywords::Keyword;
use sqlparser::parser::{Parser, ParserError};
use sqlparser::tokenizer::{Location, Token, TokenWithSpan, Tokenizer};

/// How deep an expression may nest, as [`depth_exceeded`] counts it. The parser builds
/// an operator chain (`a + b + …`, `x AND y AND …`) without recursing, but each link is
/// one more level of the tree, and everything that walks the tree afterwards (the
/// analyzer, sqlparser's own span and drop code) recurses once per level. A thousand is
/// far beyond hand-written SQL and well inside the analysis threads' stacks.
pub const MAX_DEPTH: usize = 1000;

/// The stack of a thread that walks parsed SQL: enough for [`MAX_DEPTH`] levels in an
/// unoptimized build, where each level of the analyzer's recursion costs several times
/// what it costs optimized.
const WALK_STACK: usize = 32 << 20;

/// Runs `f` on a thread with a stack for walking trees [`MAX_DEPTH`] deep, whatever
/// thread calls (a test's is 2 MiB). Falls back to the caller's thread when no thread
/// can be started.
pub fn on_walk_stack<R: Send>(f: impl FnOnce() -> R + Send) -> R {
    let mut slot = Some(f);
    let out = std::thread::scope(|s| {
        spawn_walker(s, || slot.take().map(|f| f()))
            .ok()
            .map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
    });
    match (out, slot.take()) {
        (Some(Some(r)), _) => r,
        (_, Some(f)) => f(),
        (_, None) => unreachable!("the thread took the closure and returned its result"),
    }
}

/// Spawns `f` in scope `s` on a thread like [`on_walk_stack`]'s.
pub fn spawn_walker<'scope, R: Send + 'scope>(
    s: &'scope std::thread::Scope<'scope, '_>,
    f: impl FnOnce() -> R + Send + 'scope,
) -> std::io::Result<std::thread::ScopedJoinHandle<'scope, R>> {
    std::thread::Builder::new()
        .stack_size(WALK_STACK)
        .spawn_scoped(s, f)
}

/// Why SQL text did not become statements.
#[derive(Debug)]
pub enum ParseFailure {
    /// sqlparser's own error; its message ends in the location.
    Syntax(ParserError),
    /// An expression nests deeper than [`MAX_DEPTH`]; 1-based line and column of the
    /// token that crossed the limit.
    TooDeep { line: u32, column: u32 },
}

/// Parses PostgreSQL text, refusing it before the parse when an expression in it nests
/// deeper than [`MAX_DEPTH`].
pub fn parse(sql: &str) -> Result<Vec<Statement>, ParseFailure> {
    parse_query(sql).map(|(statements, _)| statements)
}

/// An INSERT's `OVERRIDING SYSTEM VALUE` or `OVERRIDING USER VALUE`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Overriding {
    /// The values given for a `GENERATED ALWAYS AS IDENTITY` column are taken.
    System,
    /// The values given for an identity column are ignored: the sequence numbers it.
    User,
}

/// Where an `OVERRIDING` clause was: the location of the `INSERT` keyword it belongs to.
pub type OverridingAt = (Location, Overriding);

/// [`parse`], and the `OVERRIDING` clauses sqlparser does not read, by the INSERT each
/// belongs to.
pub fn parse_query(sql: &str) -> Result<(Vec<Statement>, Vec<OverridingAt>), ParseFailure> {
    let dialect = PostgreSqlDialect {};
    let mut tokens = Tokenizer::new(&dialect, sql)
        .tokenize_with_location()
        .map_err(|e| ParseFailure::Syntax(e.into()))?;
    let overriding = postgres_forms(&mut tokens);
    parse_tokens(tokens).map(|statements| (statements, overriding))
}

/// Rewrites the forms of PostgreSQL that sqlparser does not read in statements of any
/// kind, and returns the `OVERRIDING` clauses it took out.
fn postgres_forms(tokens: &mut Vec<TokenWithSpan>) -> Vec<OverridingAt> {
    row_locks(tokens);
    conflict_target_predicates(tokens);
    domain_nulls(tokens);
    between_symmetric(tokens);
    frame_exclusions(tokens);
    merge_default_values(tokens);
    overriding_clauses(tokens)
}

/// Lets sqlparser read a MERGE's `THEN INSERT DEFAULT VALUES`, which it does not know:
/// it is read as `THEN INSERT VALUES (DEFAULT)`, which fills the row with defaults just
/// as well (the SQL sent to the server is the text as written).
fn merge_default_values(tokens: &mut Vec<TokenWithSpan>) {
    if !tokens.iter().any(|t| is_keyword(t, Keyword::DEFAULT)) {
        return;
    }
    let words = words_of(tokens);
    let mut at = Vec::new();
    for w in words.windows(4) {
        if is_keyword(&tokens[w[0]], Keyword::THEN)
            && is_keyword(&tokens[w[1]], Keyword::INSERT)
            && is_keyword(&tokens[w[2]], Keyword::DEFAULT)
            && is_keyword(&tokens[w[3]], Keyword::VALUES)
        {
            at.push((w[2], w[3]));
        }
    }
    // From the last, so that the earlier indices hold.
    for (default, values) in at.into_iter().rev() {
        let span = tokens[default].span;
        let word = tokens[default].clone();
        let values_token = tokens[values].clone();
        let with = |token| TokenWithSpan { token, span };
        tokens.splice(
            default..=values,
            [values_token, with(Token::LParen), word, with(Token::RParen)],
        );
    }
}

/// The statements of `tokens`, refused before the parse when an expression in them
/// nests deeper than [`MAX_DEPTH`].
fn parse_tokens(tokens: Vec<TokenWithSpan>) -> Result<Vec<Statement>, ParseFailure> {
    if let Some(at) = depth_exceeded(&tokens) {
        return Err(ParseFailure::TooDeep {
            line: at.start.line as u32,
            column: at.start.column as u32,
        });
    }
    Parser::new(&PostgreSqlDialect {})
        .with_tokens_with_locations(tokens)
        .parse_statements()
        .map_err(ParseFailure::Syntax)
}

/// What a schema statement holds that sqlparser does not read.
#[derive(Debug)]
pub enum SchemaStatement {
    /// Parsed statements, with what was taken out of a CREATE TABLE's list.
    Parsed(Vec<Statement>, TableExtras),
    /// `ALTER TABLE ... ATTACH PARTITION`, `DETACH PARTITION`, `INHERIT` or `NO INHERIT`.
    Link(TableLink),
}

/// What sqlparser does not read of a CREATE TABLE's list.
#[derive(Debug, Default)]
pub struct TableExtras {
    /// Its `LIKE` elements, in order.
    pub likes: Vec<TableLike>,
    /// The names a `CREATE TABLE name (a, b) AS ...` gives the query's columns.
    pub names: Vec<Ident>,
}

/// A `LIKE source [INCLUDING ...]` element of a CREATE TABLE's list.
#[derive(Debug)]
pub struct TableLike {
    pub source: ObjectName,
    /// How many column definitions come before it in the list.
    pub position: usize,
    /// What `INCLUDING` copies besides the columns, their types and NOT NULL
    /// (`INCLUDING ALL` is all of them; a later `EXCLUDING` takes one back).
    pub defaults: bool,
    pub identity: bool,
    pub generated: bool,
    /// Indexes: the primary key, for the catalog.
    pub indexes: bool,
}

/// A change to which table takes its columns from which.
#[derive(Debug)]
pub struct TableLink {
    /// The table the ALTER TABLE names.
    pub table: ObjectName,
    pub if_exists: bool,
    /// The partition, or the parent the table is to inherit from (or no longer).
    pub other: ObjectName,
    pub kind: LinkKind,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinkKind {
    /// `ALTER TABLE parent ATTACH PARTITION other ...`
    Attach,
    /// `ALTER TABLE parent DETACH PARTITION other [CONCURRENTLY | FINALIZE]`
    Detach,
    /// `ALTER TABLE child INHERIT other`
    Inherit,
    /// `ALTER TABLE child NO INHERIT other`
    NoInherit,
}

/// Parses a schema statement: [`parse`], after taking out what sqlparser does not read
/// of PostgreSQL's DDL: a CREATE TABLE's `LIKE` elements, returned beside the
/// statements, and the ALTER TABLE forms that link a table to a parent, returned
/// instead of them.
pub fn parse_schema(sql: &str) -> Result<SchemaStatement, ParseFailure> {
    let dialect = PostgreSqlDialect {};
    let mut tokens = Tokenizer::new(&dialect, sql)
        .tokenize_with_location()
        .map_err(|e| ParseFailure::Syntax(e.into()))?;
    if let Some(link) = table_link(&tokens) {
        return Ok(SchemaStatement::Link(link));
    }
    let extras = TableExtras {
        names: table_as_names(&mut tokens),
        likes: table_likes(&mut tokens),
    };
    postgres_forms(&mut tokens);
    parse_tokens(tokens).map(|s| SchemaStatement::Parsed(s, extras))
}

/// The identifier `t` is, when it is a word.
fn word_ident(t: &TokenWithSpan) -> Option<Ident> {
    let Token::Word(word) = &t.token else {
        return None;
    };
    Some(Ident {
        value: word.value.clone(),
        quote_style: word.quote_style,
        span: t.span,
    })
}

/// The dotted name at `words[w..]`, and the index of the word after it.
fn object_name(
    tokens: &[TokenWithSpan],
    words: &[usize],
    mut w: usize,
) -> Option<(ObjectName, usize)> {
    let mut parts = Vec::new();
    loop {
        parts.push(word_ident(&tokens[*words.get(w)?])?);
        match words.get(w + 1).map(|&i| &tokens[i].token) {
            Some(Token::Period) => w += 2,
            _ => return Some((ObjectName::from(parts), w + 1)),
        }
    }
}

/// `ALTER TABLE [IF EXISTS] [ONLY] t ATTACH PARTITION p ...`, `... DETACH PARTITION p
/// [CONCURRENTLY | FINALIZE]`, `... INHERIT p` or `... NO INHERIT p`, alone in the
/// statement (PostgreSQL takes no other action beside the first two).
fn table_link(tokens: &[TokenWithSpan]) -> Option<TableLink> {
    let words: Vec<usize> = words_of(tokens)
        .into_iter()
        .filter(|&i| tokens[i].token != Token::SemiColon)
        .collect();
    let kw = |w: usize, k: Keyword| words.get(w).is_some_and(|&i| is_keyword(&tokens[i], k));
    if !(kw(0, Keyword::ALTER) && kw(1, Keyword::TABLE)) {
        return None;
    }
    let mut w = 2;
    let if_exists = kw(w, Keyword::IF) && kw(w + 1, Keyword::EXISTS);
    if if_exists {
        w += 2;
    }
    if kw(w, Keyword::ONLY) {
        w += 1;
    }
    let (table, mut w) = object_name(tokens, &words, w)?;
    let kind = if kw(w, Keyword::ATTACH) && kw(w + 1, Keyword::PARTITION) {
        w += 2;
        LinkKind::Attach
    } else if kw(w, Keyword::DETACH) && kw(w + 1, Keyword::PARTITION) {
        w += 2;
        LinkKind::Detach
    } else if kw(w, Keyword::INHERIT) {
        w += 1;
        LinkKind::Inherit
    } else if kw(w, Keyword::NO) && kw(w + 1, Keyword::INHERIT) {
        w += 2;
        LinkKind::NoInherit
    } else {
        return None;
    };
    let (other, w) = object_name(tokens, &words, w)?;
    // What may follow: the partition's bounds, or how it is detached.
    let end = match kind {
        LinkKind::Attach => {
            (kw(w, Keyword::FOR) && kw(w + 1, Keyword::VALUES)) || kw(w, Keyword::DEFAULT)
        }
        LinkKind::Detach => {
            w == words.len()
                || (w + 1 == words.len()
                    && (kw(w, Keyword::CONCURRENTLY)
                        || words
                            .get(w)
                            .is_some_and(|&i| is_word(&tokens[i], "FINALIZE"))))
        }
        LinkKind::Inherit | LinkKind::NoInherit => w == words.len(),
    };
    end.then_some(TableLink {
        table,
        if_exists,
        other,
        kind,
    })
}

/// The index in `words` of the `(` that opens a CREATE TABLE's list: `CREATE [GLOBAL |
/// LOCAL] [TEMP | TEMPORARY | UNLOGGED] TABLE [IF NOT EXISTS] name (`.
fn table_list(tokens: &[TokenWithSpan], words: &[usize]) -> Option<usize> {
    let kw = |w: usize, k: Keyword| words.get(w).is_some_and(|&i| is_keyword(&tokens[i], k));
    if !kw(0, Keyword::CREATE) {
        return None;
    }
    let mut w = (1..4).find(|&w| kw(w, Keyword::TABLE))? + 1;
    if kw(w, Keyword::IF) && kw(w + 1, Keyword::NOT) && kw(w + 2, Keyword::EXISTS) {
        w += 3;
    }
    let (_, w) = object_name(tokens, words, w)?;
    (words.get(w).map(|&i| &tokens[i].token) == Some(&Token::LParen)).then_some(w)
}

/// Takes out the list of names of `CREATE TABLE name (a, b) AS ...` (names alone,
/// which no other CREATE TABLE has), which sqlparser reads as columns without types.
fn table_as_names(tokens: &mut Vec<TokenWithSpan>) -> Vec<Ident> {
    let words = words_of(tokens);
    let Some(open) = table_list(tokens, &words) else {
        return Vec::new();
    };
    let mut names = Vec::new();
    let mut w = open + 1;
    loop {
        let Some(name) = words.get(w).and_then(|&i| word_ident(&tokens[i])) else {
            return Vec::new();
        };
        names.push(name);
        match words.get(w + 1).map(|&i| &tokens[i].token) {
            Some(Token::Comma) => w += 2,
            Some(Token::RParen) => break,
            _ => return Vec::new(),
        }
    }
    let close = words[w + 1];
    let is_as = words
        .get(w + 2)
        .is_some_and(|&i| is_keyword(&tokens[i], Keyword::AS));
    if !is_as {
        return Vec::new();
    }
    tokens.drain(words[open]..=close);
    names
}

/// Takes the `LIKE source [{INCLUDING | EXCLUDING} option ...]` elements out of a
/// CREATE TABLE's list (sqlparser reads a LIKE only alone in the list, and without its
/// options), with the comma that separates each from the rest. An element it does not
/// read whole stays, and so does its parse error.
fn table_likes(tokens: &mut Vec<TokenWithSpan>) -> Vec<TableLike> {
    if !tokens.iter().any(|t| is_keyword(t, Keyword::LIKE)) {
        return Vec::new();
    }
    let words = words_of(tokens);
    let kw = |w: usize, k: Keyword| words.get(w).is_some_and(|&i| is_keyword(&tokens[i], k));
    let Some(w) = table_list(tokens, &words) else {
        return Vec::new();
    };
    // The list's elements: ranges of `words`, split at the commas of the list's level.
    let mut elements = Vec::new();
    let mut commas = Vec::new();
    let (mut depth, mut start) = (0usize, w + 1);
    for (k, &i) in words.iter().enumerate().skip(w) {
        match tokens[i].token {
            Token::LParen => depth += 1,
            Token::RParen => {
                depth -= 1;
                if depth == 0 {
                    elements.push(start..k);
                    break;
                }
            }
            Token::Comma if depth == 1 => {
                elements.push(start..k);
                commas.push(words[k]);
                start = k + 1;
            }
            _ => {}
        }
    }
    let mut likes = Vec::new();
    let mut kept = vec![true; elements.len()];
    let mut drop = vec![false; tokens.len()];
    let mut columns = 0;
    for (e, range) in elements.iter().enumerate() {
        let first = range.start;
        if !kw(first, Keyword::LIKE) {
            // A constraint's first word; `exclude` names a column unless USING or `(`
            // follows, as it may in PostgreSQL.
            let next = words.get(first + 1).map(|&i| &tokens[i]);
            let exclusion = kw(first, Keyword::EXCLUDE)
                && next.is_some_and(|t| t.token == Token::LParen || is_keyword(t, Keyword::USING));
            let constraint = exclusion
                || [
                    Keyword::CONSTRAINT,
                    Keyword::PRIMARY,
                    Keyword::UNIQUE,
                    Keyword::CHECK,
                    Keyword::FOREIGN,
                ]
                .into_iter()
                .any(|k| kw(first, k));
            columns += usize::from(!constraint && !range.is_empty());
            continue;
        }
        let Some(like) = like_element(tokens, &words, range.clone(), columns) else {
            continue;
        };
        likes.push(like);
        kept[e] = false;
        drop[words[range.start]..=words[range.end - 1]]
            .iter_mut()
            .for_each(|d| *d = true);
    }
    if likes.is_empty() {
        return likes;
    }
    // A comma stays only after an element that stays, and before another that does.
    for (e, &comma) in commas.iter().enumerate() {
        drop[comma] = !(kept[e] && kept[e + 1..].iter().any(|&k| k));
    }
    let mut drop = drop.into_iter();
    tokens.retain(|_| !drop.next().unwrap_or(false));
    likes
}

/// The LIKE element at `words[range]`, when it is read whole.
fn like_element(
    tokens: &[TokenWithSpan],
    words: &[usize],
    range: Range<usize>,
    position: usize,
) -> Option<TableLike> {
    let (source, mut w) = object_name(tokens, words, range.start + 1)?;
    if w > range.end {
        return None;
    }
    let mut like = TableLike {
        source,
        position,
        defaults: false,
        identity: false,
        generated: false,
        indexes: false,
    };
    while w < range.end {
        let including = match &tokens[words[w]] {
            t if is_word(t, "INCLUDING") => true,
            t if is_keyword(t, Keyword::EXCLUDING) => false,
            _ => return None,
        };
        let option = words.get(w + 1).filter(|_| w + 1 < range.end)?;
        let Token::Word(o) = &tokens[*option].token else {
            return None;
        };
        match o.value.to_ascii_uppercase().as_str() {
            "DEFAULTS" => like.defaults = including,
            "IDENTITY" => like.identity = including,
            "GENERATED" => like.generated = including,
            "INDEXES" => like.indexes = including,
            "ALL" => {
                like.defaults = including;
                like.identity = including;
                like.generated = including;
                like.indexes = including;
            }
            "COMMENTS" | "COMPRESSION" | "CONSTRAINTS" | "STATISTICS" | "STORAGE" => {}
            _ => return None,
        }
        w += 2;
    }
    Some(like)
}

/// `t` is the unquoted word `w`, which sqlparser knows as no keyword.
fn is_word(t: &TokenWithSpan, w: &str) -> bool {
    matches!(&t.token, Token::Word(x) if x.quote_style.is_none() && x.value.eq_ignore_ascii_case(w))
}

/// Lets sqlparser read an INSERT's `OVERRIDING SYSTEM VALUE` / `OVERRIDING USER VALUE`
/// (also a MERGE's INSERT), which it does not know: the three words are dropped, and
/// each clause is returned with the location of the `INSERT` it follows, for the
/// analysis (a value for an identity column is then allowed). A clause that follows no
/// INSERT stays, and so does its parse error.
fn overriding_clauses(tokens: &mut Vec<TokenWithSpan>) -> Vec<OverridingAt> {
    if !tokens.iter().any(|t| is_word(t, "OVERRIDING")) {
        return Vec::new();
    }
    let words = words_of(tokens);
    let mut found = Vec::new();
    let mut drop = vec![false; tokens.len()];
    let mut insert = None;
    for (w, &i) in words.iter().enumerate() {
        // The keyword of a statement (`INSERT INTO`) or of a MERGE action (`THEN
        // INSERT`), not a column so named.
        let next = words.get(w + 1).map(|&j| &tokens[j]);
        if is_keyword(&tokens[i], Keyword::INSERT)
            && (next.is_some_and(|t| is_keyword(t, Keyword::INTO))
                || (w > 0 && is_keyword(&tokens[words[w - 1]], Keyword::THEN)))
        {
            insert = Some(tokens[i].span.start);
        }
        if tokens[i].token == Token::SemiColon {
            insert = None;
        }
        if !is_word(&tokens[i], "OVERRIDING") {
            continue;
        }
        let which = match words.get(w + 1).map(|&j| &tokens[j]) {
            Some(t) if is_keyword(t, Keyword::SYSTEM) => Overriding::System,
            Some(t) if is_keyword(t, Keyword::USER) => Overriding::User,
            _ => continue,
        };
        let (Some(at), Some(&last)) = (insert, words.get(w + 2)) else {
            continue;
        };
        if !is_keyword(&tokens[last], Keyword::VALUE) {
            continue;
        }
        drop[i..=last].iter_mut().for_each(|d| *d = true);
        found.push((at, which));
    }
    if !found.is_empty() {
        let src = std::mem::take(tokens);
        tokens.extend(
            src.into_iter()
                .zip(drop)
                .filter_map(|(t, d)| (!d).then_some(t)),
        );
    }
    found
}

/// `t` is keyword `k`, unquoted (`"key"` names a column).
fn is_keyword(t: &TokenWithSpan, k: Keyword) -> bool {
    matches!(&t.token, Token::Word(w) if w.keyword == k && w.quote_style.is_none())
}

/// The indices of the tokens that are not whitespace.
fn words_of(tokens: &[TokenWithSpan]) -> Vec<usize> {
    (0..tokens.len())
        .filter(|&i| !matches!(tokens[i].token, Token::Whitespace(_)))
        .collect()
}

/// Lets sqlparser read PostgreSQL's locking clauses as PostgreSQL writes them. It
/// knows `FOR UPDATE` and `FOR SHARE` with one table after `OF`; PostgreSQL also has
/// the weaker `FOR NO KEY UPDATE` and `FOR KEY SHARE`, and a list of tables after `OF`.
/// So `NO KEY` and `KEY` are dropped from the tokens, and each comma of an `OF` list
/// becomes a clause of its own (`FOR UPDATE OF a, b` is read as `FOR UPDATE OF a FOR
/// UPDATE OF b`, the words placed at the comma). Every token of the text keeps its
/// place. Each strength takes row locks, which is all the analysis reads of a locking
/// clause; the SQL sent to the server is the text as written.
fn row_locks(tokens: &mut Vec<TokenWithSpan>) {
    if !tokens.iter().any(|t| is_keyword(t, Keyword::FOR)) {
        return;
    }
    let src = std::mem::take(tokens);
    let words = words_of(&src);
    let word = |w: usize, k: Keyword| words.get(w).is_some_and(|&i| is_keyword(&src[i], k));
    let mut drop = vec![false; src.len()];
    // Commas that separate the tables of an `OF` list, and the clause's strength.
    let mut split: Vec<(usize, Keyword)> = Vec::new();
    let mut w = 0;
    while w < words.len() {
        if !word(w, Keyword::FOR) {
            w += 1;
            continue;
        }
        // The strength and how many words after FOR spell it.
        let (strength, len) = if word(w + 1, Keyword::UPDATE) {
            (Keyword::UPDATE, 1)
        } else if word(w + 1, Keyword::SHARE) {
            (Keyword::SHARE, 1)
        } else if word(w + 1, Keyword::NO)
            && word(w + 2, Keyword::KEY)
            && word(w + 3, Keyword::UPDATE)
        {
            (Keyword::UPDATE, 3)
        } else if word(w + 1, Keyword::KEY) && word(w + 2, Keyword::SHARE) {
            (Keyword::SHARE, 2)
        } else {
            w += 1;
            continue;
        };
        if len > 1 {
            // `NO KEY` / `KEY` and the space after them, up to UPDATE / SHARE.
            drop[words[w + 1]..words[w + len]]
                .iter_mut()
                .for_each(|d| *d = true);
        }
        w += 1 + len;
        if !word(w, Keyword::OF) {
            continue;
        }
        w += 1;
        // The list: names (`a`, `s.a`) separated by commas.
        let token = |w: usize| words.get(w).map(|&i| &src[i].token);
        while matches!(token(w), Some(Token::Word(_))) {
            w += 1;
            while matches!(token(w), Some(Token::Period))
                && matches!(token(w + 1), Some(Token::Word(_)))
            {
                w += 2;
            }
            if !matches!(token(w), Some(Token::Comma)) {
                break;
            }
            split.push((words[w], strength));
            w += 1;
        }
    }
    let mut split = split.into_iter().peekable();
    for (i, t) in src.into_iter().enumerate() {
        match split.peek() {
            Some(&(at, strength)) if at == i => {
                split.next();
                let kw = if strength == Keyword::UPDATE {
                    "UPDATE"
                } else {
                    "SHARE"
                };
                for part in ["FOR", " ", kw, " ", "OF", " "] {
                    let token = if part == " " {
                        Token::Whitespace(sqlparser::tokenizer::Whitespace::Space)
                    } else {
                        Token::make_keyword(part)
                    };
                    tokens.push(TokenWithSpan {
                        token,
                        span: t.span,
                    });
                }
            }
            _ if drop[i] => {}
            _ => tokens.push(t),
        }
    }
}

/// Lets sqlparser read `CREATE DOMAIN d AS t NOT NULL` (or `NULL`), constraints it
/// does not know: `[CONSTRAINT name] NOT NULL` becomes `[CONSTRAINT name] CHECK (VALUE
/// IS NOT NULL)`, which PostgreSQL enforces alike, and `NULL` (the default) is dropped.
/// `DEFAULT NULL` and what parentheses hold stay as written.
fn domain_nulls(tokens: &mut Vec<TokenWithSpan>) {
    // Every query passes here: a glance at its first words before any allocation.
    let mut lead = tokens
        .iter()
        .filter(|t| !matches!(t.token, Token::Whitespace(_)));
    if !(lead.next().is_some_and(|t| is_keyword(t, Keyword::CREATE))
        && lead.next().is_some_and(|t| is_keyword(t, Keyword::DOMAIN)))
    {
        return;
    }
    let words = words_of(tokens);
    let word = |w: usize, k: Keyword| words.get(w).is_some_and(|&i| is_keyword(&tokens[i], k));
    let mut depth = 0usize;
    // Token index -> what it becomes (nothing, to drop it).
    let mut edits: Vec<(usize, Vec<Token>)> = Vec::new();
    let mut w = 2;
    while w < words.len() {
        match tokens[words[w]].token {
            Token::LParen => depth += 1,
            Token::RParen => depth = depth.saturating_sub(1),
            _ => {}
        }
        if depth > 0 || word(w - 1, Keyword::DEFAULT) {
            w += 1;
            continue;
        }
        if word(w, Keyword::NOT) && word(w + 1, Keyword::NULL) {
            let check = ["CHECK", "(", "VALUE", "IS", "NOT", "NULL", ")"].map(|p| match p {
                "(" => Token::LParen,
                ")" => Token::RParen,
                _ => Token::make_keyword(p),
            });
            let spaced = check
                .into_iter()
                .flat_map(|t| {
                    [
                        t,
                        Token::Whitespace(sqlparser::tokenizer::Whitespace::Space),
                    ]
                })
                .collect();
            edits.push((words[w], spaced));
            edits.push((words[w + 1], Vec::new()));
            w += 2;
        } else if word(w, Keyword::NULL) {
            edits.push((words[w], Vec::new()));
            // A name given to it goes with it.
            if w >= 4 && word(w - 2, Keyword::CONSTRAINT) {
                edits.push((words[w - 2], Vec::new()));
                edits.push((words[w - 1], Vec::new()));
            }
            w += 1;
        } else {
            w += 1;
        }
    }
    if edits.is_empty() {
        return;
    }
    edits.sort_by_key(|e| e.0);
    let src = std::mem::take(tokens);
    let mut edits = edits.into_iter().peekable();
    for (i, t) in src.into_iter().enumerate() {
        if edits.peek().is_some_and(|e| e.0 == i) {
            let (_, with) = edits.next().expect("peeked");
            tokens.extend(with.into_iter().map(|token| TokenWithSpan {
                token,
                span: t.span,
            }));
        } else {
            tokens.push(t);
        }
    }
}

/// Lets sqlparser read `x BETWEEN SYMMETRIC a AND b` (and `ASYMMETRIC`, the default),
/// which it does not know: the word is dropped. It only orders the bounds at run time;
/// the types and the NULLs are those of BETWEEN, and the SQL sent to the server is the
/// text as written.
fn between_symmetric(tokens: &mut Vec<TokenWithSpan>) {
    let either =
        |t: &TokenWithSpan| is_keyword(t, Keyword::SYMMETRIC) || is_keyword(t, Keyword::ASYMMETRIC);
    if !tokens.iter().any(either) {
        return;
    }
    let words = words_of(tokens);
    let mut drop = vec![false; tokens.len()];
    for pair in words.windows(2) {
        if is_keyword(&tokens[pair[0]], Keyword::BETWEEN) && either(&tokens[pair[1]]) {
            drop[pair[1]] = true;
        }
    }
    let mut drop = drop.into_iter();
    tokens.retain(|_| !drop.next().unwrap_or(false));
}

/// Lets sqlparser read a window frame's `EXCLUDE CURRENT ROW`, `EXCLUDE GROUP`,
/// `EXCLUDE TIES` and `EXCLUDE NO OTHERS`, which it does not know: the words are dropped.
/// They only leave rows out of the frame; the types and the NULLs are the frame's, and
/// the SQL sent to the server is the text as written. (A table's `EXCLUDE USING`
/// constraint is none of these.)
fn frame_exclusions(tokens: &mut Vec<TokenWithSpan>) {
    if !tokens.iter().any(|t| is_keyword(t, Keyword::EXCLUDE)) {
        return;
    }
    let words = words_of(tokens);
    let word = |w: usize, k: Keyword| words.get(w).is_some_and(|&i| is_keyword(&tokens[i], k));
    let mut drop = vec![false; tokens.len()];
    for w in 1..words.len() {
        // It ends a frame: `... PRECEDING`, `... FOLLOWING` or `CURRENT ROW` before it.
        if !word(w, Keyword::EXCLUDE)
            || !(word(w - 1, Keyword::PRECEDING)
                || word(w - 1, Keyword::FOLLOWING)
                || word(w - 1, Keyword::ROW))
        {
            continue;
        }
        let len = if word(w + 1, Keyword::CURRENT) && word(w + 2, Keyword::ROW) {
            3
        } else if word(w + 1, Keyword::GROUP) || word(w + 1, Keyword::TIES) {
            2
        } else if word(w + 1, Keyword::NO)
            && words
                .get(w + 2)
                .is_some_and(|&i| is_word(&tokens[i], "OTHERS"))
        {
            3
        } else {
            continue;
        };
        drop[words[w]..=words[w + len - 1]]
            .iter_mut()
            .for_each(|d| *d = true);
    }
    let mut drop = drop.into_iter();
    tokens.retain(|_| !drop.next().unwrap_or(false));
}

/// Lets sqlparser read the ON CONFLICT targets it does not know: `ON CONFLICT (a)
/// WHERE <predicate> DO ...`, which picks a partial unique index, and an index
/// expression in the target (`ON CONFLICT ((lower(email)))`, `ON CONFLICT (lower(email),
/// id)`), which picks an expression index. The predicate's tokens are dropped, and so
/// is each element of the target that is not a plain column name (with its comma; the
/// parentheses too when none is left). They only choose the index PostgreSQL checks;
/// the analysis reads nothing from them, and the SQL sent to the server is the text as
/// written. A predicate or an expression that holds a parameter stays (its parameter
/// must be seen), and so does its parse error.
fn conflict_target_predicates(tokens: &mut Vec<TokenWithSpan>) {
    if !tokens.iter().any(|t| is_keyword(t, Keyword::CONFLICT)) {
        return;
    }
    let words = words_of(tokens);
    let mut drop = vec![false; tokens.len()];
    let mut w = 0;
    while w + 2 < words.len() {
        let at = |k: usize| &tokens[words[k]];
        if !(is_keyword(at(w), Keyword::ON)
            && is_keyword(at(w + 1), Keyword::CONFLICT)
            && at(w + 2).token == Token::LParen)
        {
            w += 1;
            continue;
        }
        // Past the target's closing parenthesis, noting its elements (word ranges).
        let mut depth = 0usize;
        let mut k = w + 2;
        let mut elements: Vec<(usize, usize, bool)> = Vec::new();
        let mut start = w + 3;
        let mut placeholder = false;
        while k < words.len() {
            match at(k).token {
                Token::LParen => depth += 1,
                Token::RParen => depth -= 1,
                Token::Comma if depth == 1 => {
                    elements.push((start, k, placeholder));
                    start = k + 1;
                    placeholder = false;
                }
                Token::Placeholder(_) => placeholder = true,
                _ => {}
            }
            k += 1;
            if depth == 0 {
                elements.push((start, k - 1, placeholder));
                break;
            }
        }
        // An element is a column when it is one word; anything else is an expression.
        let expression = |&(from, to, _): &(usize, usize, bool)| {
            !(to == from + 1 && matches!(at(from).token, Token::Word(_)))
        };
        if depth == 0
            && elements.iter().any(expression)
            && elements
                .iter()
                .all(|&(from, to, placeholder)| from < to && !placeholder)
        {
            let kept = elements.iter().filter(|e| !expression(e)).count();
            if kept == 0 {
                drop[words[w + 2]..=words[k - 1]]
                    .iter_mut()
                    .for_each(|d| *d = true);
            } else {
                let mut first = true;
                for (i, e) in elements.iter().enumerate() {
                    let (from, to) = (e.0, e.1);
                    if expression(e) {
                        if from < to {
                            drop[words[from]..=words[to - 1]]
                                .iter_mut()
                                .for_each(|d| *d = true);
                        }
                    } else if first {
                        first = false;
                    } else {
                        continue;
                    }
                    // The comma before it goes with it, and the one before the first
                    // column kept.
                    if i > 0 {
                        drop[words[from - 1]] = true;
                    }
                }
            }
        }
        w = k;
        if k >= words.len() || !is_keyword(at(k), Keyword::WHERE) {
            continue;
        }
        // The predicate runs to the DO at its own depth.
        let mut end = None;
        let mut placeholder = false;
        let mut j = k + 1;
        while j < words.len() {
            match &at(j).token {
                Token::LParen => depth += 1,
                Token::RParen if depth == 0 => break,
                Token::RParen => depth -= 1,
                Token::Placeholder(_) => placeholder = true,
                _ if depth == 0 && is_keyword(at(j), Keyword::DO) => {
                    end = Some(j);
                    break;
                }
                _ => {}
            }
            j += 1;
        }
        if let (Some(end), false) = (end, placeholder) {
            drop[words[k]..words[end]]
                .iter_mut()
                .for_each(|d| *d = true);
        }
        w = j;
    }
    let mut drop = drop.into_iter();
    tokens.retain(|_| !drop.next().unwrap_or(false));
}

/// What closes a nesting level.
#[derive(Clone, Copy, PartialEq)]
enum Closer {
    Paren,
    Bracket,
    Case,
}

/// One nesting level: the operators seen in its current expression and the set
/// operations (`UNION`, …) seen in its current statement, both of which chain.
struct Level {
    closer: Closer,
    ops: usize,
    set_ops: usize,
}

/// The span of the first token at which an upper bound on the expression tree's depth
/// passes [`MAX_DEPTH`], or `None`.
///
/// The bound adds, over the open levels (parentheses, brackets, `CASE … END`), one for
/// the level, its operators since the last token that ends an expression at that level
/// (a comma, a clause keyword such as `WHERE`), and its set operations. Every operator
/// counts, symbolic or keyword (`AND`, `IS`, `::`, `->`), and so does every opening
/// parenthesis or bracket, so the bound may exceed the real depth but never falls short
/// of it.
fn depth_exceeded(tokens: &[TokenWithSpan]) -> Option<sqlparser::tokenizer::Span> {
    let mut levels = vec![Level {
        closer: Closer::Paren,
        ops: 0,
        set_ops: 0,
    }];
    let mut total = 1usize;
    let mut after_distinct = false;
    for t in tokens {
        let top = levels.len() - 1;
        let mut open = None;
        let mut close = None;
        let mut reset = false;
        let mut add = 0;
        let mut distinct = false;
        match &t.token {
            Token::Whitespace(_) => continue,
            Token::LParen => open = Some(Closer::Paren),
            Token::LBracket => open = Some(Closer::Bracket),
            Token::RParen => close = Some(Closer::Paren),
            Token::RBracket => close = Some(Closer::Bracket),
            Token::Comma => reset = true,
            Token::SemiColon => {
                reset = true;
                total -= levels[top].set_ops;
                levels[top].set_ops = 0;
            }
            Token::Word(w) => match w.keyword {
                Keyword::CASE => open = Some(Closer::Case),
                Keyword::END if levels[top].closer == Closer::Case => close = Some(Closer::Case),
                Keyword::WHEN | Keyword::THEN | Keyword::ELSE => {
                    reset = levels[top].closer == Closer::Case;
                }
                Keyword::UNION | Keyword::INTERSECT | Keyword::EXCEPT => {
                    reset = true;
                    levels[top].set_ops += 1;
                    total += 1;
                }
                Keyword::FROM if after_distinct => add = 1,
                Keyword::SELECT
                | Keyword::FROM
                | Keyword::WHERE
                | Keyword::GROUP
                | Keyword::HAVING
                | Keyword::ORDER
                | Keyword::LIMIT
                | Keyword::OFFSET
                | Keyword::RETURNING
                | Keyword::SET
                | Keyword::VALUES
                | Keyword::ON
                | Keyword::USING
                | Keyword::JOIN
                | Keyword::WINDOW
                | Keyword::WITH
                | Keyword::INTO
                | Keyword::INSERT
                | Keyword::UPDATE
                | Keyword::DELETE => reset = true,
                Keyword::DISTINCT => {
                    distinct = true;
                    add = 1;
                }
                Keyword::AND
                | Keyword::OR
                | Keyword::NOT
                | Keyword::IS
                | Keyword::IN
                | Keyword::LIKE
                | Keyword::ILIKE
                | Keyword::SIMILAR
                | Keyword::BETWEEN
                | Keyword::COLLATE
                | Keyword::AT
                | Keyword::OVERLAPS
                | Keyword::ESCAPE
                | Keyword::ANY
                | Keyword::ALL
                | Keyword::SOME
                | Keyword::NOTNULL
                | Keyword::EXISTS
                | Keyword::ARRAY
                | Keyword::INTERVAL => add = 1,
                _ => {}
            },
            Token::Number(..)
            | Token::Char(_)
            | Token::SingleQuotedString(_)
            | Token::DoubleQuotedString(_)
            | Token::DollarQuotedString(_)
            | Token::NationalStringLiteral(_)
            | Token::EscapedStringLiteral(_)
            | Token::UnicodeStringLiteral(_)
            | Token::HexStringLiteral(_)
            | Token::SingleQuotedByteStringLiteral(_)
            | Token::DoubleQuotedByteStringLiteral(_)
            | Token::Placeholder(_)
            | Token::Period
            | Token::EOF => {}
            _ => add = 1,
        }
        after_distinct = distinct;
        if reset {
            total -= levels[top].ops;
            levels[top].ops = 0;
        }
        levels[top].ops += add;
        total += add;
        if let Some(closer) = open {
            // The opening counts in its own level (a call or subscript is one more
            // operand there) and starts a level of its own.
            levels[top].ops += 1;
            levels.push(Level {
                closer,
                ops: 0,
                set_ops: 0,
            });
            total += 2;
        }
        if let Some(closer) = close {
            // Unbalanced text is the parser's to report; a closer without its opener
            // (or a `)` that ends a `CASE` left open) pops what is open down to it.
            while levels.len() > 1 {
                let l = levels.pop().expect("more than one level");
                total -= 1 + l.ops + l.set_ops;
                if l.closer == closer {
                    break;
                }
            }
        }
        if total > MAX_DEPTH {
            return Some(t.span);
        }
    }
    None
}

/// Strips the leading comments of a statement range so that the keyword test and the
/// parser's line numbers start at the statement itself.
pub fn strip_leading_comments(text: &str, r: Range<usize>) -> Range<usize> {
    let mut start = r.start;
    loop {
        let s = &text[start..r.end];
        let t = s.trim_start();
        start += s.len() - t.len();
        if t.starts_with("--") {
            start += t.find('\n').map_or(t.len(), |e| e + 1);
        } else if t.starts_with("/*") {
            start += t.find("*/").map_or(t.len(), |e| e + 2);
        } else {
            return start..r.end;
        }
    }
}

/// Byte ranges of the statements in `text`, split at top-level `;`, trimmed, empty
/// statements dropped. Comments stay inside the ranges.
pub fn split_statements(text: &str) -> Vec<Range<usize>> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        i = match bytes[i] {
            b'\'' => skip_quoted(bytes, i, b'\''),
            b'"' => skip_quoted(bytes, i, b'"'),
            b'-' if bytes.get(i + 1) == Some(&b'-') => {
                text[i..].find('\n').map_or(bytes.len(), |e| i + e + 1)
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => skip_block_comment(bytes, i),
            b'$' => skip_dollar_quoted(text, i),
            b';' => {
                push_trimmed(text, start..i, &mut out);
                start = i + 1;
                i + 1
            }
            _ => i + 1,
        };
    }
    push_trimmed(text, start..text.len(), &mut out);
    out
}

fn push_trimmed(text: &str, r: Range<usize>, out: &mut Vec<Range<usize>>) {
    let s = &text[r.clone()];
    let lead = s.len() - s.trim_start().len();
    let trimmed = s.trim();
    if !only_comments(trimmed) {
        out.push(r.start + lead..r.start + lead + trimmed.len());
    }
}

/// True when `s` holds nothing but whitespace and comments.
pub fn only_comments(s: &str) -> bool {
    let mut rest = s.trim_start();
    loop {
        if rest.is_empty() {
            return true;
        }
        if rest.starts_with("--") {
            rest = rest.find('\n').map_or("", |e| &rest[e + 1..]).trim_start();
        } else if rest.starts_with("/*") {
            let end = skip_block_comment(rest.as_bytes(), 0);
            rest = rest[end.min(rest.len())..].trim_start();
        } else {
            return false;
        }
    }
}

fn skip_quoted(bytes: &[u8], start: usize, quote: u8) -> usize {
    let escapes = quote == b'\''
        && start > 0
        && matches!(bytes[start - 1], b'e' | b'E')
        && (start < 2 || !bytes[start - 2].is_ascii_alphanumeric());
    let mut i = start + 1;
    while i < bytes.len() {
        if escapes && bytes[i] == b'\\' {
            i += 2;
            continue;
        }
        if bytes[i] == quote {
            if bytes.get(i + 1) == Some(&quote) {
                i += 2;
                continue;
            }
            return i + 1;
        }
        i += 1;
    }
    bytes.len()
}

fn skip_block_comment(bytes: &[u8], start: usize) -> usize {
    let mut depth = 0;
    let mut i = start;
    while i + 1 < bytes.len() {
        if bytes[i] == b'/' && bytes[i + 1] == b'*' {
            depth += 1;
            i += 2;
        } else if bytes[i] == b'*' && bytes[i + 1] == b'/' {
            depth -= 1;
            i += 2;
            if depth == 0 {
                return i;
            }
        } else {
            i += 1;
        }
    }
    bytes.len()
}

/// Skips `$tag$ ... $tag$`; a `$` that does not open a dollar quote (`$1`) is one byte.
fn skip_dollar_quoted(text: &str, start: usize) -> usize {
    let rest = &text[start + 1..];
    let tag_len = rest
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(rest.len());
    let tag = &rest[..tag_len];
    if rest.as_bytes().get(tag_len) != Some(&b'$') || tag.starts_with(|c: char| c.is_ascii_digit())
    {
        return start + 1;
    }
    let delim = format!("${tag}$");
    let body_start = start + delim.len();
    match text[body_start..].find(&delim) {
        Some(e) => body_start + e + delim.len(),
        None => text.len(),
    }
}

/// Calls `f` for every byte offset of `text` that is code, not inside a string, quoted
/// identifier, comment or dollar-quoted body; `f` returns how many bytes it consumed (0
/// to let the scanner move on by itself).
pub fn scan_code(text: &str, mut f: impl FnMut(usize) -> usize) {
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let next = match bytes[i] {
            b'\'' => Some(skip_quoted(bytes, i, b'\'')),
            b'"' => Some(skip_quoted(bytes, i, b'"')),
            b'-' if bytes.get(i + 1) == Some(&b'-') => {
                Some(text[i..].find('\n').map_or(bytes.len(), |e| i + e + 1))
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => Some(skip_block_comment(bytes, i)),
            b'$' => {
                let e = skip_dollar_quoted(text, i);
                (e > i + 1).then_some(e)
            }
            _ => None,
        };
        match next {
            Some(n) => i = n,
            None => {
                let used = f(i);
                i += used.max(1);
                while i < bytes.len() && !text.is_char_boundary(i) {
                    i += 1;
                }
            }
        }
    }
}

/// The `Line: L, Column: C` sqlparser appends to its errors, and the message without it.
pub fn parser_error_location(msg: &str) -> (String, Option<(u32, u32)>) {
    let Some(at) = msg.rfind(" at Line: ") else {
        return (msg.to_owned(), None);
    };
    let tail = &msg[at + " at Line: ".len()..];
    let mut parts = tail.split(", Column: ");
    let line = parts.next().and_then(|l| l.trim().parse().ok());
    let col = parts.next().and_then(|c| {
        c.trim()
            .trim_end_matches(|ch: char| !ch.is_ascii_digit())
            .parse()
            .ok()
    });
    match (line, col) {
        (Some(l), Some(c)) => (msg[..at].to_owned(), Some((l, c))),
        _ => (msg.to_owned(), None),
    }
}

/// Byte offset of a 1-based line and character column inside `text`.
pub fn offset_in(text: &str, line: u32, column: u32) -> usize {
    let mut offset = 0;
    for (i, l) in text.split_inclusive('\n').enumerate() {
        if i + 1 == line as usize {
            let col = (column.max(1) - 1) as usize;
            return offset + l.char_indices().nth(col).map_or(l.len(), |(b, _)| b);
        }
        offset += l.len();
    }
    text.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_around_quotes_comments_and_dollar_bodies() {
        let text = "CREATE TABLE a (x text DEFAULT ';');\n-- a; comment\nCREATE FUNCTION f() RETURNS int AS $$ SELECT 1; $$ LANGUAGE sql;\n/* ; */ SELECT $1;";
        let parts: Vec<_> = split_statements(text)
            .into_iter()
            .map(|r| &text[r])
            .collect();
        assert_eq!(parts.len(), 3, "{parts:?}");
        assert!(parts[0].starts_with("CREATE TABLE"));
        assert!(parts[1].contains("$$ SELECT 1; $$"));
        assert!(parts[2].ends_with("SELECT $1"));
    }

    #[test]
    fn like_elements_leave_the_list_wherever_they_stand() {
        // (text, columns left in the statement, each LIKE's source and position)
        let cases = [
            ("CREATE TABLE t (LIKE s)", vec![], vec![("s", 0)]),
            (
                "CREATE TABLE t (LIKE a.s INCLUDING ALL EXCLUDING INDEXES, x int)",
                vec!["x"],
                vec![("a.s", 0)],
            ),
            (
                "CREATE TABLE t (x int, PRIMARY KEY (x), LIKE s, y int, LIKE u)",
                vec!["x", "y"],
                vec![("s", 1), ("u", 2)],
            ),
            (
                "CREATE TABLE t (x int, LIKE s, LIKE u)",
                vec!["x"],
                vec![("s", 1), ("u", 1)],
            ),
            (
                "CREATE TABLE t (LIKE s, LIKE u, PRIMARY KEY (id))",
                vec![],
                vec![("s", 0), ("u", 0)],
            ),
            // `exclude` names a column here.
            (
                "CREATE TABLE t (exclude int, LIKE s, EXCLUDE USING gist (exclude WITH =))",
                vec!["exclude"],
                vec![("s", 1)],
            ),
            (
                "create unlogged table if not exists t (x int, like \"S\" including defaults)",
                vec!["x"],
                vec![("S", 1)],
            ),
        ];
        for (sql, columns, likes) in cases {
            let Ok(SchemaStatement::Parsed(stmts, extras)) = parse_schema(sql) else {
                panic!("{sql}");
            };
            let found = extras.likes;
            let Statement::CreateTable(ct) = &stmts[0] else {
                panic!("{sql}: {stmts:?}");
            };
            let names: Vec<String> = ct.columns.iter().map(|c| c.name.value.clone()).collect();
            assert_eq!(names, columns, "{sql}");
            let found: Vec<(String, usize)> = found
                .iter()
                .map(|l| (l.source.to_string().replace('"', ""), l.position))
                .collect();
            let likes: Vec<(String, usize)> =
                likes.into_iter().map(|(s, p)| (s.to_owned(), p)).collect();
            assert_eq!(found, likes, "{sql}");
        }
        let Ok(SchemaStatement::Parsed(_, extras)) =
            parse_schema("CREATE TABLE t (LIKE s INCLUDING ALL EXCLUDING IDENTITY)")
        else {
            panic!()
        };
        let l = &extras.likes[0];
        assert_eq!(
            (l.defaults, l.identity, l.generated, l.indexes),
            (true, false, true, true)
        );
        // CREATE TABLE ... AS with names alone: the names leave the statement.
        let Ok(SchemaStatement::Parsed(stmts, extras)) =
            parse_schema("CREATE TABLE t (a, \"B\") AS SELECT 1, 2, 3")
        else {
            panic!()
        };
        let names: Vec<&str> = extras.names.iter().map(|i| i.value.as_str()).collect();
        assert_eq!(names, ["a", "B"]);
        assert!(
            matches!(&stmts[0], Statement::CreateTable(ct) if ct.columns.is_empty() && ct.query.is_some())
        );
        // Not a list's LIKE: left to the parser.
        assert!(parse_schema("CREATE TABLE t (LIKE s INCLUDING EVERYTHING)").is_err());
        assert!(matches!(
            parse_schema("CREATE TABLE t AS SELECT x FROM s WHERE x LIKE 'a%'"),
            Ok(SchemaStatement::Parsed(_, e)) if e.likes.is_empty()
        ));
    }

    #[test]
    fn links_are_read_alone_in_their_alter_table() {
        let link = |sql: &str| match parse_schema(sql) {
            Ok(SchemaStatement::Link(l)) => Some((
                l.table.to_string(),
                l.kind,
                l.other.to_string(),
                l.if_exists,
            )),
            _ => None,
        };
        assert_eq!(
            link("ALTER TABLE p ATTACH PARTITION s.c FOR VALUES FROM (1) TO (2);"),
            Some(("p".into(), LinkKind::Attach, "s.c".into(), false))
        );
        assert_eq!(
            link("alter table if exists only p detach partition c finalize"),
            Some(("p".into(), LinkKind::Detach, "c".into(), true))
        );
        assert_eq!(
            link("ALTER TABLE c NO INHERIT p"),
            Some(("c".into(), LinkKind::NoInherit, "p".into(), false))
        );
        assert_eq!(
            link("ALTER TABLE c INHERIT p"),
            Some(("c".into(), LinkKind::Inherit, "p".into(), false))
        );
        // With another action, or something after: not a link.
        assert_eq!(link("ALTER TABLE c INHERIT p, ADD COLUMN x int"), None);
        assert_eq!(link("ALTER TABLE c ADD COLUMN inherit int"), None);
    }

    #[test]
    fn overriding_clauses_are_read_and_belong_to_their_insert() {
        let sql =
            "WITH a AS (INSERT INTO t (id) OVERRIDING SYSTEM VALUE VALUES (1) RETURNING id)\n\
                   insert into u (id) overriding user value SELECT id FROM a";
        let (stmts, found) = parse_query(sql).unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(stmts.len(), 1);
        let at = |line, column| Location { line, column };
        assert_eq!(
            found,
            [
                (at(1, 12), Overriding::System),
                (at(2, 1), Overriding::User)
            ]
        );
        // The words go; everything else keeps its place.
        assert_eq!(
            stmts[0].to_string(),
            "WITH a AS (INSERT INTO t (id) VALUES (1) RETURNING id) INSERT INTO u (id) SELECT id FROM a"
        );
        // A column named so, quoted or not, is not a clause; a clause with no INSERT
        // before it is left to the parser, which refuses it.
        for sql in ["SELECT overriding FROM t", "SELECT \"OVERRIDING\" FROM t"] {
            assert_eq!(
                parse_query(sql).map(|(_, o)| o.len()).ok(),
                Some(0),
                "{sql}"
            );
        }
        assert!(parse("SELECT 1 OVERRIDING SYSTEM VALUE").is_err());
        // A column named `insert` is not the statement's keyword.
        let (_, found) =
            parse_query("INSERT INTO log (insert) OVERRIDING USER VALUE VALUES (1)").unwrap();
        assert_eq!(found, [(at(1, 1), Overriding::User)]);
    }

    #[test]
    fn conflict_targets_symmetric_bounds_and_frame_exclusions_are_read() {
        let read = |sql: &str| match parse(sql) {
            Ok(s) => s
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("; "),
            Err(e) => format!("error: {e:?}"),
        };
        let insert = "INSERT INTO t (a) VALUES (1) ON CONFLICT";
        for (target, want) in [
            ("(a, (lower(b)), c)", "(a, c)"),
            ("((lower(b)), a)", "(a)"),
            ("(lower(b), (c + 1))", ""),
            ("(a)", "(a)"),
        ] {
            assert_eq!(
                read(&format!("{insert} {target} DO NOTHING")),
                format!("{insert}{want} DO NOTHING"),
                "{target}"
            );
        }
        // A parameter must be seen: its expression stays, and so does the parse error.
        assert!(read(&format!("{insert} ((b || $1)) DO NOTHING")).starts_with("error"));
        for exclude in ["CURRENT ROW", "GROUP", "TIES", "NO OTHERS"] {
            assert_eq!(
                read(&format!("SELECT sum(a) OVER (ORDER BY a ROWS UNBOUNDED PRECEDING EXCLUDE {exclude}) FROM t")),
                "SELECT sum(a) OVER (ORDER BY a ROWS UNBOUNDED PRECEDING) FROM t",
                "{exclude}"
            );
        }
        // A column named `exclude` is no frame's clause.
        assert_eq!(
            read("SELECT a FROM t WHERE NOT exclude GROUP BY a"),
            "SELECT a FROM t WHERE NOT exclude GROUP BY a"
        );
        assert_eq!(
            read("SELECT 1 WHERE 2 NOT BETWEEN SYMMETRIC 3 AND 1 AND 2 BETWEEN asymmetric 1 AND 3"),
            "SELECT 1 WHERE 2 NOT BETWEEN 3 AND 1 AND 2 BETWEEN 1 AND 3"
        );
    }

    #[test]
    fn domain_null_constraints_are_read() {
        let constraints = |sql: &str| match &parse(sql).unwrap_or_else(|e| panic!("{sql}: {e:?}"))[..]
        {
            [Statement::CreateDomain(d)] => (
                d.constraints
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>(),
                d.default.as_ref().map(ToString::to_string),
            ),
            other => panic!("{sql}: {other:?}"),
        };
        assert_eq!(
            constraints("CREATE DOMAIN p AS int4 NOT NULL CHECK (VALUE > 0)").0,
            ["CHECK (VALUE IS NOT NULL)", "CHECK (VALUE > 0)"]
        );
        assert_eq!(
            constraints("create domain c as text default null constraint nn not null"),
            (
                vec!["CONSTRAINT nn CHECK (VALUE IS NOT NULL)".to_owned()],
                Some("NULL".to_owned())
            )
        );
        assert_eq!(
            constraints(
                "CREATE DOMAIN e AS text CONSTRAINT at CHECK (VALUE ~ '@') CONSTRAINT n NULL"
            )
            .0,
            ["CONSTRAINT at CHECK (VALUE ~ '@')"]
        );
        // Inside a CHECK, NULL is the check's.
        assert_eq!(
            constraints("CREATE DOMAIN t AS text NULL CHECK (VALUE IS NOT NULL OR NULL)").0,
            ["CHECK (VALUE IS NOT NULL OR NULL)"]
        );
    }

    /// The locking clauses of the one query in `sql`: each strength as sqlparser
    /// reads it and the table after `OF`.
    fn locks(sql: &str) -> Vec<(String, Option<String>)> {
        let statements = parse(sql).unwrap_or_else(|e| panic!("{sql}: {e:?}"));
        let [Statement::Query(q)] = &statements[..] else {
            panic!("{sql}: not one query");
        };
        q.locks
            .iter()
            .map(|l| {
                (
                    l.lock_type.to_string(),
                    l.of.as_ref().map(|o| o.to_string()),
                )
            })
            .collect()
    }

    #[test]
    fn reads_every_locking_clause_postgresql_has() {
        let of = |s: &str, t: &str| (s.to_owned(), Some(t.to_owned()));
        assert_eq!(
            locks("SELECT 1 FROM a FOR NO KEY UPDATE"),
            [("UPDATE".to_owned(), None)]
        );
        assert_eq!(
            locks("SELECT 1 FROM a for key share nowait"),
            [("SHARE".to_owned(), None)]
        );
        assert_eq!(
            locks("SELECT 1 FROM a, s.b FOR UPDATE OF a, s.b SKIP LOCKED"),
            [of("UPDATE", "a"), of("UPDATE", "s.b")]
        );
        assert_eq!(
            locks("SELECT 1 FROM a, b, c FOR KEY SHARE OF a,b FOR NO KEY UPDATE OF c LIMIT 1"),
            [of("SHARE", "a"), of("SHARE", "b"), of("UPDATE", "c")]
        );
        // A FOR that is no locking clause, and words quoted as names, are left alone.
        assert_eq!(
            locks("SELECT substring(x FROM 1 FOR 2) FROM a FOR SHARE OF a"),
            [of("SHARE", "a")]
        );
        assert!(parse("SELECT 1 FROM a FOR \"no\" KEY UPDATE").is_err());
    }

    #[test]
    fn reads_a_conflict_target_that_picks_a_partial_index() {
        let sql = "INSERT INTO a (x) VALUES ($1) ON CONFLICT (x, y) WHERE (y IS NULL) AND z DO UPDATE SET x = $1 WHERE a.z";
        let statements = parse(sql).unwrap_or_else(|e| panic!("{e:?}"));
        let [Statement::Insert(i)] = &statements[..] else {
            panic!("not one insert");
        };
        let on = i.on.as_ref().map(|o| o.to_string()).unwrap_or_default();
        assert_eq!(
            on.trim(),
            "ON CONFLICT(x, y) DO UPDATE SET x = $1 WHERE a.z"
        );
        // A parameter in the predicate is not dropped unseen: the text fails to parse.
        assert!(
            parse("INSERT INTO a (x) VALUES ($1) ON CONFLICT (x) WHERE y = $2 DO NOTHING").is_err()
        );
    }

    #[test]
    fn an_error_after_a_rewritten_clause_points_into_the_text_as_written() {
        let sql = "SELECT 1 FROM a, b\nFOR NO KEY UPDATE OF a, b WHERE";
        let Err(ParseFailure::Syntax(e)) = parse(sql) else {
            panic!("parsed");
        };
        let (_, at) = parser_error_location(&e.to_string());
        assert_eq!(at, Some((2, 27)), "{e}");
    }

    #[test]
    fn reads_parser_error_locations() {
        let (m, loc) = parser_error_location(
            "sql parser error: Expected: end of statement, found: x at Line: 3, Column: 7",
        );
        assert_eq!(loc, Some((3, 7)));
        assert!(m.ends_with("found: x"));
    }
}
