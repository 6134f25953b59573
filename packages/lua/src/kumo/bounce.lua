-- kumo.classify_bounce: Sterna's own. The category kumo.configure_bounce_classifier's rules give a
-- response ('Uncategorized' when none matches or no classifier is configured), from a reply text
-- ('550 5.1.1 user unknown') or a log record's response table.
local H, kumo = ...

function kumo.classify_bounce(response) return H.classify_bounce(response):await() end
