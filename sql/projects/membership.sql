-- metrics: projects and who is a member of them. The membership check is pluggable like the
-- administrator check: by default the JWT claim app_metadata.projects (an array of project
-- ids or slugs, or one of them), or a function of the project id the owner sets with
-- set_project_check. Administrators read every project.
--
-- How the policies use it (sql/access/policies.sql): the projects table shows a reader the
-- projects is_project_member accepts (per row: it reads no table, so it never recurses);
-- every project-scoped table shows the rows of member_projects(), the ids of the projects a
-- reader sees, computed once per query as an InitPlan.

-- Whether the request is a member of the project (not counting administrators): the
-- configured check, called as the caller, or the default JWT claim.
CREATE FUNCTION metrics.is_project_member(project_id uuid, project_slug text DEFAULT NULL)
RETURNS boolean
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    configured text;
    check_fn   regprocedure;
    verdict    boolean;
    claims     text;
    claimed    jsonb;
BEGIN
    IF project_id IS NULL THEN
        RETURN false;
    END IF;
    SELECT c.check_function INTO configured FROM metrics.project_check AS c;
    IF configured IS NOT NULL THEN
        check_fn := pg_catalog.to_regprocedure(configured);
        IF check_fn IS NULL THEN
            RETURN false;  -- dropped since it was set: fail closed (verify_security reports it)
        END IF;
        EXECUTE pg_catalog.format('SELECT %s($1)', check_fn::regproc) INTO verdict USING project_id;
        RETURN coalesce(verdict, false);
    END IF;
    claims := pg_catalog.current_setting('request.jwt.claims', true);
    IF claims IS NULL OR claims = '' THEN
        RETURN false;
    END IF;
    -- Claims that are not a JSON object, hold values PostgreSQL cannot represent or nest too
    -- deeply make nobody a member, and never turn a read into an error (as is_admin).
    BEGIN
        claimed := claims::jsonb -> 'app_metadata' -> 'projects';
    EXCEPTION WHEN data_exception OR statement_too_complex THEN
        RETURN false;
    END;
    RETURN CASE pg_catalog.jsonb_typeof(claimed)
        WHEN 'array' THEN claimed ? (project_id::text) OR (project_slug IS NOT NULL AND claimed ? project_slug)
        WHEN 'string' THEN claimed #>> '{}' IN (project_id::text, project_slug)
        ELSE false END;
END
$$;
COMMENT ON FUNCTION metrics.is_project_member(uuid, text) IS
    'True when the request is a member of the project: the check set with metrics.set_project_check, or by default the JWT claim app_metadata.projects (ids or slugs).';

-- The ids of the projects the caller reads: all of them for administrators, else those the
-- projects table's policy shows (is_project_member). Policies call it as (SELECT ...): once
-- per query.
CREATE FUNCTION metrics.member_projects()
RETURNS uuid[]
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT coalesce(pg_catalog.array_agg(p.id ORDER BY p.id), '{}') FROM metrics.projects AS p
$$;
COMMENT ON FUNCTION metrics.member_projects() IS
    'The ids of the projects the caller may read (administrators: all).';

-- A project named by slug or id, among those the caller reads. A project the caller may not
-- read does not exist for them: same error, same message, whether it exists or not.
CREATE FUNCTION metrics.project_id(project text)
RETURNS uuid
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    found uuid;
BEGIN
    IF project IS NULL THEN
        RAISE EXCEPTION 'project must not be NULL'
            USING ERRCODE = '22004', HINT = 'name a project by its slug or id; metrics.projects lists the projects you can read';
    END IF;
    SELECT p.id INTO found FROM metrics.projects AS p
    WHERE p.slug = project OR p.id::text = pg_catalog.lower(project);
    IF found IS NULL THEN
        RAISE EXCEPTION 'project "%" does not exist', pg_catalog.left(project, 100)
            USING ERRCODE = '42704', HINT = 'name a project by its slug or id; metrics.projects lists the projects you can read';
    END IF;
    RETURN found;
END
$$;
COMMENT ON FUNCTION metrics.project_id(text) IS
    'The id of a project named by slug or id, among the projects the caller reads (42704 otherwise).';

-- Checks a project's fields; raises 22023 with the field's name.
CREATE FUNCTION metrics._check_project_fields(slug text, name text, time_zone text)
RETURNS void
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF slug IS NOT NULL AND slug !~ '^[a-z0-9][a-z0-9_-]{0,62}$' THEN
        RAISE EXCEPTION 'slug "%" is not a valid project slug', pg_catalog.left(slug, 100)
            USING ERRCODE = '22023',
                  HINT = 'use 1 to 63 lowercase letters, digits, "-" or "_", starting with a letter or digit, e.g. acme-corp';
    END IF;
    IF name IS NOT NULL AND pg_catalog.length(pg_catalog.btrim(name)) NOT BETWEEN 1 AND 200 THEN
        RAISE EXCEPTION 'name must have 1 to 200 characters besides spaces'
            USING ERRCODE = '22023', HINT = 'give the project a name people recognise, e.g. Acme Corp';
    END IF;
    IF time_zone IS NOT NULL AND NOT EXISTS (SELECT FROM pg_catalog.pg_timezone_names AS z WHERE z.name = time_zone) THEN
        RAISE EXCEPTION 'time_zone "%" is not a time zone', pg_catalog.left(time_zone, 100)
            USING ERRCODE = '22023',
                  HINT = 'use a name from pg_timezone_names such as UTC or Europe/Berlin, or NULL for metrics.timezone';
    END IF;
END
$$;
COMMENT ON FUNCTION metrics._check_project_fields(text, text, text) IS
    'Part of create_project and update_project: refuses a bad slug, name or time zone (22023).';

CREATE FUNCTION metrics.create_project(slug text, name text, time_zone text DEFAULT NULL, whole_database boolean DEFAULT false)
RETURNS metrics.projects
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    created metrics.projects;
BEGIN
    IF slug IS NULL OR name IS NULL OR whole_database IS NULL THEN
        RAISE EXCEPTION '% must not be NULL', CASE WHEN slug IS NULL THEN 'slug' WHEN name IS NULL THEN 'name' ELSE 'whole_database' END
            USING ERRCODE = '22004', HINT = 'metrics.create_project(''acme-corp'', ''Acme Corp'')';
    END IF;
    PERFORM metrics._check_project_fields(slug, name, time_zone);
    IF EXISTS (SELECT FROM metrics.projects AS p WHERE p.slug = create_project.slug) THEN
        RAISE EXCEPTION 'project "%" already exists', slug
            USING ERRCODE = '23505', HINT = 'choose another slug, or change the project with metrics.update_project';
    END IF;
    IF whole_database AND EXISTS (SELECT FROM metrics.projects AS p WHERE p.whole_database) THEN
        RAISE EXCEPTION 'another project already covers the whole database'
            USING ERRCODE = '23505', HINT = 'only one project can hold what belongs to no project; SELECT slug FROM metrics.projects WHERE whole_database';
    END IF;
    INSERT INTO metrics.projects AS p (slug, name, time_zone, whole_database)
    VALUES (create_project.slug, pg_catalog.btrim(create_project.name), create_project.time_zone, create_project.whole_database)
    RETURNING p.* INTO created;
    RETURN created;
END
$$;
COMMENT ON FUNCTION metrics.create_project(text, text, text, boolean) IS
    'Creates a project (slug, name, time zone or NULL for metrics.timezone, whether it covers the whole database).';

CREATE FUNCTION metrics.update_project(project text, slug text DEFAULT NULL, name text DEFAULT NULL, time_zone text DEFAULT NULL)
RETURNS metrics.projects
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    target  uuid := metrics.project_id(project);
    changed metrics.projects;
BEGIN
    PERFORM metrics._check_project_fields(slug, name, time_zone);
    IF slug IS NOT NULL AND EXISTS (SELECT FROM metrics.projects AS p WHERE p.slug = update_project.slug AND p.id <> target) THEN
        RAISE EXCEPTION 'project "%" already exists', slug
            USING ERRCODE = '23505', HINT = 'choose another slug';
    END IF;
    UPDATE metrics.projects AS p
    SET slug = coalesce(update_project.slug, p.slug),
        name = coalesce(pg_catalog.btrim(update_project.name), p.name),
        time_zone = coalesce(update_project.time_zone, p.time_zone),
        updated_at = pg_catalog.now()
    WHERE p.id = target
    RETURNING p.* INTO changed;
    RETURN changed;
END
$$;
COMMENT ON FUNCTION metrics.update_project(text, text, text, text) IS
    'Changes a project''s slug, name or time zone (NULL keeps each).';

CREATE FUNCTION metrics.drop_project(project text)
RETURNS boolean
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    target uuid := metrics.project_id(project);
    sealed bigint;
BEGIN
    SELECT pg_catalog.count(*) INTO sealed FROM metrics.daily_metrics AS d WHERE d.project_id = target;
    IF sealed > 0 THEN
        RAISE EXCEPTION 'project "%" has % sealed daily values', project, sealed
            USING ERRCODE = '2BP01',
                  DETAIL = 'Sealed values are never deleted, so their project stays.',
                  HINT = 'keep the project; remove its members from the check (or the JWT claim) to hide it';
    END IF;
    DELETE FROM metrics.projects AS p WHERE p.id = target;
    RETURN true;
END
$$;
COMMENT ON FUNCTION metrics.drop_project(text) IS
    'Drops a project without sealed values, with its read model and repository mappings.';

-- A GitHub repository's project (NULL: no project any more).
CREATE FUNCTION metrics.set_project_repository(repository text, project text)
RETURNS uuid
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    target uuid;
BEGIN
    IF repository IS NULL OR repository !~ '^[A-Za-z0-9_.-]{1,100}/[A-Za-z0-9_.-]{1,100}$' THEN
        RAISE EXCEPTION 'repository % is not "owner/name"', coalesce(pg_catalog.quote_literal(pg_catalog.left(repository, 100)), 'NULL')
            USING ERRCODE = '22023', HINT = 'name the repository as GitHub does, e.g. acme/shop';
    END IF;
    IF project IS NULL THEN
        DELETE FROM metrics.project_repositories AS r WHERE r.repository = set_project_repository.repository;
        RETURN NULL;
    END IF;
    target := metrics.project_id(project);
    INSERT INTO metrics.project_repositories AS r (repository, project_id)
    VALUES (set_project_repository.repository, target)
    ON CONFLICT ON CONSTRAINT project_repositories_pkey
    DO UPDATE SET project_id = excluded.project_id, mapped_at = pg_catalog.now();
    RETURN target;
END
$$;
COMMENT ON FUNCTION metrics.set_project_repository(text, text) IS
    'Puts a GitHub repository (owner/name) in a project, so its DORA keys are the project''s; NULL removes it.';

CREATE FUNCTION metrics.set_project_check(check_function text)
RETURNS text
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    fn regprocedure;
BEGIN
    IF check_function IS NULL THEN
        DELETE FROM metrics.project_check;
        RETURN NULL;
    END IF;
    fn := metrics._resolve_check_function(check_function, 'uuid'::regtype,
        'a function of the project id that returns boolean, such as public.is_member(uuid)');
    INSERT INTO metrics.project_check AS c (singleton, check_function)
    VALUES (true, fn::text)
    ON CONFLICT ON CONSTRAINT project_check_pkey
    DO UPDATE SET check_function = excluded.check_function, set_by = session_user, set_at = pg_catalog.now();
    RETURN fn::text;
END
$$;
COMMENT ON FUNCTION metrics.set_project_check(text) IS
    'Use a boolean function of the project id (uuid) to decide who is a member of a project; NULL restores the default JWT claim check (app_metadata.projects).';
