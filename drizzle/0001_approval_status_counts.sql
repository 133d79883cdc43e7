CREATE TABLE "approval_status_counts" (
	"status" "approval_status" NOT NULL,
	"slot" smallint NOT NULL,
	"count" bigint DEFAULT 0 NOT NULL,
	CONSTRAINT "approval_status_counts_status_slot_pk" PRIMARY KEY("status","slot")
);
