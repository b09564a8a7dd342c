-- metrics: the guard on sealed history (src/snapshots/protect.rs). DROP EXTENSION metrics,
-- DROP SCHEMA metrics CASCADE and DROP OWNED BY its owner are refused while sealed values exist unless the
-- transaction confirms with SET LOCAL metrics.allow_drop_history = on; a confirmed drop also
-- removes the extension's pg_cron job.
CREATE FUNCTION metrics._protect_history()
RETURNS event_trigger
LANGUAGE c
AS 'MODULE_PATHNAME', 'metrics_protect_history';
COMMENT ON FUNCTION metrics._protect_history() IS
    'Event trigger: refuses DROP EXTENSION metrics while sealed values exist, unless metrics.allow_drop_history is on.';

-- Only a superuser may create an event trigger. Where the installing role is not one, the
-- extension installs without the guard and verify_security() reports it missing.
DO $$
BEGIN
    IF (SELECT r.rolsuper FROM pg_catalog.pg_roles AS r WHERE r.rolname = current_user) THEN
        CREATE EVENT TRIGGER metrics_protect_history ON ddl_command_start
            WHEN TAG IN ('DROP EXTENSION', 'DROP SCHEMA', 'DROP OWNED')
            EXECUTE FUNCTION metrics._protect_history();
        -- Also under session_replication_role = replica, like the seal's row triggers.
        ALTER EVENT TRIGGER metrics_protect_history ENABLE ALWAYS;
    ELSE
        RAISE NOTICE 'metrics: % is not a superuser, so DROP EXTENSION metrics is not guarded', current_user
            USING HINT = 'a superuser can add the guard: CREATE EVENT TRIGGER metrics_protect_history ON ddl_command_start WHEN TAG IN (''DROP EXTENSION'', ''DROP SCHEMA'', ''DROP OWNED'') EXECUTE FUNCTION metrics._protect_history(); ALTER EVENT TRIGGER metrics_protect_history ENABLE ALWAYS';
    END IF;
END
$$;
