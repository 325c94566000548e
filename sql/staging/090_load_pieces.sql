-- A large load commits in pieces (issue 12 P6): a purchase file of millions of lines is not one
-- transaction, so a worker killed at 90% resumes at the last committed piece instead of byte 0.
-- Each piece commits its staging rows, its quarantine rows and this row together; the load itself
-- (etl.loads, etl.files) succeeds only with its last piece, with the pieces' counts summed.
create table if not exists etl.load_pieces (
  load_id      text not null references etl.loads (load_id),
  piece        integer not null check (piece >= 1),
  end_line     bigint not null,  -- the last source line the piece covers
  end_byte     bigint not null,  -- the byte offset just past that record (of the decompressed bytes)
  received     integer not null,
  loaded       integer not null,
  quarantined  integer not null,
  duplicates   integer not null,
  attempt      integer not null, -- the activity attempt that committed it
  state        jsonb not null,   -- what the reader needs to go on from end_byte (header, flags)
  detail       jsonb not null,   -- the piece's own load detail, merged into the load's at the end
  committed_at timestamptz not null default now(),
  primary key (load_id, piece),
  constraint load_pieces_reconcile check (received = loaded + quarantined + duplicates)
);
