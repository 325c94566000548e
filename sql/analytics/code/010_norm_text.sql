-- work.norm_text: the text normalisation of the brief.
-- The current definition: edit it here. `etl db migrate` re-applies every file of sql/<db>/code/,
-- in name order, whenever one of them changed (lib/migrate.ts); versioned migrations hold tables.

-- Trim, collapse inner whitespace, Unicode NFC (MISSION "Validity and normalisation"); blank is null.
-- Fast path: printable ASCII words joined by single spaces are already normal (ASCII is its own
-- NFC, and there is no whitespace to trim or collapse), and one regular-expression match tells.
-- normalize() was the cost: 1.31 s against 0.33 s over 1.94M session ids (issue 11, psql), and the
-- events' merge calls it six times a row. Both forms agreed on every id, name and session there;
-- test/integration/text-normalisation.test.ts holds the cases either path must get right.
create or replace function work.norm_text(t text) returns text
  language sql immutable parallel safe
  as $$ select case when t ~ '^[!-~]+( [!-~]+)*$' then t
                    else nullif(btrim(regexp_replace(normalize(t, NFC), '\s+', ' ', 'g')), '') end $$;
