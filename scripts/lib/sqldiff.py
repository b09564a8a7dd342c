#!/usr/bin/env python3
"""Draft an update script: the statements of the new install script (cargo pgrx schema output)
that differ from the frozen old one, keyed by object. Prints the draft to stdout and a report of
what needs a hand-written statement (changed tables) to stderr.

usage: scripts/lib/sqldiff.py sql/metrics--A.sql NEW.sql   (NEW: cargo pgrx schema of the working tree)

A draft, not the update: changed tables are reported (write their ALTER TABLE by hand, in the
order and with the names of a fresh install), and the result is checked by the upgrade
scenarios fingerprint (tests/scenarios/upgrade_from_A.sh).
"""
import re
import sys


def split_statements(text):
    """Top-level SQL statements, with the comment lines just before each one."""
    out, buf, i, n = [], [], 0, len(text)
    start = 0
    while i < n:
        c = text[i]
        if text.startswith('--', i):
            j = text.find('\n', i)
            i = n if j < 0 else j + 1
            continue
        if text.startswith('/*', i):
            j = text.find('*/', i + 2)
            i = n if j < 0 else j + 2
            continue
        if c == "'":
            j = i + 1
            while j < n:
                if text[j] == "'" and j + 1 < n and text[j + 1] == "'":
                    j += 2
                    continue
                if text[j] == "'":
                    break
                j += 1
            i = j + 1
            continue
        if c == '"':
            j = text.find('"', i + 1)
            i = j + 1
            continue
        if c == '$':
            m = re.match(r'\$([A-Za-z_][A-Za-z0-9_]*)?\$', text[i:])
            if m:
                tag = m.group(0)
                j = text.find(tag, i + len(tag))
                i = j + len(tag)
                continue
        if c == ';':
            out.append(text[start:i + 1])
            start = i + 1
        i += 1
    tail = text[start:].strip()
    if tail:
        out.append(tail)
    return out


def strip_comments(stmt):
    s = stmt
    while True:
        t = s.lstrip()
        if t.startswith('--'):
            j = t.find('\n')
            s = '' if j < 0 else t[j + 1:]
        elif t.startswith('/*'):
            j = t.find('*/')
            s = t[j + 2:]
        else:
            return t.strip()


def leading_comments(stmt):
    lines = re.sub(r'/\*.*?\*/', '', stmt, flags=re.S).split('\n')
    keep = []
    for l in lines:
        if l.strip() == '' or l.strip().startswith('--'):
            keep.append(l)
        else:
            break
    # pgrx emits "-- src/...rs:LINE" markers; keep only the human comments
    return '\n'.join(l for l in keep if l.strip().startswith('--') and not re.match(r'\s*-- (src/|metrics::)', l)).strip()


def norm(s):
    return re.sub(r'\s+', ' ', s).strip()


def split_args(argtext):
    args, depth, cur, i = [], 0, '', 0
    q = False
    while i < len(argtext):
        c = argtext[i]
        if c == "'":
            q = not q
        if not q:
            if c == '(':
                depth += 1
            elif c == ')':
                depth -= 1
            elif c == ',' and depth == 0:
                args.append(cur)
                cur = ''
                i += 1
                continue
        cur += c
        i += 1
    if cur.strip():
        args.append(cur)
    return [a.strip() for a in args]


TYPE_WORDS = {'double', 'timestamp', 'character', 'time', 'bit'}


def arg_type(arg):
    a = re.split(r'\s+DEFAULT\s+|\s*=\s*', arg, flags=re.I)[0].strip()
    a = re.sub(r'/\*.*?\*/', '', a).strip()
    toks = a.split()
    if toks and toks[0].upper() in ('IN', 'INOUT', 'VARIADIC'):
        toks = toks[1:]
    if toks and toks[0].upper() == 'OUT':
        return None
    if len(toks) >= 2 and toks[0].lower().strip('"') not in TYPE_WORDS:
        toks = toks[1:]
    t = ' '.join(toks).lower().replace('"', '')
    t = {'timestamptz': 'timestamp with time zone', 'float8': 'double precision', 'int4': 'integer',
         'int': 'integer', 'int8': 'bigint', 'bool': 'boolean', 'int2': 'smallint', 'float4': 'real'}.get(t, t)
    t = t.replace('timestamptz', 'timestamp with time zone')
    return t


def arg_for_drop(arg):
    arg = re.sub(r'/\*.*?\*/', '', arg)
    return re.sub(r'\s+', ' ', re.split(r'\s+DEFAULT\s+', arg, flags=re.I)[0]).strip()


def key_of(stmt):
    s = strip_comments(stmt)
    u = norm(s)
    m = re.match(r'CREATE (?:OR REPLACE )?(FUNCTION|PROCEDURE|AGGREGATE) ("?[\w.]+"?(?:\."?\w+"?)?)\s*\((.*)', u, re.I | re.S)
    if m:
        kind, name = m.group(1).lower(), m.group(2).replace('"', '')
        if '.' not in name:
            name = 'metrics.' + name
        # the argument list: up to the matching parenthesis
        rest, depth, j = m.group(3), 1, 0
        while j < len(rest) and depth:
            if rest[j] == '(':
                depth += 1
            elif rest[j] == ')':
                depth -= 1
            j += 1
        argtext = rest[:j - 1]
        if kind == 'aggregate':
            types = [a.strip().lower() for a in split_args(argtext)]
        else:
            types = [t for t in (arg_type(a) for a in split_args(argtext)) if t is not None]
        return (kind, name, ','.join(types)), argtext
    for pat, kind in [(r'CREATE TABLE ([\w.]+)', 'table'), (r'CREATE (?:UNIQUE )?INDEX (\w+)', 'index'),
                      (r'CREATE TYPE ([\w.]+)', 'type'), (r'CREATE VIEW ([\w.]+)', 'view'),
                      (r'CREATE (?:OR REPLACE )?VIEW ([\w.]+)', 'view'),
                      (r'CREATE TRIGGER (\w+)', 'trigger'), (r'CREATE EVENT TRIGGER (\w+)', 'event trigger')]:
        m = re.match(pat, u, re.I)
        if m:
            return (kind, m.group(1), ''), None
    m = re.match(r'CREATE POLICY ("[^"]+"|\w+) ON ([\w.]+)', u, re.I)
    if m:
        return ('policy', m.group(2), m.group(1)), None
    m = re.match(r'ALTER TABLE ([\w.]+) ENABLE ROW LEVEL SECURITY', u, re.I)
    if m:
        return ('rls', m.group(1), ''), None
    m = re.match(r'COMMENT ON (.+?) IS ', u, re.I | re.S)
    if m:
        return ('comment', norm(m.group(1)).lower(), ''), None
    m = re.match(r"SELECT pg_catalog\.pg_extension_config_dump\('([\w.]+)'", u, re.I)
    if m:
        return ('dump', m.group(1), ''), None
    return ('other', u[:200], ''), None


def returns_of(stmt):
    m = re.search(r'\bRETURNS\s+(.*?)\s+(?:LANGUAGE|AS|STRICT|IMMUTABLE|STABLE|VOLATILE|SECURITY|SET|PARALLEL|COST|ROWS)\b', norm(strip_comments(stmt)), re.I | re.S)
    return m.group(1) if m else ''


def index(stmts):
    d, order = {}, []
    for st in stmts:
        if not strip_comments(st):
            continue
        k, argtext = key_of(st)
        if k in d and k[0] == 'other':
            k = (k[0], k[1], str(len(order)))
        d[k] = (st, argtext)
        order.append(k)
    return d, order


def main():
    old = split_statements(open(sys.argv[1]).read())
    new = split_statements(open(sys.argv[2]).read())
    od, oorder = index(old)
    nd, norder = index(new)
    out, report = [], []
    recreated = []
    # functions gone (or whose signature changed): dropped first
    for k in oorder:
        if k[0] in ('function', 'procedure', 'aggregate') and k not in nd:
            argtext = od[k][1]
            args = ', '.join(arg_for_drop(a) for a in split_args(argtext)) if k[0] != 'aggregate' else argtext
            out.append(f"DROP {k[0].upper()} {k[1]}({args});")
    for k in norder:
        st, argtext = nd[k]
        body = strip_comments(st)
        if k in od:
            if norm(strip_comments(od[k][0])) == norm(body):
                continue
            if k[0] in ('function', 'procedure'):
                if returns_of(od[k][0]) != returns_of(st):
                    args = ', '.join(arg_for_drop(a) for a in split_args(argtext))
                    out.append(leading_comments(st))
                    out.append(f"DROP {k[0].upper()} {k[1]}({args});")
                    out.append(body)
                    recreated.append(k)
                else:
                    out.append(leading_comments(st))
                    out.append(re.sub(r'^CREATE (FUNCTION|PROCEDURE)', r'CREATE OR REPLACE \1', body, count=1, flags=re.I))
                continue
            if k[0] == 'policy':
                out.append(f"DROP POLICY {k[2]} ON {k[1]};")
                out.append(leading_comments(st))
                out.append(body)
                continue
            if k[0] in ('comment', 'view'):
                out.append(leading_comments(st))
                out.append(re.sub(r'^CREATE VIEW', 'CREATE OR REPLACE VIEW', body, count=1, flags=re.I))
                continue
            report.append(f"CHANGED {k}: write by hand")
            out.append(f"-- TODO changed {k[0]} {k[1]}")
            continue
        if k[0] in ('function', 'procedure', 'aggregate', 'table', 'view', 'type'):
            recreated.append(k)
        lc = leading_comments(st)
        if lc:
            out.append(lc)
        out.append(body)
    print('\n'.join(x for x in out if x))
    fns = [f"{k[1]}({k[2]})" for k in recreated if k[0] in ('function', 'procedure')]
    rels = [k[1] for k in recreated if k[0] in ('table', 'view')]
    if fns:
        print("\n-- Nothing new for PUBLIC; each level's new and re-created objects to the roles that hold it")
        print("-- (only those: a grant made by an update script is an initial privilege, which pg_dump leaves")
        print("-- out, so the grants the owner made before stay ordinary ones). The list of each level comes")
        print("-- from access_rules(), filtered to what this update created.")
        print("REVOKE EXECUTE ON FUNCTION\n    " + ",\n    ".join(fns) + "\n    FROM PUBLIC;")
    names = rels + fns
    if names:
        print("""DO $$
DECLARE
    r record;
BEGIN
    FOR r IN
        SELECT a.role_name, ru.object_type, ru.object_name, ru.privilege
        FROM metrics.api_roles() AS a
        JOIN metrics._access_levels() AS have ON have.access = a.access
        CROSS JOIN metrics.access_rules() AS ru
        JOIN metrics._access_levels() AS need ON need.access = ru.access
        WHERE a.role_exists AND need.rank <= have.rank AND ru.object_name = ANY (ARRAY[""")
        print(",\n".join(f"            '{x}'" for x in names))
        print("""        ])
    LOOP
        EXECUTE pg_catalog.format('GRANT %s ON %s %s TO %I', r.privilege,
            CASE r.object_type WHEN 'table' THEN 'TABLE' WHEN 'procedure' THEN 'PROCEDURE' ELSE 'FUNCTION' END,
            r.object_name, r.role_name);
    END LOOP;
END
$$;""")
    print('-- OBJECTS (new or re-created):', file=sys.stderr)
    for k in recreated:
        print(f"--   {k[0]} {k[1]}({k[2]})", file=sys.stderr)
    for r in report:
        print(r, file=sys.stderr)


if __name__ == '__main__':
    main()
