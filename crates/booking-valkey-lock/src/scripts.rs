//! The Lua scripts. Each runs atomically on the server, over keys that
//! share one hash tag (one tenant), so they also work on a cluster.

use fred::types::scripts::Script;

/// Takes every key or none. ARGV[1] = token, ARGV[2] = TTL in ms.
/// Returns 1 when taken, 0 when any key is held by someone.
const ACQUIRE: &str = r"
for _, key in ipairs(KEYS) do
  if redis.call('EXISTS', key) == 1 then
    return 0
  end
end
for _, key in ipairs(KEYS) do
  redis.call('SET', key, ARGV[1], 'PX', ARGV[2])
end
return 1
";

/// Compare-and-delete: deletes each key still holding the token (never
/// another holder's). Returns how many were deleted.
const RELEASE: &str = r"
local released = 0
for _, key in ipairs(KEYS) do
  if redis.call('GET', key) == ARGV[1] then
    redis.call('DEL', key)
    released = released + 1
  end
end
return released
";

/// Compare-and-expire: resets the TTL only if every key still holds the
/// token. ARGV[2] = TTL in ms. Returns 1 when extended, 0 otherwise.
const EXTEND: &str = r"
for _, key in ipairs(KEYS) do
  if redis.call('GET', key) ~= ARGV[1] then
    return 0
  end
end
for _, key in ipairs(KEYS) do
  redis.call('PEXPIRE', key, ARGV[2])
end
return 1
";

/// The scripts, hashed once; run by SHA and reloaded on `NOSCRIPT`.
#[derive(Clone, Debug)]
pub(crate) struct Scripts {
    pub(crate) acquire: Script,
    pub(crate) release: Script,
    pub(crate) extend: Script,
}

impl Scripts {
    pub(crate) fn new() -> Self {
        Self {
            acquire: Script::from_lua(ACQUIRE),
            release: Script::from_lua(RELEASE),
            extend: Script::from_lua(EXTEND),
        }
    }
}
