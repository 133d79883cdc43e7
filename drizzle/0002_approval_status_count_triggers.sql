-- Custom SQL migration: keeps approval_status_counts exact (see the table's comment in src/db/schema.ts).
-- Writers wait for the backfill, so no change slips between the count and the triggers.
LOCK TABLE "approval_items" IN SHARE ROW EXCLUSIVE MODE;
INSERT INTO "approval_status_counts" ("status", "slot", "count")
  SELECT "status", 0, count(*) FROM "approval_items" GROUP BY "status";
--> statement-breakpoint
-- One write per status a statement changed, into a random one of 16 slots, so concurrent writers rarely
-- wait on one counter row; rows are written in status order, so two single-statement writers never deadlock on them.
CREATE FUNCTION "approval_status_counts_apply"() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  stripe smallint := floor(random() * 16)::smallint;
BEGIN
  IF TG_OP = 'INSERT' THEN
    INSERT INTO approval_status_counts AS c (status, slot, count)
      SELECT status, stripe, count(*) FROM new_rows GROUP BY status ORDER BY status
      ON CONFLICT (status, slot) DO UPDATE SET count = c.count + EXCLUDED.count;
  ELSIF TG_OP = 'DELETE' THEN
    INSERT INTO approval_status_counts AS c (status, slot, count)
      SELECT status, stripe, -count(*) FROM old_rows GROUP BY status ORDER BY status
      ON CONFLICT (status, slot) DO UPDATE SET count = c.count + EXCLUDED.count;
  ELSE
    INSERT INTO approval_status_counts AS c (status, slot, count)
      SELECT status, stripe, sum(delta) FROM (
        SELECT status, 1 AS delta FROM new_rows
        UNION ALL
        SELECT status, -1 AS delta FROM old_rows
      ) AS changes
      GROUP BY status HAVING sum(delta) <> 0 ORDER BY status
      ON CONFLICT (status, slot) DO UPDATE SET count = c.count + EXCLUDED.count;
  END IF;
  RETURN NULL;
END
$$;
--> statement-breakpoint
CREATE FUNCTION "approval_status_counts_reset"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM approval_status_counts;
  RETURN NULL;
END
$$;
--> statement-breakpoint
CREATE TRIGGER "approval_status_counts_insert" AFTER INSERT ON "approval_items"
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION "approval_status_counts_apply"();
CREATE TRIGGER "approval_status_counts_update" AFTER UPDATE ON "approval_items"
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION "approval_status_counts_apply"();
CREATE TRIGGER "approval_status_counts_delete" AFTER DELETE ON "approval_items"
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION "approval_status_counts_apply"();
CREATE TRIGGER "approval_status_counts_truncate" AFTER TRUNCATE ON "approval_items"
  FOR EACH STATEMENT EXECUTE FUNCTION "approval_status_counts_reset"();
