-- The content of each source's window at its last extract (count and a sum of row hashes, with a
-- hash of the extract's code and key): a scheduled re-run over an unchanged window skips the copy.
create table if not exists work.extract_fingerprints (
  source       text not null,
  window_from  timestamptz not null,
  window_to    timestamptz not null,
  fingerprint  text not null,
  received     integer not null,
  quarantined  integer not null,
  extracted_at timestamptz not null default now(),
  primary key (source, window_from, window_to)
);
