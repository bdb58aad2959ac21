-- +goose Up
-- The simulator's invoices carry a number, as Stripe's do ("GLOBEX-0003"):
-- the portal shows and links invoices by it, never by their internal id.
ALTER TABLE billing_sim_invoice ADD COLUMN number text NOT NULL DEFAULT '';
UPDATE billing_sim_invoice i SET number = n.number
FROM (SELECT id, upper(left(regexp_replace(customer_id, '^cus_sim_', ''), 8)) || '-' ||
             lpad((row_number() OVER (PARTITION BY customer_id ORDER BY created_at, id))::text, 4, '0') AS number
      FROM billing_sim_invoice) n
WHERE n.id = i.id;
CREATE UNIQUE INDEX billing_sim_invoice_number_idx ON billing_sim_invoice (account_id, number);

-- +goose Down
DROP INDEX billing_sim_invoice_number_idx;
ALTER TABLE billing_sim_invoice DROP COLUMN number;
