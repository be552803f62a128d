-- The SMTP code of a delivery's last reply (`550 5.1.1`, `421`; NULL when the reply had
-- none), read from the reply text when it is recorded (`domain::reply_code`): failures are
-- grouped by it, since the texts themselves differ by address.
ALTER TABLE deliveries ADD COLUMN reply_code TEXT;
