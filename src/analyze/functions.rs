//! Signatures of built-in functions: what each returns and when it returns NULL.

/// How a function's result type follows from its arguments.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Ret {
    Fixed(&'static str),
    /// The type of argument `n`.
    Arg(usize),
    /// The type of argument `n`, a `date` taken as `timestamptz` (its implicit cast to
    /// the preferred date-time type), as `date_trunc` is.
    DateAsTimestamptz(usize),
    /// A function PostgreSQL declares for `numeric` and `double precision` only
    /// (`ceil`, `sqrt`, `power`): `numeric` for a numeric first argument, else `float8`
    /// (integers and `real` take the preferred numeric type); `round` and `trunc` of
    /// two arguments exist for `numeric` alone.
    NumericOrFloat8,
    /// An ordered-set aggregate's: the type of what its `WITHIN GROUP` orders by
    /// (`percentile_cont` takes `float8` or `interval`, and an array of fractions gives
    /// an array).
    WithinGroup,
    /// An array of argument `n`'s type.
    ArrayOf(usize),
    /// The first argument whose type is known (COALESCE, GREATEST, LEAST).
    FirstKnown,
    /// `sum`: int2/int4 -> int8, int8 -> numeric, others unchanged.
    Sum,
    /// `avg`: integers and numeric -> numeric, floats -> float8.
    Avg,
}

/// When a function's result is NULL.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Nulls {
    /// NULL when any argument is NULL.
    Strict,
    /// Never NULL.
    Never,
    /// May be NULL whatever the arguments.
    Always,
    /// NULL only when every argument is NULL (COALESCE, GREATEST, LEAST, concat).
    AllArgs,
    /// NULL when argument `n` is, whatever the others (`array_remove`).
    IfArg(usize),
    /// An aggregate: NULL over an empty set or when every input is NULL.
    Aggregate,
    /// An aggregate that collects its inputs, NULLs included (`array_agg`, `json_agg`):
    /// NULL only over an empty set.
    Collects,
}

#[derive(Clone, Copy, Debug)]
pub struct Signature {
    pub ret: Ret,
    pub nulls: Nulls,
    pub aggregate: bool,
    /// Types for parameters passed as these arguments, by position.
    pub arg_types: &'static [&'static str],
    /// Writes, though not to rows (a sequence's value, a notification): a standby
    /// refuses it (25006), and running it again is not harmless.
    pub writes: bool,
    /// Takes or releases an advisory lock: it excludes only sessions of the server that
    /// holds it, so it belongs on the primary, like a locking read.
    pub locks: bool,
    /// Leaves state on the session that outlives the statement and its transaction (a
    /// session-level advisory lock): on a pooled connection it stays with whichever
    /// connection ran it.
    pub session: bool,
}

impl Signature {
    const fn writing(mut self) -> Self {
        self.writes = true;
        self
    }

    const fn locking(mut self) -> Self {
        self.locks = true;
        self
    }

    const fn sessional(mut self) -> Self {
        self.session = true;
        self
    }
}

const fn sig(ret: Ret, nulls: Nulls) -> Signature {
    Signature {
        ret,
        nulls,
        aggregate: false,
        arg_types: &[],
        writes: false,
        locks: false,
        session: false,
    }
}

const fn agg(ret: Ret, nulls: Nulls) -> Signature {
    Signature {
        ret,
        nulls,
        aggregate: true,
        arg_types: &[],
        writes: false,
        locks: false,
        session: false,
    }
}

const fn typed(ret: Ret, nulls: Nulls, arg_types: &'static [&'static str]) -> Signature {
    Signature {
        ret,
        nulls,
        aggregate: false,
        arg_types,
        writes: false,
        locks: false,
        session: false,
    }
}

/// The signature of a built-in function, by lowercase unqualified name and the number
/// of arguments it is called with (some overloads type their arguments differently).
pub fn lookup(name: &str, args: usize) -> Option<Signature> {
    use Nulls::*;
    use Ret::*;
    // `f(text)` or `f(regconfig, text)`: the text searched is the last argument.
    let text_search: &'static [&'static str] = if args == 2 {
        &["regconfig", "text"]
    } else {
        &["text"]
    };
    // Advisory locks take one bigint key or two int keys.
    let advisory_key: &'static [&'static str] = if args == 2 {
        &["int4", "int4"]
    } else {
        &["int8"]
    };
    Some(match name {
        // Aggregates.
        "count" => agg(Fixed("int8"), Never),
        "sum" => agg(Sum, Aggregate),
        "avg" => agg(Avg, Aggregate),
        "min" | "max" => agg(Arg(0), Aggregate),
        "array_agg" => agg(ArrayOf(0), Collects),
        "string_agg" => agg(Fixed("text"), Aggregate),
        "bool_and" | "bool_or" | "every" => agg(Fixed("bool"), Aggregate),
        "json_agg" | "json_object_agg" => agg(Fixed("json"), Collects),
        "jsonb_agg" | "jsonb_object_agg" => agg(Fixed("jsonb"), Collects),
        "stddev" | "stddev_samp" | "stddev_pop" | "variance" | "var_samp" | "var_pop" => {
            agg(Avg, Always)
        }
        "bit_and" | "bit_or" | "bit_xor" => agg(Arg(0), Aggregate),
        "corr" | "covar_pop" | "covar_samp" | "regr_avgx" | "regr_avgy" | "regr_intercept"
        | "regr_r2" | "regr_slope" | "regr_sxx" | "regr_sxy" | "regr_syy" => {
            agg(Fixed("float8"), Always)
        }
        "regr_count" => agg(Fixed("int8"), Never),
        // Ordered-set aggregates, of the values their WITHIN GROUP orders.
        "percentile_cont" | "percentile_disc" => Signature {
            arg_types: &["float8"],
            ..agg(WithinGroup, Aggregate)
        },
        "mode" => agg(WithinGroup, Aggregate),
        // Which grouping sets leave the arguments out, as a bit mask.
        "grouping" => sig(Fixed("int4"), Never),
        // Window functions.
        "row_number" | "rank" | "dense_rank" => sig(Fixed("int8"), Never),
        "percent_rank" | "cume_dist" => sig(Fixed("float8"), Never),
        "ntile" => sig(Fixed("int4"), Never),
        "lag" | "lead" | "nth_value" => sig(Arg(0), Always),
        "first_value" | "last_value" => sig(Arg(0), Strict),
        // Null handling and comparison.
        "coalesce" | "greatest" | "least" => sig(FirstKnown, AllArgs),
        "nullif" => sig(Arg(0), Always),
        // Time.
        "now"
        | "current_timestamp"
        | "statement_timestamp"
        | "clock_timestamp"
        | "transaction_timestamp" => sig(Fixed("timestamptz"), Never),
        "current_date" => sig(Fixed("date"), Never),
        "localtimestamp" => sig(Fixed("timestamp"), Never),
        "current_time" => sig(Fixed("timetz"), Never),
        "localtime" => sig(Fixed("time"), Never),
        "date_trunc" => typed(DateAsTimestamptz(1), Strict, &["text", "timestamptz"]),
        "date_part" => typed(Fixed("float8"), Strict, &["text", "timestamptz"]),
        "age" => sig(Fixed("interval"), Strict),
        "to_timestamp" => typed(Fixed("timestamptz"), Strict, &["float8"]),
        "make_interval" => sig(Fixed("interval"), Strict),
        "date_bin" => typed(Arg(1), Strict, &["interval"]),
        "justify_interval" | "justify_days" | "justify_hours" => sig(Arg(0), Strict),
        "make_date" => typed(Fixed("date"), Strict, &["int4", "int4", "int4"]),
        "make_time" => typed(Fixed("time"), Strict, &["int4", "int4", "float8"]),
        "make_timestamp" => typed(
            Fixed("timestamp"),
            Strict,
            &["int4", "int4", "int4", "int4", "int4", "float8"],
        ),
        "make_timestamptz" => typed(
            Fixed("timestamptz"),
            Strict,
            &["int4", "int4", "int4", "int4", "int4", "float8", "text"],
        ),
        "isfinite" => sig(Fixed("bool"), Strict),
        "to_char" => sig(Fixed("text"), Strict),
        "to_date" => typed(Fixed("date"), Strict, &["text", "text"]),
        "to_number" => typed(Fixed("numeric"), Strict, &["text", "text"]),
        // Text.
        "lower" | "upper" | "initcap" | "btrim" | "ltrim" | "rtrim" | "md5" | "reverse"
        | "quote_ident" | "quote_literal" => typed(Fixed("text"), Strict, &["text"]),
        "replace" | "translate" => typed(Fixed("text"), Strict, &["text", "text", "text"]),
        "substr" | "left" | "right" => typed(Fixed("text"), Strict, &["text", "int4", "int4"]),
        "lpad" | "rpad" => typed(Fixed("text"), Strict, &["text", "int4", "text"]),
        "repeat" => typed(Fixed("text"), Strict, &["text", "int4"]),
        "split_part" => typed(Fixed("text"), Strict, &["text", "text", "int4"]),
        "regexp_replace" => typed(Fixed("text"), Strict, &["text", "text", "text", "text"]),
        "concat" | "concat_ws" => typed(Fixed("text"), Never, &["text", "text", "text", "text"]),
        "format" => typed(Fixed("text"), Strict, &["text"]),
        "length" | "char_length" | "character_length" | "octet_length" | "bit_length" => {
            typed(Fixed("int4"), Strict, &["text"])
        }
        "strpos" => typed(Fixed("int4"), Strict, &["text", "text"]),
        "starts_with" => typed(Fixed("bool"), Strict, &["text", "text"]),
        "encode" => typed(Fixed("text"), Strict, &["bytea", "text"]),
        "decode" => typed(Fixed("bytea"), Strict, &["text", "text"]),
        // Not strict: a NULL delimiter splits into characters.
        "string_to_array" => typed(Fixed("text[]"), IfArg(0), &["text", "text", "text"]),
        "regexp_match" => typed(Fixed("text[]"), Always, &["text", "text", "text"]),
        "regexp_like" => typed(Fixed("bool"), Strict, &["text", "text", "text"]),
        "regexp_count" => typed(Fixed("int4"), Strict, &["text", "text", "int4", "text"]),
        "regexp_substr" => typed(
            Fixed("text"),
            Always,
            &["text", "text", "int4", "int4", "text"],
        ),
        "regexp_split_to_array" => typed(Fixed("text[]"), Strict, &["text", "text", "text"]),
        "chr" => typed(Fixed("text"), Strict, &["int4"]),
        "ascii" => typed(Fixed("int4"), Strict, &["text"]),
        "to_hex" => typed(Fixed("text"), Strict, &["int8"]),
        "sha224" | "sha256" | "sha384" | "sha512" => typed(Fixed("bytea"), Strict, &["bytea"]),
        "convert_from" => typed(Fixed("text"), Strict, &["bytea", "name"]),
        "convert_to" => typed(Fixed("bytea"), Strict, &["text", "name"]),
        "quote_nullable" => sig(Fixed("text"), Never),
        "array_to_string" => sig(Fixed("text"), Strict),
        // Numbers.
        "abs" | "mod" => sig(Arg(0), Strict),
        "ceil" | "ceiling" | "floor" | "sign" | "trunc" | "round" | "sqrt" | "exp" | "ln"
        | "log" | "log10" | "power" | "pow" => sig(NumericOrFloat8, Strict),
        "cbrt" | "degrees" | "radians" => typed(Fixed("float8"), Strict, &["float8"]),
        "div" => typed(Fixed("numeric"), Strict, &["numeric", "numeric"]),
        "scale" | "min_scale" => typed(Fixed("int4"), Strict, &["numeric"]),
        "trim_scale" => typed(Fixed("numeric"), Strict, &["numeric"]),
        "factorial" => typed(Fixed("numeric"), Strict, &["int8"]),
        "gcd" | "lcm" => sig(FirstKnown, Strict),
        // `width_bucket(operand, low, high, count)`, or `(operand, thresholds)`.
        "width_bucket" => sig(Fixed("int4"), Strict),
        "sin" | "cos" | "tan" | "cot" | "asin" | "acos" | "atan" | "atan2" | "sind" | "cosd"
        | "tand" | "cotd" | "asind" | "acosd" | "atand" | "atan2d" | "sinh" | "cosh" | "tanh"
        | "asinh" | "acosh" | "atanh" => typed(Fixed("float8"), Strict, &["float8", "float8"]),
        "random" => sig(Fixed("float8"), Never),
        "pi" => sig(Fixed("float8"), Never),
        // `ROW(a, b)`, spelled as a call: a row value, cast to a composite type to name it.
        "row" => sig(Fixed("record"), Never),
        // Identifiers.
        "gen_random_uuid" | "uuid_generate_v4" => sig(Fixed("uuid"), Never),
        // JSON.
        "json_build_object" | "json_build_array" => sig(Fixed("json"), Never),
        "jsonb_build_object" | "jsonb_build_array" => sig(Fixed("jsonb"), Never),
        "to_json" | "row_to_json" | "array_to_json" => sig(Fixed("json"), Strict),
        "to_jsonb" => sig(Fixed("jsonb"), Strict),
        "jsonb_set" | "jsonb_insert" => {
            typed(Fixed("jsonb"), Strict, &["jsonb", "text[]", "jsonb"])
        }
        "jsonb_strip_nulls" | "json_strip_nulls" => sig(Arg(0), Strict),
        "jsonb_pretty" => typed(Fixed("text"), Strict, &["jsonb"]),
        "jsonb_object" => typed(Fixed("jsonb"), Strict, &["text[]", "text[]"]),
        "json_object" => typed(Fixed("json"), Strict, &["text[]", "text[]"]),
        "jsonb_path_query_first" | "jsonb_path_query_first_tz" => typed(
            Fixed("jsonb"),
            Always,
            &["jsonb", "jsonpath", "jsonb", "bool"],
        ),
        "jsonb_path_query_array" | "jsonb_path_query_array_tz" => typed(
            Fixed("jsonb"),
            Strict,
            &["jsonb", "jsonpath", "jsonb", "bool"],
        ),
        "jsonb_path_exists"
        | "jsonb_path_match"
        | "jsonb_path_exists_tz"
        | "jsonb_path_match_tz" => typed(
            Fixed("bool"),
            Always,
            &["jsonb", "jsonpath", "jsonb", "bool"],
        ),
        "json_array_length" | "jsonb_array_length" => sig(Fixed("int4"), Strict),
        "json_typeof" | "jsonb_typeof" => sig(Fixed("text"), Strict),
        "json_extract_path_text" | "jsonb_extract_path_text" => sig(Fixed("text"), Always),
        "json_extract_path" => sig(Fixed("json"), Always),
        "jsonb_extract_path" => sig(Fixed("jsonb"), Always),
        // Arrays.
        "array_length" | "array_upper" | "array_lower" | "array_position" => {
            sig(Fixed("int4"), Always)
        }
        "cardinality" | "array_ndims" => sig(Fixed("int4"), Strict),
        "array_dims" => sig(Fixed("text"), Always),
        "array_positions" => sig(Fixed("int4[]"), Strict),
        "trim_array" => sig(Arg(0), Strict),
        // Not strict: a NULL element is added or sought like any other, and a NULL
        // array is an empty one to append to or join.
        "array_append" => sig(Arg(0), Never),
        "array_prepend" => sig(Arg(1), Never),
        "array_cat" => sig(Arg(0), AllArgs),
        "array_remove" | "array_replace" => sig(Arg(0), IfArg(0)),
        // Session.
        "current_user" | "session_user" | "current_schema" | "current_database" | "version" => {
            sig(Fixed("text"), Never)
        }
        "pg_backend_pid" => sig(Fixed("int4"), Never),
        "pg_is_in_recovery" => sig(Fixed("bool"), Never),
        "pg_terminate_backend" | "pg_cancel_backend" => sig(Fixed("bool"), Strict),
        "pg_sleep" => typed(Fixed("void"), Strict, &["float8"]),
        "pg_advisory_xact_lock" | "pg_advisory_xact_lock_shared" => {
            typed(Fixed("void"), Strict, advisory_key).locking()
        }
        "pg_advisory_lock" | "pg_advisory_lock_shared" => {
            typed(Fixed("void"), Strict, advisory_key)
                .locking()
                .sessional()
        }
        "pg_try_advisory_xact_lock" | "pg_try_advisory_xact_lock_shared" => {
            typed(Fixed("bool"), Strict, advisory_key).locking()
        }
        "pg_try_advisory_lock"
        | "pg_try_advisory_lock_shared"
        | "pg_advisory_unlock"
        | "pg_advisory_unlock_shared" => typed(Fixed("bool"), Strict, advisory_key)
            .locking()
            .sessional(),
        "pg_advisory_unlock_all" => sig(Fixed("void"), Never).locking().sessional(),
        "pg_notify" => typed(Fixed("void"), Never, &["text", "text"]).writing(),
        "set_config" => typed(Fixed("text"), Always, &["text", "text", "bool"]),
        "current_setting" => typed(Fixed("text"), Always, &["text", "bool"]),
        // Sequences.
        "nextval" => typed(Fixed("int8"), Strict, &["regclass"]).writing(),
        "currval" => typed(Fixed("int8"), Strict, &["regclass"]),
        "setval" => typed(Fixed("int8"), Strict, &["regclass", "int8", "bool"]).writing(),
        "lastval" => sig(Fixed("int8"), Never),
        // Full-text search.
        "to_tsvector" => typed(Fixed("tsvector"), Strict, text_search),
        "to_tsquery" | "plainto_tsquery" | "phraseto_tsquery" | "websearch_to_tsquery" => {
            typed(Fixed("tsquery"), Strict, text_search)
        }
        "ts_rank" | "ts_rank_cd" => sig(Fixed("float4"), Strict),
        "ts_headline" => sig(Fixed("text"), Strict),
        "setweight" => sig(Fixed("tsvector"), Strict),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aggregates_are_marked() {
        assert!(lookup("sum", 1).unwrap().aggregate);
        assert!(lookup("count", 1).unwrap().aggregate);
        assert!(!lookup("lower", 1).unwrap().aggregate);
        assert!(lookup("no_such_function", 0).is_none());
    }

    #[test]
    fn overloads_type_their_arguments_by_count() {
        assert_eq!(
            lookup("pg_advisory_xact_lock", 1).unwrap().arg_types,
            ["int8"]
        );
        assert_eq!(
            lookup("pg_advisory_xact_lock", 2).unwrap().arg_types,
            ["int4", "int4"]
        );
        assert_eq!(lookup("to_tsquery", 1).unwrap().arg_types, ["text"]);
        assert_eq!(
            lookup("to_tsquery", 2).unwrap().arg_types,
            ["regconfig", "text"]
        );
    }
}
