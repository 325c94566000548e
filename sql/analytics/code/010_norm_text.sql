-- work.norm_text: the text normalisation of the brief.
-- The current definition: edit it here. `etl db migrate` re-applies every file of sql/<db>/code/,
-- in name order, whenever one of them changed (lib/migrate.ts); versioned migrations hold tables.

-- Trim, collapse inner whitespace, Unicode NFC (MISSION "Validity and normalisation"); blank is null.
create or replace function work.norm_text(t text) returns text
  language sql immutable parallel safe
  as $$ select nullif(btrim(regexp_replace(normalize(t, NFC), '\s+', ' ', 'g')), '') $$;
