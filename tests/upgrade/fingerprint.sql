-- A catalog fingerprint of the metrics extension: one sorted text line per fact about every
-- object of the extension (its members, per pg_depend deptype 'e') and every object in schema
-- metrics, free of OIDs, so two databases can be compared with diff. The upgrade test compares
-- a database updated with ALTER EXTENSION metrics UPDATE with a fresh CREATE EXTENSION.
--
--   psql -X -qAt -v ON_ERROR_STOP=1 -d DB -f tests/upgrade/fingerprint.sql
--
-- Covered: routines (signature, arguments with defaults, result, kind, language, volatility,
-- strictness, security definer, leakproof, parallel safety, cost, rows, proconfig, owner, the
-- body line by line (for C functions the link symbol, probin the library), ACL); relations
-- (kind, owner, persistence, RLS enabled/forced, replica identity, access method, reloptions,
-- ACL), columns (type, collation, NOT NULL, default, identity, generated, ACL) and their
-- order, constraints, indexes, triggers (and whether enabled), policies, rules, view
-- definitions, sequences, types (enum labels, domains), statistics objects, the schema (owner,
-- ACL, default privileges), comments on all of these, the extension row (version, owner,
-- schema, extconfig/extcondition as table names) and its pg_init_privs entries.
-- ACLs are the effective ones (a NULL ACL is shown as its default) expanded to role names,
-- one line per grantee and grantor.
--
-- Not covered, on purpose: OIDs, data (rows, sequence values), statistics, storage details
-- (tablespace OIDs, relfilenodes, fillfactor unless in reloptions), internal triggers (those
-- of foreign keys, named after OIDs; the constraints are covered), dropped columns (so
-- attnum gaps left by ALTER TABLE DROP COLUMN do not count, only the order of live columns).

SET search_path = pg_catalog, pg_temp;

WITH
ext AS (SELECT e.* FROM pg_extension AS e WHERE e.extname = 'metrics'),
nsp AS (SELECT n.* FROM pg_namespace AS n WHERE n.nspname = 'metrics'),
members AS (
    SELECT d.classid, d.objid, d.objsubid
    FROM pg_depend AS d JOIN ext ON d.refobjid = ext.oid
    WHERE d.refclassid = 'pg_extension'::regclass AND d.deptype = 'e'
),
-- Initial privileges, without entries that only restate an object's default ACL (the owner's
-- privileges): pg_dump compares ACLs with the entry if there is one, else with the default,
-- so such an entry means exactly what no entry means. (An update that revoked PUBLIC's
-- grants leaves one behind; a fresh install has none.)
init AS (
    SELECT ip.* FROM pg_init_privs AS ip
    WHERE ip.initprivs IS DISTINCT FROM (CASE ip.classoid
        WHEN 'pg_class'::regclass THEN (SELECT acldefault((CASE c.relkind WHEN 'S' THEN 's' ELSE 'r' END)::"char", c.relowner)
                                        FROM pg_class AS c WHERE c.oid = ip.objoid AND ip.objsubid = 0)
        WHEN 'pg_namespace'::regclass THEN (SELECT acldefault('n'::"char", n.nspowner) FROM pg_namespace AS n WHERE n.oid = ip.objoid)
        WHEN 'pg_proc'::regclass THEN (SELECT acldefault('f'::"char", p.proowner) FROM pg_proc AS p WHERE p.oid = ip.objoid)
    END)
),
rels AS (
    SELECT c.* FROM pg_class AS c
    WHERE c.relnamespace IN (SELECT oid FROM nsp)
       OR c.oid IN (SELECT objid FROM members WHERE classid = 'pg_class'::regclass)
),
procs AS (
    SELECT p.* FROM pg_proc AS p
    WHERE p.pronamespace IN (SELECT oid FROM nsp)
       OR p.oid IN (SELECT objid FROM members WHERE classid = 'pg_proc'::regclass)
),
types AS (
    SELECT t.* FROM pg_type AS t
    WHERE t.typnamespace IN (SELECT oid FROM nsp)
       OR t.oid IN (SELECT objid FROM members WHERE classid = 'pg_type'::regclass)
),
-- Types that are more than a relation's row type or another type's array type.
own_types AS (
    SELECT t.oid FROM types AS t
    WHERE (t.typrelid = 0 OR (SELECT relkind FROM pg_class WHERE oid = t.typrelid) = 'c')
      AND NOT EXISTS (SELECT FROM pg_type AS e WHERE e.typarray = t.oid)
),
cons AS (
    SELECT co.* FROM pg_constraint AS co
    WHERE co.conrelid IN (SELECT oid FROM rels) OR co.contypid IN (SELECT oid FROM types)
       OR co.connamespace IN (SELECT oid FROM nsp)
),
trigs AS (
    SELECT tg.* FROM pg_trigger AS tg
    WHERE tg.tgrelid IN (SELECT oid FROM rels) AND NOT tg.tgisinternal
),
pols AS (SELECT po.* FROM pg_policy AS po WHERE po.polrelid IN (SELECT oid FROM rels)),
rules AS (
    SELECT ru.* FROM pg_rewrite AS ru
    WHERE ru.ev_class IN (SELECT oid FROM rels) AND ru.rulename <> '_RETURN'
),
stats AS (
    SELECT st.* FROM pg_statistic_ext AS st
    WHERE st.stxnamespace IN (SELECT oid FROM nsp) OR st.stxrelid IN (SELECT oid FROM rels)
),
cols AS (
    SELECT a.*, r.relkind FROM pg_attribute AS a JOIN rels AS r ON r.oid = a.attrelid
    WHERE a.attnum > 0 AND NOT a.attisdropped AND r.relkind NOT IN ('i', 'I')
),
-- Every object looked at, for the object list and the comments.
objs AS (
    SELECT classid, objid, objsubid FROM members
    UNION SELECT 'pg_class'::regclass, oid, 0 FROM rels
    UNION SELECT 'pg_class'::regclass, attrelid, attnum FROM cols
    UNION SELECT 'pg_proc'::regclass, oid, 0 FROM procs
    UNION SELECT 'pg_type'::regclass, oid, 0 FROM types
    UNION SELECT 'pg_constraint'::regclass, oid, 0 FROM cons
    UNION SELECT 'pg_trigger'::regclass, oid, 0 FROM trigs
    UNION SELECT 'pg_policy'::regclass, oid, 0 FROM pols
    UNION SELECT 'pg_rewrite'::regclass, oid, 0 FROM rules
    UNION SELECT 'pg_statistic_ext'::regclass, oid, 0 FROM stats
    UNION SELECT 'pg_namespace'::regclass, oid, 0 FROM nsp
    UNION SELECT 'pg_extension'::regclass, oid, 0 FROM ext
    UNION SELECT 'pg_operator'::regclass, oid, 0 FROM pg_operator WHERE oprnamespace IN (SELECT oid FROM nsp)
    UNION SELECT 'pg_opclass'::regclass, oid, 0 FROM pg_opclass WHERE opcnamespace IN (SELECT oid FROM nsp)
    UNION SELECT 'pg_opfamily'::regclass, oid, 0 FROM pg_opfamily WHERE opfnamespace IN (SELECT oid FROM nsp)
    UNION SELECT 'pg_collation'::regclass, oid, 0 FROM pg_collation WHERE collnamespace IN (SELECT oid FROM nsp)
    UNION SELECT 'pg_conversion'::regclass, oid, 0 FROM pg_conversion WHERE connamespace IN (SELECT oid FROM nsp)
    UNION SELECT 'pg_ts_config'::regclass, oid, 0 FROM pg_ts_config WHERE cfgnamespace IN (SELECT oid FROM nsp)
    UNION SELECT 'pg_ts_dict'::regclass, oid, 0 FROM pg_ts_dict WHERE dictnamespace IN (SELECT oid FROM nsp)
),
idents AS (
    SELECT o.classid, o.objid, o.objsubid, i.type, i.identity
    FROM objs AS o, LATERAL pg_identify_object(o.classid, o.objid, o.objsubid) AS i
),
-- Prefixes naming each object in its lines.
rel_names AS (
    SELECT r.oid, format('%s %s',
        CASE r.relkind WHEN 'r' THEN 'table' WHEN 'p' THEN 'table' WHEN 'v' THEN 'view'
            WHEN 'm' THEN 'materialized view' WHEN 'i' THEN 'index' WHEN 'I' THEN 'index'
            WHEN 'S' THEN 'sequence' WHEN 'f' THEN 'foreign table' WHEN 'c' THEN 'composite type'
            WHEN 't' THEN 'toast table' ELSE r.relkind::text END,
        r.oid::regclass::text) AS name
    FROM rels AS r
),
proc_names AS (
    SELECT p.oid, format('%s %s',
        CASE p.prokind WHEN 'f' THEN 'function' WHEN 'p' THEN 'procedure' WHEN 'a' THEN 'aggregate'
            WHEN 'w' THEN 'window function' END,
        p.oid::regprocedure::text) AS name
    FROM procs AS p
),
-- Effective ACLs (NULL means the default for the owner).
acls AS (
    SELECT n.name, coalesce(r.relacl, acldefault(CASE WHEN r.relkind = 'S' THEN 's' ELSE 'r' END::"char", r.relowner)) AS acl
    FROM rels AS r JOIN rel_names AS n USING (oid)
    WHERE r.relkind NOT IN ('i', 'I', 't')
    UNION ALL
    SELECT format('column %s.%I', c.attrelid::regclass, c.attname), c.attacl
    FROM cols AS c WHERE c.attacl IS NOT NULL
    UNION ALL
    SELECT n.name, coalesce(p.proacl, acldefault('f', p.proowner))
    FROM procs AS p JOIN proc_names AS n USING (oid)
    UNION ALL
    SELECT 'type ' || format_type(t.oid, NULL), coalesce(t.typacl, acldefault('T', t.typowner))
    FROM types AS t WHERE t.oid IN (SELECT oid FROM own_types)
    UNION ALL
    SELECT format('schema %I', n.nspname), coalesce(n.nspacl, acldefault('n'::"char", n.nspowner)) FROM nsp AS n
),
lines AS (
    -- The objects, and which of them are members of the extension.
    SELECT format('object %s %s', i.type, i.identity) AS line FROM idents AS i
    UNION ALL
    SELECT format('member %s %s', i.type, i.identity)
    FROM idents AS i JOIN members AS m USING (classid, objid, objsubid)

    -- Relations.
    UNION ALL
    SELECT format('%s: %s = %s', n.name, a.key, a.value)
    FROM rels AS r JOIN rel_names AS n USING (oid),
    LATERAL (VALUES
        ('owner', pg_get_userbyid(r.relowner)),
        ('persistence', r.relpersistence::text),
        ('row level security', r.relrowsecurity::text),
        ('force row level security', r.relforcerowsecurity::text),
        ('replica identity', r.relreplident::text),
        ('access method', coalesce((SELECT amname FROM pg_am WHERE oid = r.relam)::text, '-')),
        ('reloptions', coalesce(r.reloptions::text, '-')),
        -- Only where there is one:
        ('partition bound', pg_get_expr(r.relpartbound, r.oid)),
        ('partition key', CASE WHEN r.relkind = 'p' THEN pg_get_partkeydef(r.oid) END),
        ('inherits', (SELECT string_agg(i.inhparent::regclass::text, ', ' ORDER BY i.inhseqno)
                      FROM pg_inherits AS i WHERE i.inhrelid = r.oid))
    ) AS a(key, value)
    WHERE r.relkind NOT IN ('i', 'I', 't') AND a.value IS NOT NULL

    -- Columns, and their order (among live columns).
    UNION ALL
    SELECT format('column %s.%I: %s = %s', c.attrelid::regclass, c.attname, a.key, a.value)
    FROM cols AS c,
    LATERAL (VALUES
        ('type', format_type(c.atttypid, c.atttypmod)),
        ('not null', c.attnotnull::text),
        ('default', coalesce((SELECT pg_get_expr(d.adbin, d.adrelid) FROM pg_attrdef AS d
                              WHERE d.adrelid = c.attrelid AND d.adnum = c.attnum), '-')),
        ('identity', CASE c.attidentity WHEN 'a' THEN 'always' WHEN 'd' THEN 'by default' ELSE '-' END),
        ('generated', CASE c.attgenerated WHEN 's' THEN 'stored' ELSE '-' END),
        ('collation', CASE WHEN c.attcollation <> (SELECT typcollation FROM pg_type WHERE oid = c.atttypid)
                           THEN (SELECT collname FROM pg_collation WHERE oid = c.attcollation)::text ELSE '-' END)
    ) AS a(key, value)
    UNION ALL
    SELECT format('%s: column order = %s', n.name, string_agg(quote_ident(c.attname), ', ' ORDER BY c.attnum))
    FROM cols AS c JOIN rel_names AS n ON n.oid = c.attrelid
    GROUP BY n.name

    -- Constraints, indexes, triggers, policies, rules, statistics objects.
    UNION ALL
    SELECT format('constraint %I on %s: %s', co.conname,
                  CASE WHEN co.conrelid <> 0 THEN co.conrelid::regclass::text
                       WHEN co.contypid <> 0 THEN 'domain ' || format_type(co.contypid, NULL) ELSE '-' END,
                  pg_get_constraintdef(co.oid))
    FROM cons AS co
    UNION ALL
    SELECT format('index %s: %s%s', i.indexrelid::regclass, pg_get_indexdef(i.indexrelid),
                  CASE WHEN i.indisclustered THEN ' (clustered)' ELSE '' END)
    FROM pg_index AS i WHERE i.indrelid IN (SELECT oid FROM rels)
    UNION ALL
    SELECT format('trigger %I on %s: %s (enabled = %s)', tg.tgname, tg.tgrelid::regclass,
                  pg_get_triggerdef(tg.oid), tg.tgenabled)
    FROM trigs AS tg
    UNION ALL
    SELECT format('policy %I on %s: %s = %s', po.polname, po.polrelid::regclass, a.key, a.value)
    FROM pols AS po,
    LATERAL (VALUES
        ('command', CASE po.polcmd WHEN 'r' THEN 'SELECT' WHEN 'a' THEN 'INSERT' WHEN 'w' THEN 'UPDATE'
                        WHEN 'd' THEN 'DELETE' WHEN '*' THEN 'ALL' END),
        ('permissive', po.polpermissive::text),
        ('roles', (SELECT string_agg(CASE WHEN r = 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(r)) END, ', '
                                     ORDER BY CASE WHEN r = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(r)::text END)
                   FROM unnest(po.polroles) AS r)),
        ('using', coalesce(pg_get_expr(po.polqual, po.polrelid), '-')),
        ('with check', coalesce(pg_get_expr(po.polwithcheck, po.polrelid), '-'))
    ) AS a(key, value)
    UNION ALL
    SELECT format('rule %I on %s: %s (enabled = %s)', ru.rulename, ru.ev_class::regclass,
                  pg_get_ruledef(ru.oid), ru.ev_enabled)
    FROM rules AS ru
    UNION ALL
    SELECT format('statistics %I.%I: %s', st.stxnamespace::regnamespace, st.stxname, pg_get_statisticsobjdef(st.oid))
    FROM stats AS st

    -- Views and materialized views: the definition, line by line.
    UNION ALL
    SELECT format('%s: definition %s: %s', n.name, lpad(d.n::text, 4, '0'), d.line)
    FROM rels AS r JOIN rel_names AS n USING (oid),
    LATERAL regexp_split_to_table(pg_get_viewdef(r.oid), E'\n') WITH ORDINALITY AS d(line, n)
    WHERE r.relkind IN ('v', 'm')

    -- Sequences.
    UNION ALL
    SELECT format('%s: %s = %s', n.name, a.key, a.value)
    FROM pg_sequence AS s JOIN rel_names AS n ON n.oid = s.seqrelid,
    LATERAL (VALUES
        ('type', format_type(s.seqtypid, NULL)), ('start', s.seqstart::text),
        ('increment', s.seqincrement::text), ('min', s.seqmin::text), ('max', s.seqmax::text),
        ('cache', s.seqcache::text), ('cycle', s.seqcycle::text),
        ('owned by', coalesce((SELECT format('%s.%I', d.refobjid::regclass, a.attname)
                               FROM pg_depend AS d JOIN pg_attribute AS a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
                               WHERE d.classid = 'pg_class'::regclass AND d.objid = s.seqrelid
                                 AND d.refclassid = 'pg_class'::regclass AND d.refobjsubid > 0
                                 AND d.deptype IN ('a', 'i')), '-'))
    ) AS a(key, value)

    -- Routines.
    UNION ALL
    SELECT format('%s: %s = %s', n.name, a.key, a.value)
    FROM procs AS p JOIN proc_names AS n USING (oid),
    LATERAL (VALUES
        ('arguments', pg_get_function_arguments(p.oid)),
        ('result', coalesce(pg_get_function_result(p.oid), '-')),
        ('language', (SELECT lanname FROM pg_language WHERE oid = p.prolang)::text),
        ('volatility', CASE p.provolatile WHEN 'i' THEN 'immutable' WHEN 's' THEN 'stable' WHEN 'v' THEN 'volatile' END),
        ('strict', p.proisstrict::text),
        ('security definer', p.prosecdef::text),
        ('leakproof', p.proleakproof::text),
        ('parallel', CASE p.proparallel WHEN 's' THEN 'safe' WHEN 'r' THEN 'restricted' WHEN 'u' THEN 'unsafe' END),
        ('cost', p.procost::text),
        ('rows', p.prorows::text),
        ('support', p.prosupport::regproc::text),
        ('config', coalesce(p.proconfig::text, '-')),
        ('owner', pg_get_userbyid(p.proowner)::text),
        ('library', coalesce(p.probin, '-'))
    ) AS a(key, value)
    UNION ALL
    SELECT format('%s: body %s: %s', n.name, lpad(b.n::text, 4, '0'), b.line)
    FROM procs AS p JOIN proc_names AS n USING (oid),
    LATERAL regexp_split_to_table(coalesce(pg_get_function_sqlbody(p.oid), p.prosrc), E'\n') WITH ORDINALITY AS b(line, n)

    -- Types (other than the row types of tables, views and sequences, which are their relation).
    UNION ALL
    SELECT format('type %s: %s = %s', format_type(t.oid, NULL), a.key, a.value)
    FROM types AS t,
    LATERAL (VALUES
        ('kind', t.typtype::text),
        ('owner', pg_get_userbyid(t.typowner)::text),
        ('base type', CASE WHEN t.typtype = 'd' THEN format_type(t.typbasetype, t.typtypmod) ELSE '-' END),
        ('not null', t.typnotnull::text),
        ('default', coalesce(t.typdefault, '-')),
        ('enum labels', coalesce((SELECT string_agg(quote_literal(e.enumlabel), ', ' ORDER BY e.enumsortorder)
                                  FROM pg_enum AS e WHERE e.enumtypid = t.oid), '-'))
    ) AS a(key, value)
    WHERE t.oid IN (SELECT oid FROM own_types)

    -- ACLs, one line per grantee and grantor.
    UNION ALL
    SELECT format('%s: acl %s = %s (granted by %s)', a.name,
                  CASE WHEN x.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(x.grantee)) END,
                  string_agg(x.privilege_type || CASE WHEN x.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END,
                             ', ' ORDER BY x.privilege_type),
                  quote_ident(pg_get_userbyid(x.grantor)))
    FROM acls AS a, LATERAL aclexplode(a.acl) AS x
    GROUP BY a.name, x.grantee, x.grantor
    UNION ALL
    SELECT format('%s: acl (none)', a.name) FROM acls AS a WHERE cardinality(a.acl) = 0

    -- The schema and its default privileges.
    UNION ALL
    SELECT format('schema %I: owner = %s', n.nspname, pg_get_userbyid(n.nspowner)) FROM nsp AS n
    UNION ALL
    SELECT format('default privileges of %s in schema %s on %s: %s = %s', quote_ident(pg_get_userbyid(d.defaclrole)),
                  coalesce(d.defaclnamespace::regnamespace::text, '(all schemas)'), d.defaclobjtype,
                  CASE WHEN x.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(x.grantee)) END,
                  string_agg(x.privilege_type || CASE WHEN x.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END,
                             ', ' ORDER BY x.privilege_type))
    FROM pg_default_acl AS d, LATERAL aclexplode(d.defaclacl) AS x
    WHERE d.defaclnamespace IN (SELECT oid FROM nsp)
    GROUP BY d.defaclrole, d.defaclnamespace, d.defaclobjtype, x.grantee

    -- Comments.
    UNION ALL
    SELECT format('comment on %s %s: %s', i.type, i.identity, replace(d.description, E'\n', '\n'))
    FROM idents AS i JOIN pg_description AS d
      ON d.classoid = i.classid AND d.objoid = i.objid AND d.objsubid = i.objsubid

    -- The extension: its row, the tables pg_dump dumps (extconfig/extcondition) and the
    -- initial privileges pg_dump compares ACLs with (pg_init_privs).
    UNION ALL
    SELECT format('extension %I: %s = %s', e.extname, a.key, a.value)
    FROM ext AS e,
    LATERAL (VALUES
        ('version', e.extversion),
        ('owner', pg_get_userbyid(e.extowner)::text),
        ('schema', e.extnamespace::regnamespace::text),
        ('relocatable', e.extrelocatable::text)
    ) AS a(key, value)
    UNION ALL
    SELECT format('extension %I: config %s, condition = %s', e.extname, c.tab::regclass, quote_literal(c.cond))
    FROM ext AS e, LATERAL unnest(e.extconfig, e.extcondition) AS c(tab, cond)
    UNION ALL
    SELECT format('init privs of %s %s (%s): %s = %s (granted by %s)', i.type, i.identity,
                  CASE ip.privtype WHEN 'e' THEN 'extension' WHEN 'i' THEN 'initdb' ELSE ip.privtype::text END,
                  CASE WHEN x.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(x.grantee)) END,
                  string_agg(x.privilege_type || CASE WHEN x.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END,
                             ', ' ORDER BY x.privilege_type),
                  quote_ident(pg_get_userbyid(x.grantor)))
    FROM init AS ip
    JOIN idents AS i ON i.classid = ip.classoid AND i.objid = ip.objoid AND i.objsubid = ip.objsubid,
    LATERAL aclexplode(ip.initprivs) AS x
    GROUP BY i.type, i.identity, ip.privtype, x.grantee, x.grantor
    UNION ALL
    SELECT format('init privs of %s %s (%s): (none)', i.type, i.identity, ip.privtype)
    FROM init AS ip
    JOIN idents AS i ON i.classid = ip.classoid AND i.objid = ip.objoid AND i.objsubid = ip.objsubid
    WHERE cardinality(ip.initprivs) = 0
)
-- One line per fact: newlines inside a value (a CHECK with CASE, a comment) are shown as \n.
SELECT replace(line, E'\n', '\n') AS line FROM lines ORDER BY line COLLATE "C";
