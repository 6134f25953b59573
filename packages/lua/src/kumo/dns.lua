-- kumo.dns: look-ups through the daemon's resolver (asked on the main thread and awaited).
local H, kumo = ...

local dns = {}
function dns.configure_resolver(params) H.configure('dns_resolver', params):await() end
function dns.lookup_mx(domain) return H.dns_lookup_mx(domain):await() end
function dns.lookup_addr(name) return H.dns_lookup_addr(name):await() end
function dns.lookup_txt(name) return H.dns_lookup_txt(name):await() end
function dns.lookup_ptr(ip) return H.dns_lookup_ptr(ip):await() end
kumo.dns = dns
