-- The realtime loop applies each events load's contribution once instead of recomputing whole
-- minutes (docs/realtime.md, "Exactly once across two databases").

-- Users (keyed pseudonyms) with any event in a minute: active_users is counted from these, as
-- sessions_viewed / sessions_ordered are from realtime_minute_sessions, so a load adding users
-- already counted in the minute does not count them twice.
create table if not exists realtime_minute_users (
  minute   timestamptz not null,
  user_key text not null,
  primary key (minute, user_key)
);

-- Loads whose contribution is in the tables above, written in the same transaction. A pass repeated
-- after a crash between this commit and the clearing of the staging marks skips them. Rows are
-- pruned once the staging side holds no mark of the load any more (no pass can read it again).
create table if not exists realtime_applied (
  load_id    text primary key,
  applied_at timestamptz not null default now()
);
