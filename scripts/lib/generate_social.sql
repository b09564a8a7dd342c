-- scripts/lib/generate_social.sql: a reproducible social-app data set, for the demo, the
-- backfill benchmark (bench/backfill/run) and anyone who wants realistic rows to try metrics on.
--
--   psql -X -v schema=bench_src -v scale=1 -v end_date=2025-12-31 -f scripts/lib/generate_social.sql
--
-- Variables (all optional):
--   schema    target schema, dropped and created fresh            (default bench_src)
--   scale     1 = 20,000 profiles, 200,000 posts, 600,000 comments (default 1; 10 = 10x, 0.1 works)
--   end_date  last day of data; the data covers the 365 days ending there (default 2025-12-31)
--
-- Shape: every table grows over the year (exponentially, 2x to 3.5x from the first day to the
-- last), weekdays are busier than weekends, each day has some noise, and rows only point at
-- rows that already existed (a post comes after its author's signup, a comment after its post).
-- Days are UTC days. Ids follow created_at, as a sequence would.
--
-- Reproducible: the same scale and end_date give the same rows, bit for bit: one backend, no
-- parallel workers, setseed() first, and every random() call happens in a MATERIALIZED CTE
-- that is read in a fixed order (join plans cannot reorder the draws).
-- Set-based: one INSERT ... SELECT per table; foreign keys and indexes are added after the load.

\set ON_ERROR_STOP on
\if :{?schema}
\else
\set schema bench_src
\endif
\if :{?scale}
\else
\set scale 1
\endif
\if :{?end_date}
\else
\set end_date 2025-12-31
\endif

SET client_min_messages = warning;
SET TimeZone = 'UTC';
SET max_parallel_workers_per_gather = 0;
SET work_mem = '256MB';
SET maintenance_work_mem = '512MB';

-- Row counts for this scale. Fractional scales round; every table keeps at least a few rows.
SELECT (:scale)::numeric > 0 AS scale_ok \gset
\if :scale_ok
\else
DO $$ BEGIN RAISE EXCEPTION 'generate_social.sql: scale must be a positive number'; END $$;
\endif
SELECT greatest(2, round(20000 * (:scale)::numeric))::bigint  AS n_profiles,
       greatest(1, round(200000 * (:scale)::numeric))::bigint AS n_posts,
       greatest(1, round(600000 * (:scale)::numeric))::bigint AS n_comments,
       greatest(1, round(15000 * (:scale)::numeric))::bigint  AS n_tracks,
       greatest(1, round(300000 * (:scale)::numeric))::bigint AS n_likes,
       greatest(1, round(40000 * (:scale)::numeric))::bigint  AS n_follows
\gset

DROP SCHEMA IF EXISTS :"schema" CASCADE;
CREATE SCHEMA :"schema";
SET search_path = :"schema", pg_catalog;

CREATE TABLE profiles (
    id         bigint PRIMARY KEY,
    username   text,
    created_at timestamptz NOT NULL
);
CREATE TABLE posts (
    id         bigint PRIMARY KEY,
    user_id    bigint NOT NULL,
    status     text,
    created_at timestamptz NOT NULL
);
CREATE TABLE comments (
    id         bigint PRIMARY KEY,
    post_id    bigint,
    user_id    bigint,
    created_at timestamptz NOT NULL
);
CREATE TABLE tracks (
    id         bigint PRIMARY KEY,
    user_id    bigint NOT NULL,
    genre      text,
    created_at timestamptz NOT NULL
);
CREATE TABLE likes (
    id         bigint PRIMARY KEY,
    user_id    bigint NOT NULL,
    post_id    bigint NOT NULL,
    created_at timestamptz NOT NULL
);
CREATE TABLE follows (
    follower_id bigint NOT NULL,
    followee_id bigint NOT NULL,
    created_at  timestamptz NOT NULL,
    PRIMARY KEY (follower_id, followee_id)
);

SELECT setseed(0.4242) AS seeded \gset

-- The calendar: one row per day with a weight per table (growth x weekday x noise), turned into
-- exact per-day row counts: cum_x is the number of rows of x created up to the end of the day,
-- a rounded share of the total, so the days add up to exactly n_x.
CREATE TEMP TABLE gen_days ON COMMIT PRESERVE ROWS AS
SELECT i,
       day,
       day::timestamp AT TIME ZONE 'UTC'       AS day_start,
       (day + 1)::timestamp AT TIME ZONE 'UTC' AS day_end,
       t, weekday, noise,
       0::bigint AS cum_profiles, 0::bigint AS cum_posts, 0::bigint AS cum_comments,
       0::bigint AS cum_tracks, 0::bigint AS cum_likes, 0::bigint AS cum_follows
FROM (
    SELECT i,
           (:'end_date'::date - 365 + i) AS day,
           (i - 1) / 364.0::float8 AS t,
           -- Monday 1.0 ... Saturday and Sunday quieter.
           (ARRAY[0.72, 1.00, 1.06, 1.05, 1.02, 0.93, 0.70])[extract(dow FROM :'end_date'::date - 365 + i)::int + 1]::float8 AS weekday,
           0.85 + 0.30 * random() AS noise
    FROM generate_series(1, 365) AS i
) AS d
ORDER BY i;

-- cum_<table> := round(n * running weight / total weight). A day gets weight 0 while what its
-- rows point at does not exist yet (no post before the first profile, and so on).
UPDATE gen_days AS g SET cum_profiles = c.cum
FROM (SELECT i, round(:n_profiles * sum(w) OVER (ORDER BY i) / sum(w) OVER ())::bigint AS cum
      FROM (SELECT i, exp(ln(2.0) * t) * (0.5 + 0.5 * weekday) * noise AS w FROM gen_days) AS w) AS c
WHERE c.i = g.i;
UPDATE gen_days AS g SET cum_posts = c.cum, cum_tracks = c.cum2
FROM (SELECT i, round(:n_posts * sum(w) OVER (ORDER BY i) / sum(w) OVER ())::bigint AS cum,
                round(:n_tracks * sum(w2) OVER (ORDER BY i) / sum(w2) OVER ())::bigint AS cum2
      FROM (SELECT i,
                   CASE WHEN cum_profiles > 0 THEN exp(ln(3.0) * t) * weekday * noise ELSE 0 END AS w,
                   CASE WHEN cum_profiles > 0 THEN exp(ln(2.5) * t) * (1.7 - weekday) * noise ELSE 0 END AS w2
            FROM gen_days) AS w) AS c
WHERE c.i = g.i;
UPDATE gen_days AS g SET cum_comments = c.cum, cum_likes = c.cum2
FROM (SELECT i, round(:n_comments * sum(w) OVER (ORDER BY i) / sum(w) OVER ())::bigint AS cum,
                round(:n_likes * sum(w2) OVER (ORDER BY i) / sum(w2) OVER ())::bigint AS cum2
      FROM (SELECT i,
                   CASE WHEN cum_posts > 0 THEN exp(ln(3.5) * t) * weekday * noise ELSE 0 END AS w,
                   CASE WHEN cum_posts > 0 THEN exp(ln(3.2) * t) * (0.3 + 0.7 * weekday) * noise ELSE 0 END AS w2
            FROM gen_days) AS w) AS c
WHERE c.i = g.i;
UPDATE gen_days AS g SET cum_follows = c.cum
FROM (SELECT i, round(:n_follows * sum(w) OVER (ORDER BY i) / sum(w) OVER ())::bigint AS cum
      FROM (SELECT i, CASE WHEN cum_profiles > 1 THEN exp(ln(2.0) * t) * weekday * noise ELSE 0 END AS w
            FROM gen_days) AS w) AS c
WHERE c.i = g.i;
ALTER TABLE gen_days ADD PRIMARY KEY (i);
ANALYZE gen_days;

-- Per-day row numbers: day i gets rows cum(i-1)+1 .. cum(i) of a table.
CREATE TEMP VIEW gen_slots AS
SELECT g.*,
       coalesce(lag(cum_profiles) OVER (ORDER BY i), 0) AS prev_profiles,
       coalesce(lag(cum_posts)    OVER (ORDER BY i), 0) AS prev_posts,
       coalesce(lag(cum_comments) OVER (ORDER BY i), 0) AS prev_comments,
       coalesce(lag(cum_tracks)   OVER (ORDER BY i), 0) AS prev_tracks,
       coalesce(lag(cum_likes)    OVER (ORDER BY i), 0) AS prev_likes,
       coalesce(lag(cum_follows)  OVER (ORDER BY i), 0) AS prev_follows
FROM gen_days AS g;

-- Instants are drawn to the millisecond with floor(), so they stay strictly before the next
-- midnight: day_start + floor(r * 86400000) ms, or lo + floor(r * (day_end - lo in ms)) ms.

-- profiles ------------------------------------------------------------------------------------
INSERT INTO profiles (id, username, created_at)
WITH draws AS MATERIALIZED (
    SELECT s.i, k, s.day_start, random() AS r_time
    FROM gen_slots AS s CROSS JOIN LATERAL generate_series(1, s.cum_profiles - s.prev_profiles) AS k
), placed AS (
    SELECT i, k, day_start + floor(r_time * 86400000) * interval '1 millisecond' AS created_at
    FROM draws
)
SELECT row_number() OVER (ORDER BY created_at, i, k), NULL, created_at
FROM placed;
UPDATE profiles SET username = 'user_' || id;

-- A row created on day i by a user: the user is one of the cum_profiles(i) profiles that exist by
-- the end of that day; if the drawn instant falls before the user's signup, it is redrawn in
-- [signup, end of day). Same for the posts a comment or like points at.

-- posts ---------------------------------------------------------------------------------------
INSERT INTO posts (id, user_id, status, created_at)
WITH draws AS MATERIALIZED (
    SELECT s.i, k, s.day_start, s.day_end, s.cum_profiles,
           random() AS r_user, random() AS r_time, random() AS r_redraw, random() AS r_status
    FROM gen_slots AS s CROSS JOIN LATERAL generate_series(1, s.cum_posts - s.prev_posts) AS k
), placed AS (
    SELECT d.i, d.k, d.day_end, d.r_redraw, d.r_status,
           -- early adopters post more: skew towards low ids
           1 + floor(power(d.r_user, 1.3) * d.cum_profiles)::bigint AS user_id,
           d.day_start + floor(d.r_time * 86400000) * interval '1 millisecond' AS drawn
    FROM draws AS d
), timed AS (
    SELECT p.*,
           CASE WHEN p.drawn >= u.created_at THEN p.drawn
                ELSE u.created_at + floor(p.r_redraw * extract(epoch FROM p.day_end - u.created_at) * 1000) * interval '1 millisecond'
           END AS created_at
    FROM placed AS p JOIN profiles AS u ON u.id = p.user_id
)
SELECT row_number() OVER (ORDER BY created_at, i, k), user_id,
       CASE WHEN r_status < 0.90 THEN 'published' WHEN r_status < 0.97 THEN 'draft' ELSE 'archived' END,
       created_at
FROM timed;

-- comments ------------------------------------------------------------------------------------
INSERT INTO comments (id, post_id, user_id, created_at)
WITH draws AS MATERIALIZED (
    SELECT s.i, k, s.day_start, s.day_end, s.cum_profiles, s.cum_posts,
           random() AS r_post, random() AS r_user, random() AS r_time, random() AS r_redraw
    FROM gen_slots AS s CROSS JOIN LATERAL generate_series(1, s.cum_comments - s.prev_comments) AS k
), placed AS (
    SELECT d.i, d.k, d.day_end, d.r_redraw,
           -- conversations happen on recent posts: skew towards the newest
           d.cum_posts - floor(power(d.r_post, 3) * d.cum_posts)::bigint AS post_id,
           1 + floor(d.r_user * d.cum_profiles)::bigint AS user_id,
           d.day_start + floor(d.r_time * 86400000) * interval '1 millisecond' AS drawn
    FROM draws AS d
), timed AS (
    SELECT p.i, p.k, p.post_id, p.user_id,
           CASE WHEN p.drawn >= greatest(po.created_at, u.created_at) THEN p.drawn
                ELSE greatest(po.created_at, u.created_at)
                     + floor(p.r_redraw * extract(epoch FROM p.day_end - greatest(po.created_at, u.created_at)) * 1000)
                       * interval '1 millisecond'
           END AS created_at
    FROM placed AS p
    JOIN posts AS po ON po.id = p.post_id
    JOIN profiles AS u ON u.id = p.user_id
)
SELECT row_number() OVER (ORDER BY created_at, i, k), post_id, user_id, created_at
FROM timed;

-- tracks --------------------------------------------------------------------------------------
INSERT INTO tracks (id, user_id, genre, created_at)
WITH draws AS MATERIALIZED (
    SELECT s.i, k, s.day_start, s.day_end, s.cum_profiles,
           random() AS r_user, random() AS r_time, random() AS r_redraw, random() AS r_genre
    FROM gen_slots AS s CROSS JOIN LATERAL generate_series(1, s.cum_tracks - s.prev_tracks) AS k
), placed AS (
    SELECT d.i, d.k, d.day_end, d.r_redraw, d.r_genre,
           1 + floor(power(d.r_user, 2) * d.cum_profiles)::bigint AS user_id,
           d.day_start + floor(d.r_time * 86400000) * interval '1 millisecond' AS drawn
    FROM draws AS d
), timed AS (
    SELECT p.*,
           CASE WHEN p.drawn >= u.created_at THEN p.drawn
                ELSE u.created_at + floor(p.r_redraw * extract(epoch FROM p.day_end - u.created_at) * 1000) * interval '1 millisecond'
           END AS created_at
    FROM placed AS p JOIN profiles AS u ON u.id = p.user_id
)
SELECT row_number() OVER (ORDER BY created_at, i, k), user_id,
       CASE WHEN r_genre < 0.35 THEN 'electronic' WHEN r_genre < 0.60 THEN 'hip-hop'
            WHEN r_genre < 0.75 THEN 'ambient' WHEN r_genre < 0.90 THEN 'rock' ELSE 'jazz' END,
       created_at
FROM timed;

-- likes ---------------------------------------------------------------------------------------
INSERT INTO likes (id, user_id, post_id, created_at)
WITH draws AS MATERIALIZED (
    SELECT s.i, k, s.day_start, s.day_end, s.cum_profiles, s.cum_posts,
           random() AS r_post, random() AS r_user, random() AS r_time, random() AS r_redraw
    FROM gen_slots AS s CROSS JOIN LATERAL generate_series(1, s.cum_likes - s.prev_likes) AS k
), placed AS (
    SELECT d.i, d.k, d.day_end, d.r_redraw,
           d.cum_posts - floor(power(d.r_post, 4) * d.cum_posts)::bigint AS post_id,
           1 + floor(d.r_user * d.cum_profiles)::bigint AS user_id,
           d.day_start + floor(d.r_time * 86400000) * interval '1 millisecond' AS drawn
    FROM draws AS d
), timed AS (
    SELECT p.i, p.k, p.post_id, p.user_id,
           CASE WHEN p.drawn >= greatest(po.created_at, u.created_at) THEN p.drawn
                ELSE greatest(po.created_at, u.created_at)
                     + floor(p.r_redraw * extract(epoch FROM p.day_end - greatest(po.created_at, u.created_at)) * 1000)
                       * interval '1 millisecond'
           END AS created_at
    FROM placed AS p
    JOIN posts AS po ON po.id = p.post_id
    JOIN profiles AS u ON u.id = p.user_id
)
SELECT row_number() OVER (ORDER BY created_at, i, k), user_id, post_id, created_at
FROM timed;

-- follows (a pair is kept once: repeated draws are dropped) -------------------------------------
INSERT INTO follows (follower_id, followee_id, created_at)
WITH draws AS MATERIALIZED (
    SELECT s.i, k, s.day_start, s.day_end, s.cum_profiles,
           random() AS r_follower, random() AS r_followee, random() AS r_time, random() AS r_redraw
    FROM gen_slots AS s CROSS JOIN LATERAL generate_series(1, s.cum_follows - s.prev_follows) AS k
), placed AS (
    SELECT d.i, d.k, d.day_end, d.r_redraw, d.cum_profiles,
           1 + floor(d.r_follower * d.cum_profiles)::bigint AS follower_id,
           -- popular accounts (early ones) are followed more
           1 + floor(power(d.r_followee, 2) * d.cum_profiles)::bigint AS followee_id,
           d.day_start + floor(d.r_time * 86400000) * interval '1 millisecond' AS drawn
    FROM draws AS d
), distinct_pairs AS (
    SELECT p.i, p.k, p.day_end, p.r_redraw, p.drawn, p.follower_id,
           CASE WHEN p.followee_id = p.follower_id THEN p.follower_id % p.cum_profiles + 1
                ELSE p.followee_id END AS followee_id
    FROM placed AS p
), timed AS (
    SELECT p.i, p.k, p.follower_id, p.followee_id,
           CASE WHEN p.drawn >= greatest(a.created_at, b.created_at) THEN p.drawn
                ELSE greatest(a.created_at, b.created_at)
                     + floor(p.r_redraw * extract(epoch FROM p.day_end - greatest(a.created_at, b.created_at)) * 1000)
                       * interval '1 millisecond'
           END AS created_at
    FROM distinct_pairs AS p
    JOIN profiles AS a ON a.id = p.follower_id
    JOIN profiles AS b ON b.id = p.followee_id
)
SELECT DISTINCT ON (follower_id, followee_id) follower_id, followee_id, created_at
FROM timed
ORDER BY follower_id, followee_id, created_at, i, k;

-- Constraints and the indexes an application would have -----------------------------------------
ALTER TABLE posts    ADD FOREIGN KEY (user_id) REFERENCES profiles ON DELETE CASCADE;
ALTER TABLE comments ADD FOREIGN KEY (post_id) REFERENCES posts    ON DELETE CASCADE;
ALTER TABLE comments ADD FOREIGN KEY (user_id) REFERENCES profiles ON DELETE CASCADE;
ALTER TABLE tracks   ADD FOREIGN KEY (user_id) REFERENCES profiles ON DELETE CASCADE;
ALTER TABLE likes    ADD FOREIGN KEY (user_id) REFERENCES profiles ON DELETE CASCADE;
ALTER TABLE likes    ADD FOREIGN KEY (post_id) REFERENCES posts    ON DELETE CASCADE;
ALTER TABLE follows  ADD FOREIGN KEY (follower_id) REFERENCES profiles ON DELETE CASCADE;
ALTER TABLE follows  ADD FOREIGN KEY (followee_id) REFERENCES profiles ON DELETE CASCADE;
CREATE INDEX ON profiles (created_at);
CREATE INDEX ON posts (created_at);
CREATE INDEX ON posts (user_id);
CREATE INDEX ON comments (created_at);
CREATE INDEX ON comments (post_id);
CREATE INDEX ON comments (user_id);
CREATE INDEX ON tracks (created_at);
CREATE INDEX ON likes (created_at);
CREATE INDEX ON likes (post_id);
CREATE INDEX ON follows (created_at);
CREATE INDEX ON follows (followee_id);

DROP VIEW gen_slots;
DROP TABLE gen_days;
RESET search_path;
