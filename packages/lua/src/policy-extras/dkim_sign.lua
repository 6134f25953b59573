-- policy-extras.dkim_sign: Sterna's own implementation of KumoMTA's DKIM signing helper
-- (docs.kumomta.com, "Configuring DKIM Signing"). `dkim_sign:setup{files}` reads dkim_data
-- files (TOML, JSON, or Lua tables in the list) and returns `signer(msg)`, which signs with the
-- `[domain."…"]` block of the From header's domain (or of a parent domain that sets
-- `match_sub_domains = true`) and with the `[signature."…"]` blocks named by
-- `base.additional_signatures`.
local kumo = require 'kumo'
local support = require 'policy-extras.helper_support'
local utils = require 'policy-extras.policy_utils'

local format, type, tostring, pairs, ipairs = string.format, type, tostring, pairs, ipairs
local key = support.key

local WHAT = 'dkim_sign helper'

local mod = {}

--- Where a key is read from unless a block names its `filename` (KumoMTA's default).
mod.DEFAULT_KEY_PATH = '/opt/kumomta/etc/dkim/{domain}/{selector}.key'

-- RFC 6376 §5.4.1's recommended header fields, signed when no block lists its own.
local DEFAULT_HEADERS = {
  'From', 'Reply-To', 'Subject', 'Date', 'To', 'Cc', 'Resent-Date', 'Resent-From', 'Resent-To',
  'Resent-Cc', 'In-Reply-To', 'References', 'List-Id', 'List-Help', 'List-Unsubscribe',
  'List-Subscribe', 'List-Post', 'List-Owner', 'List-Archive',
}

-- Options passed on to kumo.dkim.*_signer as they are.
local SIGNER_KEYS = {
  'header_canonicalization', 'body_canonicalization', 'expiration', 'ttl', 'over_sign',
  'reporting', 'agent_user_identifier', 'body_length', 'atps', 'atpsh',
}
local COMMON = { selector = true, headers = true, algo = true, filename = true, policy = true }
for _, k in ipairs(SIGNER_KEYS) do COMMON[k] = true end

local function with(extra)
  local set = {}
  for k in pairs(COMMON) do set[k] = true end
  for _, k in ipairs(extra) do set[k] = true end
  return set
end
-- `vault_*` are KumoMTA's HashiCorp Vault key sources: recognised, refused (not in Sterna yet).
local BASE_KEYS = with({ 'additional_signatures', 'vault_mount', 'vault_path_prefix' })
local DOMAIN_KEYS = with({ 'match_sub_domains', 'domain' })
local SIGNATURE_KEYS = with({ 'domain' })

local DOMAIN_POLICIES = {
  Always = true, SignAlways = true, TempFailIfNotInDNS = true, SignOnlyIfInDNS = true,
}
local SIGNATURE_POLICIES = { Always = true, OnlyIfMissingDomainBlock = true }
local ALGOS = { sha256 = true, ed25519 = true }

local function sorted_keys(t)
  local names = {}
  for k in pairs(t) do names[#names + 1] = tostring(k) end
  table.sort(names)
  return names
end

-- Merges one file's data over what earlier files gave, block by block; `target.origin` names
-- the file each block (and base.additional_signatures) came from first.
local function merge_file(data, file, target)
  if type(data.base) == 'table' then
    utils.merge_into(data.base, target.base)
    if data.base.additional_signatures ~= nil then target.origin.additional_signatures = file end
  end
  for _, section in ipairs({ 'domain', 'signature' }) do
    if type(data[section]) == 'table' then
      for name, params in pairs(data[section]) do
        if type(params) == 'table' then
          local lname = section == 'domain' and tostring(name):lower() or name
          local block = target[section][lname] or {}
          utils.merge_into(params, block)
          target[section][lname] = block
          target.origin[section .. ':' .. lname] = target.origin[section .. ':' .. lname] or file
        end
      end
    end
  end
end

local function key_path(block, domain, selector)
  local template = block.filename or mod.DEFAULT_KEY_PATH
  return (template:gsub('{domain}', domain):gsub('{selector}', selector))
end

-- The effective settings of a block: its own keys over base's.
local function effective(base, block)
  local out = {}
  for k, v in pairs(base) do out[k] = v end
  for k, v in pairs(block) do out[k] = v end
  return out
end

-- Checks one block's keys and values; `kind` is 'base', 'domain' or 'signature'.
local function check_block(kind, name, block, file, problems, base)
  local section = kind == 'base' and 'base' or support.entry(kind, name)
  local allowed = kind == 'base' and BASE_KEYS or kind == 'domain' and DOMAIN_KEYS or SIGNATURE_KEYS
  support.known_keys(problems, file, section, block, allowed)
  if block.vault_mount ~= nil or block.vault_path_prefix ~= nil then
    problems.add(file, key(section, block.vault_mount ~= nil and 'vault_mount' or 'vault_path_prefix'),
      'HashiCorp Vault key sources are not supported by Sterna yet; give key files instead')
  end
  if block.algo ~= nil and not ALGOS[block.algo] then
    problems.add(file, key(section, 'algo'), format("expected 'sha256' or 'ed25519', got %q", tostring(block.algo)))
  end
  if block.policy ~= nil then
    local policies = kind == 'signature' and SIGNATURE_POLICIES or DOMAIN_POLICIES
    if not policies[block.policy] then
      local names = sorted_keys(policies)
      problems.add(file, key(section, 'policy'),
        format('unknown policy %q (expected one of %s)', tostring(block.policy), table.concat(names, ', ')))
    end
  end
  if block.headers ~= nil and (type(block.headers) ~= 'table' or #block.headers == 0) then
    problems.add(file, key(section, 'headers'), 'expected a list of header names')
  end
  if block.additional_signatures ~= nil and type(block.additional_signatures) ~= 'table' then
    problems.add(file, key(section, 'additional_signatures'), 'expected a list of signature names')
  end
  if kind == 'base' then return end
  local settings = effective(base, block)
  local domain = kind == 'domain' and (block.domain or name) or block.domain
  if type(domain) ~= 'string' then
    problems.add(file, key(section, 'domain'), 'a signature block needs the signing domain')
    return
  end
  if type(settings.selector) ~= 'string' then
    problems.add(file, key(section, 'selector'), 'no selector here or in [base]')
    return
  end
  local path = key_path(settings, domain, settings.selector)
  if not support.exists(path) then
    problems.add(file, key(section, block.filename and 'filename' or 'selector'),
      format('the key file %s does not exist', path))
  end
  -- The signer options are checked by kumo.dkim itself (types, canonicalizations, durations),
  -- with a key given inline so that a missing file is reported once, above.
  local params = { domain = domain, selector = settings.selector, headers = settings.headers or DEFAULT_HEADERS,
    key = { key_data = 'unused' } }
  for _, k in ipairs(SIGNER_KEYS) do params[k] = settings[k] end
  local ok, err = pcall(kumo.dkim.rsa_sha256_signer, params)
  if not ok then problems.add(file, section, support.reason(err)) end
end

--- Loads the data sources (files or tables) and checks them: the merged data and the problems.
local function load_all(sources)
  local problems = support.problems()
  local target = { base = {}, domain = {}, signature = {}, origin = {} }
  for _, loaded in ipairs(support.load_all(sources, problems)) do
    local data, file = loaded.data, loaded.label
    support.known_keys(problems, file, '', data, { base = true, domain = true, signature = true })
    if data.base ~= nil then
      if type(data.base) ~= 'table' then
        problems.add(file, 'base', 'expected a table')
      else
        check_block('base', 'base', data.base, file, problems, {})
      end
    end
    for _, section in ipairs({ 'domain', 'signature' }) do
      if data[section] ~= nil and type(data[section]) ~= 'table' then
        problems.add(file, section, 'expected a table')
      end
    end
    merge_file(data, file, target)
  end
  -- Blocks are checked once merged, against the merged [base], naming the file they came from.
  for _, section in ipairs({ 'domain', 'signature' }) do
    for _, name in ipairs(sorted_keys(target[section])) do
      local file = target.origin[section .. ':' .. name]
      check_block(section, name, target[section][name], file, problems, target.base)
    end
  end
  for i, name in ipairs(target.base.additional_signatures or {}) do
    if target.signature[name] == nil then
      problems.add(target.origin.additional_signatures, format('base.additional_signatures[%d]', i),
        format('no [%s] block', support.entry('signature', name)))
    end
  end
  return target, problems.list
end

-- Whether `<selector>._domainkey.<domain>` publishes a DKIM key in DNS.
local function published(domain, selector)
  local ok, records = pcall(kumo.dns.lookup_txt, format('%s._domainkey.%s', selector, domain))
  if not ok or type(records) ~= 'table' then return false end
  for _, r in ipairs(records) do
    if tostring(r):match('p=%s*[%w+/]') then return true end
  end
  return false
end

local function sign_with(msg, settings, domain)
  local params = {
    domain = domain,
    selector = settings.selector,
    headers = settings.headers or DEFAULT_HEADERS,
    key = key_path(settings, domain, settings.selector),
  }
  for _, k in ipairs(SIGNER_KEYS) do params[k] = settings[k] end
  local signer
  if settings.algo == 'ed25519' then
    signer = kumo.dkim.ed25519_signer(params)
  else
    signer = kumo.dkim.rsa_sha256_signer(params)
  end
  msg:dkim_sign(signer)
end

-- The domain block for a From domain: its own, or the nearest parent's with match_sub_domains.
local function domain_block(data, domain)
  local block = data.domain[domain]
  if block then return block, domain end
  local parent = domain:match('^[^.]+%.(.+)$')
  while parent do
    local b = data.domain[parent]
    if b and b.match_sub_domains then return b, parent end
    parent = parent:match('^[^.]+%.(.+)$')
  end
  return nil
end

--- `dkim_sign:setup{sources}`: returns `signer(msg)`. Each source is a file name (TOML if it ends
--- in .toml, else JSON) or a table in the same shape; later ones merge over earlier ones.
function mod:setup(sources, options)
  options = options or {}
  -- One data table alone is accepted too: `dkim_sign:setup { base = …, domain = … }`.
  sources = support.file_list(sources, 'dkim_sign')
  local data = support.data_source(WHAT, 'policy-extras.dkim_sign', sources, load_all,
    { ttl = options.cache_ttl })

  return function(msg)
    local d = data()
    local from = msg:from_header()
    local from_domain = from and from.domain and tostring(from.domain):lower()
    local signed_domain = false
    if from_domain then
      local block, matched = domain_block(d, from_domain)
      if block then
        local settings = effective(d.base, block)
        -- A sub-domain matched through its parent's block signs as the parent (d= of the
        -- parent, whose key and DNS record are the ones that exist; aligned for DMARC).
        local signing_domain = block.domain or matched
        local policy = settings.policy or 'Always'
        local sign = true
        if policy == 'TempFailIfNotInDNS' then
          if not published(signing_domain, settings.selector) then
            kumo.reject(451, format('4.7.5 DKIM key %s._domainkey.%s is not published in DNS',
              tostring(settings.selector), signing_domain))
          end
        elseif policy == 'SignOnlyIfInDNS' then
          sign = published(signing_domain, settings.selector)
        end
        if sign then
          sign_with(msg, settings, signing_domain)
          signed_domain = true
        end
      end
    end
    for _, name in ipairs(d.base.additional_signatures or {}) do
      local block = d.signature[name]
      local settings = effective(d.base, block)
      local policy = block.policy or 'Always'
      if policy == 'Always' or (policy == 'OnlyIfMissingDomainBlock' and not signed_domain) then
        sign_with(msg, settings, block.domain)
      end
    end
  end
end

mod.load = load_all

return mod
